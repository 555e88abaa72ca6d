// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStakingHub} from "./IStakingHub.sol";
import {IPoolPerformance} from "./IPoolPerformance.sol";

/// @notice The hub's pool views and settlement, as far as performance needs them.
interface IStakingHubPools {
    /// @notice Settles `poolId`: pulls its workers' fees from the router and distributes them.
    /// @param poolId The pool.
    /// @return amount PHA wei pulled.
    function harvestPool(uint256 poolId) external returns (uint256 amount);
    /// @notice `poolId`'s state (its returnIndex and active stake among it).
    /// @param poolId The pool.
    /// @return The pool.
    function poolState(uint256 poolId) external view returns (IStakingHub.Pool memory);
}

/// @title PoolPerformance
/// @notice What one unit of each stake pool's active stake has earned, recorded once per epoch by
/// anyone, so that returns over trailing windows can be read on-chain (the vault allocator uses them).
/// @dev Reads the hub's per-pool returnIndex: the sum of every reward distribution's rewards to
/// stakers (after commission) per unit of active stake, minus every slash's active stake taken per
/// unit of active stake, each at its moment. So the return from snapshot a to snapshot b is
///     index_b − index_a
/// realised rewards per stake net of commission, minus slashes. It is not read from the share price:
/// a slashed pool whose stakers all leave restarts at one PHA per share, which would show as a gain
/// nobody earned; the index is moved by rewards and slashes only, never by exits or re-stakes.
/// Every snapshot settles the pool first (pulls its workers' fees from the router), so it counts
/// all fees earned up to its block whoever chose the moment; rates divide by the actual time between
/// snapshots, so recording early or late in an epoch changes no rate.
/// Each snapshot also keeps the pool's active stake: {windowOver} gives the smallest one of a window,
/// so that a consumer can size the pool's reward stream from a stake that was there throughout
/// (stake added only around snapshots does not count).
contract PoolPerformance is IPoolPerformance {
    /// @notice One snapshot of a pool (one storage slot).
    struct Snapshot {
        uint64 epoch;
        uint64 time;
        /// @dev The hub's returnIndex (wraps modulo 2^96; differences are read as int96).
        uint96 index;
        /// @dev The pool's active stake in whole PHA, rounded down (the supply, 1e9 PHA, fits).
        uint32 stake;
    }

    /// @notice A window's return and stakes (see {windowOver}).
    struct Window {
        bool ok;
        int256 ratePerEpoch;
        uint256 newestEpoch;
        uint256 minStake;
        uint256 newestStake;
    }

    /// @notice Length of an epoch: at most one snapshot per pool per epoch.
    uint256 public constant EPOCH = 1 days;
    /// @notice Snapshots kept per pool (the newest HISTORY): windows up to HISTORY − 1 epochs.
    uint256 public constant HISTORY = 16;
    /// @notice Scale of returned rates and of the hub's returnIndex (1e18 = 100%).
    int256 public constant RATE_ONE = 1e18;

    /// @notice The staking hub whose pools are measured.
    IStakingHubPools public immutable hub;
    /// @notice Start of epoch 0.
    uint256 public immutable genesis;

    mapping(uint256 poolId => Snapshot[HISTORY]) private _snapshots;
    mapping(uint256 poolId => uint256) private _snapshotCount;

    constructor(IStakingHubPools hub_) {
        if (address(hub_) == address(0)) revert ZeroAddress();
        hub = hub_;
        genesis = block.timestamp;
    }

    /// @notice Settles and snapshots each listed pool, once per epoch (pools already recorded this
    /// epoch are skipped). Anyone may call it; reverts for an unknown pool or while the hub has no router.
    /// @param poolIds Pools to record.
    function record(uint256[] calldata poolIds) external {
        for (uint256 i; i < poolIds.length; ++i) {
            _record(poolIds[i]);
        }
    }

    /// @notice The epoch now.
    /// @return Epochs elapsed since genesis.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / EPOCH;
    }

    /// @notice Snapshots taken of `poolId` so far (the newest HISTORY are kept).
    /// @param poolId The pool.
    /// @return Count of snapshots ever taken.
    function snapshotCount(uint256 poolId) external view returns (uint256) {
        return _snapshotCount[poolId];
    }

    /// @notice `poolId`'s newest snapshot but `back` (0 = newest).
    /// @param poolId The pool.
    /// @param back Snapshots back from the newest, below min(HISTORY, snapshotCount).
    /// @return The snapshot.
    function snapshot(uint256 poolId, uint256 back) external view returns (Snapshot memory) {
        return _snapshots[poolId][(_snapshotCount[poolId] - 1 - back) % HISTORY];
    }

    /// @notice The return per epoch (1e18 = 100%) of one unit of `poolId`'s active stake from the
    /// newest snapshot at least `epochs` epochs older than its newest snapshot to the newest, and the
    /// epoch of the newest; ok is false without such a pair (too little history).
    /// @param poolId The pool.
    /// @param epochs Window length, epochs (at most HISTORY - 1).
    /// @return ok Whether the history holds such a window.
    /// @return ratePerEpoch Return per epoch, RATE_ONE = 100% (negative after slashes).
    /// @return newestEpoch Epoch of the newest snapshot.
    function returnOver(uint256 poolId, uint256 epochs)
        external
        view
        returns (bool ok, int256 ratePerEpoch, uint256 newestEpoch)
    {
        (ok, ratePerEpoch, newestEpoch,) = _window(poolId, epochs);
    }

    /// @notice {returnOver} and the pool's active stake (wei, whole PHA rounded down): the smallest
    /// recorded in that window, both of its ends included, and the newest.
    /// @param poolId The pool.
    /// @param epochs Window length, epochs (at most HISTORY - 1).
    /// @return w The window (w.ok false: too little history, rate and stakes zero).
    function windowOver(uint256 poolId, uint256 epochs) external view returns (Window memory w) {
        uint256 start;
        (w.ok, w.ratePerEpoch, w.newestEpoch, start) = _window(poolId, epochs);
        if (!w.ok) return w;
        uint256 last = _snapshotCount[poolId] - 1;
        uint256 newest = _snapshots[poolId][last % HISTORY].stake;
        uint256 least = newest;
        for (uint256 i = start; i < last; ++i) {
            least = Math.min(least, _snapshots[poolId][i % HISTORY].stake);
        }
        (w.minStake, w.newestStake) = (least * 1 ether, newest * 1 ether);
    }

    /// @dev The window's rate and the index of its first snapshot.
    function _window(uint256 poolId, uint256 epochs)
        private
        view
        returns (bool ok, int256 ratePerEpoch, uint256 newestEpoch, uint256 start)
    {
        uint256 count = _snapshotCount[poolId];
        if (count == 0) return (false, 0, 0, 0);
        uint256 last = count - 1;
        Snapshot memory newest = _snapshots[poolId][last % HISTORY];
        newestEpoch = newest.epoch;
        // Snapshots are at most one per epoch, so the one `epochs` places back is at least `epochs`
        // epochs older; newer ones may be too when epochs were skipped: take the newest that is.
        uint256 oldest = count > HISTORY ? count - HISTORY : 0;
        start = last >= epochs && last - epochs >= oldest ? last - epochs : oldest;
        if (start == last || newestEpoch - _snapshots[poolId][start % HISTORY].epoch < epochs) {
            return (false, 0, newestEpoch, 0);
        }
        Snapshot memory first = _snapshots[poolId][start % HISTORY];
        while (start + 1 < last) {
            Snapshot memory next = _snapshots[poolId][(start + 1) % HISTORY];
            if (newestEpoch - next.epoch < epochs) break;
            (first, start) = (next, start + 1);
        }
        // Per second of the window (one pool's snapshots are never in the same second), scaled to an
        // epoch. The index wraps modulo 2^96, so the difference is exact as an int96; |Δ| < 2^95
        // and the window is at least one second, so the product fits in an int256.
        int256 delta;
        unchecked {
            delta = int96(newest.index - first.index);
        }
        ratePerEpoch = delta * int256(EPOCH) / int256(uint256(newest.time - first.time));
        ok = true;
    }

    function _record(uint256 poolId) private {
        uint256 count = _snapshotCount[poolId];
        uint256 epoch = currentEpoch();
        if (count != 0 && _snapshots[poolId][(count - 1) % HISTORY].epoch == epoch) return;
        hub.harvestPool(poolId);
        IStakingHub.Pool memory pool = hub.poolState(poolId);
        uint96 index = pool.returnIndex;
        _snapshots[poolId][count % HISTORY] = Snapshot({
            epoch: uint64(epoch),
            time: uint64(block.timestamp),
            index: index,
            stake: uint32(Math.min(pool.activeStake / 1 ether, type(uint32).max))
        });
        _snapshotCount[poolId] = count + 1;
        emit Recorded(poolId, epoch, index);
    }

}
