// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title StakeSumTree
/// @notice A 10-ary sum tree over leaf weights, packed ten 24-bit lanes to a storage slot, so that
/// weighted sampling reads one slot per level: ceil(log10(leaves)) slots (2 for 100 pools, 3 for 1,000).
/// @dev Each node holds the weight sums of its five children; a leaf lane holds one leaf's weight. The
/// root lives in its own slot whose top byte also stores the depth, so a sample starts with a single
/// read. The tree grows by one level (old root pushed down as child 0) when a leaf index exceeds its
/// capacity; it never shrinks. The total weight is capped at 2^24-1 units (callers choose the unit).
library StakeSumTree {
    /// @notice Total weight would not fit a lane (2^24-1).
    error WeightOverflow();

    struct Tree {
        /// @dev Lanes 0..9 in bits 0..239 and the depth (number of levels, 0 meaning 1) in bits 248..255.
        uint256 root;
        /// @dev Non-root nodes, keyed by (level << 128 | index); level 0 holds the leaves.
        mapping(uint256 key => uint256 lanes) nodes;
    }

    uint256 internal constant BRANCHING = 10;
    uint256 internal constant LANE_BITS = 24;
    uint256 internal constant LANE_MASK = (1 << LANE_BITS) - 1;
    uint256 internal constant MAX_TOTAL = LANE_MASK;
    uint256 private constant DEPTH_SHIFT = 248;
    uint256 private constant LANES_MASK = (1 << (BRANCHING * LANE_BITS)) - 1;
    uint256 private constant LEVEL_SHIFT = 128;

    /// @notice Sum of all leaf weights.
    function total(Tree storage tree) internal view returns (uint256) {
        return _sumLanes(tree.root);
    }

    /// @notice Number of levels (1 for up to ten leaves).
    function depth(Tree storage tree) internal view returns (uint256) {
        return _depth(tree.root);
    }

    /// @notice Makes room for leaf `leaf`, adding levels on top as needed.
    function reserve(Tree storage tree, uint256 leaf) internal {
        uint256 root = tree.root;
        uint256 levels = _depth(root);
        uint256 capacity = BRANCHING ** levels;
        if (leaf < capacity) return;
        while (leaf >= capacity) {
            uint256 lanes = root & LANES_MASK;
            if (lanes != 0) tree.nodes[_key(levels - 1, 0)] = lanes;
            root = _sumLanes(lanes);
            levels += 1;
            capacity *= BRANCHING;
        }
        tree.root = root | (levels << DEPTH_SHIFT);
    }

    /// @notice Changes leaf `leaf`'s weight from `oldWeight` (the value the caller stored) to `newWeight`.
    /// @dev The leaf must have been {reserve}d. Every level's lane on the leaf's path moves by the delta.
    function update(Tree storage tree, uint256 leaf, uint256 oldWeight, uint256 newWeight) internal {
        if (oldWeight == newWeight) return;
        uint256 root = tree.root;
        uint256 levels = _depth(root);
        bool up = newWeight > oldWeight;
        uint256 delta = up ? newWeight - oldWeight : oldWeight - newWeight;
        uint256 index = leaf;
        for (uint256 level; level < levels; ++level) {
            uint256 shift = (index % BRANCHING) * LANE_BITS;
            index /= BRANCHING;
            bool isRoot = level == levels - 1;
            uint256 node = isRoot ? root : tree.nodes[_key(level, index)];
            uint256 lane = (node >> shift) & LANE_MASK;
            // Lanes never underflow (each is a sum that includes oldWeight); overflow is checked on the root total.
            uint256 updated = up ? lane + delta : lane - delta;
            if (updated > LANE_MASK) revert WeightOverflow();
            node = (node & ~(LANE_MASK << shift)) | (updated << shift);
            if (isRoot) {
                if (_sumLanes(node) > MAX_TOTAL) revert WeightOverflow();
                tree.root = node;
            } else {
                tree.nodes[_key(level, index)] = node;
            }
        }
    }

    /// @notice Draws a leaf with probability proportional to its weight, reading one slot per level.
    /// @return leaf The leaf whose cumulative weight range contains `seed % weightSum`.
    /// @return weightSum The total weight; zero means the tree is empty and `leaf` is meaningless.
    function sample(Tree storage tree, uint256 seed) internal view returns (uint256 leaf, uint256 weightSum) {
        weightSum = _sumLanes(tree.root);
        if (weightSum == 0) return (0, 0);
        (leaf,) = find(tree, seed % weightSum);
    }

    /// @notice The leaf whose cumulative weight range contains `target` (which must be below the
    /// total), and `target`'s offset within that range; `target - offset` is where the range starts.
    function find(Tree storage tree, uint256 target) internal view returns (uint256 leaf, uint256 offset) {
        uint256 node = tree.root;
        uint256 level = _depth(node);
        // Bounded by the depth and lane count; a lane weight never exceeds the remaining target sum.
        unchecked {
            while (true) {
                --level;
                uint256 lane;
                for (; lane < BRANCHING - 1; ++lane) {
                    uint256 weight = (node >> (lane * LANE_BITS)) & LANE_MASK;
                    if (target < weight) break;
                    target -= weight;
                }
                leaf = leaf * BRANCHING + lane;
                if (level == 0) return (leaf, target);
                node = tree.nodes[_key(level - 1, leaf)];
            }
        }
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
}
