// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title StakeSumTree
/// @notice A 10-ary sum tree over leaf weights, packed ten 24-bit lanes to a storage slot, so that
/// weighted sampling reads one slot per level: ceil(log10(leaves)) slots (2 for 100 pools, 3 for 1,000).
/// The tree also answers "as of the start of a period" (PERIOD = 1 day) for the current and the previous
/// period, so a draw made up to one period after an event can use weights nobody could move after it.
/// @dev Each node holds the weight sums of its ten children; a leaf lane holds one leaf's weight. The
/// root lives in its own slot whose top byte also stores the depth, so a sample starts with a single
/// read. The tree grows by one level (old root pushed down as child 0) when a leaf index exceeds its
/// capacity; it never shrinks. The total weight is capped at 2^24-1 units (callers choose the unit).
/// History: a non-root node keeps the period of its last update in its top 16 bits; the first update
/// of a node (root included) in a period writes a record `period << 240 | lanes before the update` to
/// one of two history slots, chosen by the period's parity. The two periods ever read (the current
/// one and the one before) have different parities, so a record is only overwritten once it can no
/// longer be read. The lanes at the start of period X are X's record, else (no update during X)
/// X + 1's record, else (no update since X began) the current lanes. Periods are compared modulo
/// 2^16 (a node untouched for exactly 179 years would be misread).
library StakeSumTree {
    /// @notice Total weight would not fit a lane (2^24-1).
    error WeightOverflow();

    struct Tree {
        /// @dev Lanes 0..9 in bits 0..239 and the depth (number of levels, 0 meaning 1) in bits 248..255.
        uint256 root;
        /// @dev Non-root nodes, keyed by (level << 128 | index); level 0 holds the leaves. Lanes in bits
        /// 0..239, the period of the node's last update in bits 240..255.
        mapping(uint256 key => uint256 lanes) nodes;
        /// @dev Per node key (the root's is ROOT_KEY) and period parity: `period << 240 | lanes` at
        /// that period's start.
        mapping(uint256 slot => uint256 record) history;
    }

    uint256 internal constant BRANCHING = 10;
    uint256 internal constant LANE_BITS = 24;
    uint256 internal constant LANE_MASK = (1 << LANE_BITS) - 1;
    uint256 internal constant MAX_TOTAL = LANE_MASK;
    /// @notice Length of a history period; at least the longest a draw may come after its event.
    uint256 internal constant PERIOD = 1 days;
    /// @notice Passed as `period` to read the current weights.
    uint256 internal constant CURRENT = type(uint256).max;
    uint256 private constant DEPTH_SHIFT = 248;
    uint256 private constant TAG_SHIFT = 240;
    uint256 private constant TAG_MASK = 0xffff;
    uint256 private constant LANES_MASK = (1 << (BRANCHING * LANE_BITS)) - 1;
    uint256 private constant LEVEL_SHIFT = 128;
    /// @dev The root's key in `history`: no node's level reaches 2^64.
    uint256 private constant ROOT_KEY = 1 << 192;

    /// @notice Sum of all leaf weights.
    function total(Tree storage tree) internal view returns (uint256) {
        return _sumLanes(tree.root);
    }

    /// @notice Sum of all leaf weights at the start of `period` ({CURRENT}: now); see {periodOf}.
    function totalAt(Tree storage tree, uint256 period) internal view returns (uint256) {
        uint256 root = tree.root;
        return _sumLanes(period == CURRENT ? root : _lanesAt(tree, ROOT_KEY, root, period, true));
    }

    /// @notice Number of levels (1 for up to ten leaves).
    function depth(Tree storage tree) internal view returns (uint256) {
        return _depth(tree.root);
    }

    /// @notice The period holding `timestamp`, and whether the weights at its start can still be
    /// read (it is the current period or the one before).
    function periodOf(uint256 timestamp) internal view returns (uint256 period, bool readable) {
        period = timestamp / PERIOD;
        uint256 current = block.timestamp / PERIOD;
        readable = period <= current && period + 1 >= current;
    }

    /// @notice Makes room for leaf `leaf`, adding levels on top as needed.
    /// @dev The pushed-down root takes the root's history with it and the new root's records hold
    /// their sums, so the grown tree reads at a period's start exactly as the smaller tree did.
    function reserve(Tree storage tree, uint256 leaf) internal {
        uint256 root = tree.root;
        uint256 levels = _depth(root);
        uint256 capacity = BRANCHING ** levels;
        if (leaf < capacity) return;
        uint256 period = block.timestamp / PERIOD;
        uint256 tag = (period & TAG_MASK) << TAG_SHIFT;
        while (leaf >= capacity) {
            uint256 lanes = root & LANES_MASK;
            uint256 child = _key(levels - 1, 0);
            for (uint256 parity; parity < 2; ++parity) {
                uint256 rootSlot = _slot(ROOT_KEY, parity);
                uint256 record = tree.history[rootSlot];
                // The child is tagged as updated now, so it needs a record of this period's start.
                if (parity == period & 1 && record >> TAG_SHIFT != period & TAG_MASK) record = tag | lanes;
                if (record == 0) continue;
                tree.history[_slot(child, parity)] = record;
                tree.history[rootSlot] = (record & ~LANES_MASK) | _sumLanes(record);
            }
            tree.nodes[child] = lanes | tag;
            root = _sumLanes(lanes);
            levels += 1;
            capacity *= BRANCHING;
        }
        tree.root = root | (levels << DEPTH_SHIFT);
    }

    /// @notice Changes leaf `leaf`'s weight from `oldWeight` (the value the caller stored) to `newWeight`.
    /// @dev The leaf must have been {reserve}d. Every level's lane on the leaf's path moves by the delta;
    /// a node's first change in a period records its lanes before it.
    function update(Tree storage tree, uint256 leaf, uint256 oldWeight, uint256 newWeight) internal {
        if (oldWeight == newWeight) return;
        bool up = newWeight > oldWeight;
        _movePath(tree, leaf, up, up ? newWeight - oldWeight : oldWeight - newWeight);
    }

    /// @dev Moves every lane on `leaf`'s path by `delta`, recording each node's lanes first if this
    /// is its first change in the period.
    function _movePath(Tree storage tree, uint256 index, bool up, uint256 delta) private {
        uint256 levels = _depth(tree.root);
        uint256 period = block.timestamp / PERIOD;
        for (uint256 level; level < levels; ++level) {
            uint256 shift = (index % BRANCHING) * LANE_BITS;
            index /= BRANCHING;
            bool isRoot = level == levels - 1;
            uint256 key = isRoot ? ROOT_KEY : _key(level, index);
            uint256 node = isRoot ? tree.root : tree.nodes[key];
            // The root has no spare bits for a tag: its record itself says whether it was written.
            uint256 lastTag = isRoot ? tree.history[_slot(key, period)] : node;
            if (lastTag >> TAG_SHIFT != period & TAG_MASK) {
                tree.history[_slot(key, period)] = ((period & TAG_MASK) << TAG_SHIFT) | (node & LANES_MASK);
            }
            uint256 lane = (node >> shift) & LANE_MASK;
            // Lanes never underflow (each is a sum that includes the old weight); overflow is checked
            // on the root total.
            lane = up ? lane + delta : lane - delta;
            if (lane > LANE_MASK) revert WeightOverflow();
            node = (node & ~(LANE_MASK << shift)) | (lane << shift);
            if (isRoot) {
                if (_sumLanes(node) > MAX_TOTAL) revert WeightOverflow();
                tree.root = node;
            } else {
                tree.nodes[key] = (node & LANES_MASK) | ((period & TAG_MASK) << TAG_SHIFT);
            }
        }
    }

    /// @notice Draws a leaf with probability proportional to its weight, reading one slot per level.
    /// @return leaf The leaf whose cumulative weight range contains `seed % weightSum`.
    /// @return weightSum The total weight; zero means the tree is empty and `leaf` is meaningless.
    function sample(Tree storage tree, uint256 seed) internal view returns (uint256 leaf, uint256 weightSum) {
        weightSum = _sumLanes(tree.root);
        if (weightSum == 0) return (0, 0);
        (leaf,,) = find(tree, seed % weightSum, CURRENT);
    }

    /// @notice The leaf whose cumulative weight range contains `target` (which must be below the
    /// total), `target`'s offset within that range (`target - offset` is where the range starts) and
    /// the leaf's weight; all as of the start of `period` ({CURRENT}: now; else see {periodOf}).
    function find(Tree storage tree, uint256 target, uint256 period)
        internal
        view
        returns (uint256 leaf, uint256 offset, uint256 weight)
    {
        uint256 node = tree.root;
        uint256 level = _depth(node);
        if (period != CURRENT) node = _lanesAt(tree, ROOT_KEY, node, period, true);
        // Bounded by the depth and lane count; a lane weight never exceeds the remaining target sum.
        unchecked {
            while (true) {
                --level;
                uint256 lane;
                for (; lane < BRANCHING - 1; ++lane) {
                    uint256 laneWeight = (node >> (lane * LANE_BITS)) & LANE_MASK;
                    if (target < laneWeight) break;
                    target -= laneWeight;
                }
                leaf = leaf * BRANCHING + lane;
                if (level == 0) return (leaf, target, (node >> (lane * LANE_BITS)) & LANE_MASK);
                uint256 key = _key(level - 1, leaf);
                node = tree.nodes[key];
                if (period != CURRENT) node = _lanesAt(tree, key, node, period, false);
            }
        }
    }

    /// @dev The lanes of node `key` (whose current word is `word`) at the start of `period` (not
    /// {CURRENT}). Reads no history for a node whose tag shows no update since that period began.
    function _lanesAt(Tree storage tree, uint256 key, uint256 word, uint256 period, bool isRoot)
        private
        view
        returns (uint256)
    {
        // periodOf bounds period to the current one or the one before.
        bool previous = period < block.timestamp / PERIOD;
        uint256 tag = word >> TAG_SHIFT;
        unchecked {
            if (!isRoot && tag != period & TAG_MASK && (!previous || tag != (period + 1) & TAG_MASK)) return word;
            uint256 record = tree.history[_slot(key, period)];
            if (record >> TAG_SHIFT == period & TAG_MASK) return record;
            if (previous) {
                record = tree.history[_slot(key, period + 1)];
                if (record >> TAG_SHIFT == (period + 1) & TAG_MASK) return record;
            }
        }
        return word;
    }

    function _depth(uint256 root) private pure returns (uint256) {
        uint256 levels = root >> DEPTH_SHIFT;
        return levels == 0 ? 1 : levels;
    }

    function _sumLanes(uint256 node) private pure returns (uint256 sum) {
        // At most ten 24-bit lanes: cannot overflow.
        unchecked {
            for (uint256 lane; lane < BRANCHING; ++lane) {
                sum += (node >> (lane * LANE_BITS)) & LANE_MASK;
            }
        }
    }

    function _key(uint256 level, uint256 index) private pure returns (uint256) {
        return (level << LEVEL_SHIFT) | index;
    }

    /// @dev The history slot of node `key` for `period`'s parity.
    function _slot(uint256 key, uint256 period) private pure returns (uint256) {
        return (key << 1) | (period & 1);
    }
}
