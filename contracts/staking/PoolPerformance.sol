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
    /// @notice `poolId`'s state (its netRewards and active stake among it).
    /// @param poolId The pool.
    /// @return The pool.
    function poolState(uint256 poolId) external view returns (IStakingHub.Pool memory);
    /// @notice `poolId`'s active stake integrated over time up to now.
    /// @param poolId The pool.
    /// @return Wei-seconds.
    function stakeSeconds(uint256 poolId) external view returns (uint256);
}

/// @title PoolPerformance
/// @notice What each stake pool has paid its stakers, recorded once per epoch by anyone, so that the
/// reward stream over trailing windows, and the stake it was paid on, can be read on-chain (the vault
/// allocator uses them).
/// @dev Reads the hub's per-pool netRewards: PHA paid to the pool's stakers (after commission) minus
/// the active stake slashed, a running total. So the stream from snapshot a to snapshot b is
///     (netRewards_b − netRewards_a) / (time_b − time_a)
/// PHA actually paid, net of slashes, however stake moved in between: unlike a per-stake index
/// (review s24: 1 PHA harvested while the pool held 1 PHA moved a per-stake index as much as
/// 12,000 PHA paid on 12,000 PHA), no exit, re-stake or harvest timing changes it.
/// Every snapshot settles the pool first (pulls its workers' fees from the router), so it counts
/// all fees earned up to its block whoever chose the moment; rates divide by the actual time between
/// snapshots, so recording early or late in an epoch changes no rate.
/// Each snapshot also keeps the pool's active stake and the hub's integral of it over time: a
/// window gives its smallest snapshot stake and its time-weighted stake, so that a consumer can tell
/// stake that was there throughout from stake present only around the snapshots.
contract PoolPerformance is IPoolPerformance {
    /// @notice One snapshot of a pool (two storage slots).
    struct Snapshot {
        uint64 epoch;
        uint64 time;
        /// @dev The hub's netRewards (wraps modulo 2^96; differences are read as int96).
        uint96 rewards;
        /// @dev The pool's active stake in whole PHA, rounded down (the supply, 1e9 PHA, fits).
        uint32 stake;
        /// @dev The hub's stakeSeconds.
        uint256 stakeSeconds;
    }

    /// @notice A window's reward stream and stakes (see {windowOver}).
    struct Window {
        bool ok;
        /// @dev PHA wei paid to stakers per epoch, net of slashes (negative: slashed beyond rewards).
        int256 rewardsPerEpoch;
        uint256 newestEpoch;
        /// @dev Smallest active stake at the window's snapshots, both ends included (whole PHA, in wei).
        uint256 minStake;
        /// @dev Time-weighted active stake between the window's ends, wei.
        uint256 meanStake;
    }

    /// @notice Length of an epoch: at most one snapshot per pool per epoch.
    uint256 public constant EPOCH = 1 days;
    /// @notice Snapshots kept per pool (the newest HISTORY): windows up to HISTORY − 1 epochs.
    uint256 public constant HISTORY = 16;

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

    /// @notice The PHA `poolId` paid its stakers per epoch, net of slashes, from the newest snapshot
    /// at least `epochs` epochs older than its newest snapshot to the newest, and the epoch of the
    /// newest; ok is false without such a pair (too little history).
    /// @param poolId The pool.
    /// @param epochs Window length, epochs (at most HISTORY - 1).
    /// @return ok Whether the history holds such a window.
    /// @return rewardsPerEpoch PHA wei per epoch (negative after slashes beyond the rewards).
    /// @return newestEpoch Epoch of the newest snapshot.
    function rewardsOver(uint256 poolId, uint256 epochs)
        external
        view
        returns (bool ok, int256 rewardsPerEpoch, uint256 newestEpoch)
    {
        Window memory w = windowOver(poolId, epochs);
        return (w.ok, w.rewardsPerEpoch, w.newestEpoch);
    }

    /// @notice {rewardsOver} and the pool's active stake over the same window: the smallest at its
    /// snapshots (both ends included) and the time-weighted one between its ends.
    /// @param poolId The pool.
    /// @param epochs Window length, epochs (at most HISTORY - 1).
    /// @return w The window (w.ok false: too little history, the rest zero but newestEpoch).
    function windowOver(uint256 poolId, uint256 epochs) public view returns (Window memory w) {
        uint256 count = _snapshotCount[poolId];
        if (count == 0) return w;
        uint256 last = count - 1;
        Snapshot storage newest = _snapshots[poolId][last % HISTORY];
        w.newestEpoch = newest.epoch;
        // Snapshots are at most one per epoch, so the one `epochs` places back is at least `epochs`
        // epochs older; newer ones may be too when epochs were skipped: take the newest that is.
        uint256 oldest = count > HISTORY ? count - HISTORY : 0;
        uint256 start = last >= epochs && last - epochs >= oldest ? last - epochs : oldest;
        if (start == last || w.newestEpoch - _snapshots[poolId][start % HISTORY].epoch < epochs) return w;
        while (start + 1 < last && w.newestEpoch - _snapshots[poolId][(start + 1) % HISTORY].epoch >= epochs) {
            ++start;
        }
        Snapshot storage first = _snapshots[poolId][start % HISTORY];
        uint256 least = newest.stake;
        for (uint256 i = start; i < last; ++i) {
            least = Math.min(least, _snapshots[poolId][i % HISTORY].stake);
        }
        // One pool's snapshots are never in the same second, so the window is at least one second.
        uint256 elapsed = newest.time - first.time;
        // netRewards wraps modulo 2^96, so the difference is exact as an int96; |Δ| < 2^95 wei and
        // the product by an epoch fits in an int256.
        int256 delta;
        unchecked {
            delta = int96(newest.rewards - first.rewards);
        }
        w.ok = true;
        w.rewardsPerEpoch = delta * int256(EPOCH) / int256(elapsed);
        w.minStake = least * 1 ether;
        w.meanStake = (newest.stakeSeconds - first.stakeSeconds) / elapsed;
    }

    function _record(uint256 poolId) private {
        uint256 count = _snapshotCount[poolId];
        uint256 epoch = currentEpoch();
        if (count != 0 && _snapshots[poolId][(count - 1) % HISTORY].epoch == epoch) return;
        hub.harvestPool(poolId);
        IStakingHub.Pool memory pool = hub.poolState(poolId);
        _snapshots[poolId][count % HISTORY] = Snapshot({
            epoch: uint64(epoch),
            time: uint64(block.timestamp),
            rewards: pool.netRewards,
            stake: uint32(Math.min(pool.activeStake / 1 ether, type(uint32).max)),
            stakeSeconds: hub.stakeSeconds(poolId)
        });
        _snapshotCount[poolId] = count + 1;
        emit Recorded(poolId, epoch, pool.netRewards);
    }

}
