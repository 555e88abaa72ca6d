// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IStakingHub} from "./IStakingHub.sol";

/// @notice The hub's pool views and settlement, as far as performance needs them.
interface IStakingHubPools {
    function harvestPool(uint256 poolId) external returns (uint256 amount);
    function poolState(uint256 poolId) external view returns (IStakingHub.Pool memory);
}

/// @title PoolPerformance
/// @notice What one active share of each stake pool has earned, recorded once per epoch by anyone,
/// so that returns over trailing windows can be read on-chain (the vault allocator uses them).
/// @dev A share's worth is its stake value (activeStake / activeShares, which only a slash lowers)
/// plus every reward ever credited per share (rewardPerShare: fees and mining rewards after
/// commission, which only grows). So the return of a share held from snapshot a to snapshot b is
///     (value_b − value_a + rewards_b − rewards_a) / value_a
/// realised rewards per stake net of commission, minus slashes — whoever holds the pool's shares.
/// Every snapshot settles the pool first (pulls its workers' fees from the router), so it counts
/// all fees earned up to its block whoever chose the moment; rates divide by the actual time between
/// snapshots, so recording early or late in an epoch changes no rate.
contract PoolPerformance {
    /// @notice One snapshot of a pool's share, both fields in PHA per share scaled by 1e27.
    struct Snapshot {
        uint64 epoch;
        uint64 time;
        uint256 value;
        uint256 rewards;
    }

    /// @notice Length of an epoch: at most one snapshot per pool per epoch.
    uint256 public constant EPOCH = 1 days;
    /// @notice Snapshots kept per pool (the newest HISTORY): windows up to HISTORY − 1 epochs.
    uint256 public constant HISTORY = 16;
    /// @notice Scale of snapshot fields (the hub's REWARD_PRECISION) and of returned rates (1e18 = 100%).
    uint256 public constant PRECISION = 1e27;
    int256 public constant RATE_ONE = 1e18;
    /// @dev Bound on |rate|: far above any real return, and safe to sum and multiply.
    uint256 private constant MAX_RATE = uint256(uint128(type(int128).max));

    /// @notice The staking hub whose pools are measured.
    IStakingHubPools public immutable hub;
    /// @notice Start of epoch 0.
    uint256 public immutable genesis;

    mapping(uint256 poolId => Snapshot[HISTORY]) private _snapshots;
    mapping(uint256 poolId => uint256) private _snapshotCount;

    event Recorded(uint256 indexed poolId, uint256 indexed epoch, uint256 value, uint256 rewards);

    error ZeroAddress();

    constructor(IStakingHubPools hub_) {
        if (address(hub_) == address(0)) revert ZeroAddress();
        hub = hub_;
        genesis = block.timestamp;
    }

    /// @notice Settles and snapshots each listed pool, once per epoch (pools already recorded this
    /// epoch are skipped). Anyone may call it; reverts for an unknown pool or while the hub has no router.
    function record(uint256[] calldata poolIds) external {
        for (uint256 i; i < poolIds.length; ++i) {
            _record(poolIds[i]);
        }
    }

    /// @notice The epoch now.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / EPOCH;
    }

    /// @notice Snapshots taken of `poolId` so far (the newest HISTORY are kept).
    function snapshotCount(uint256 poolId) external view returns (uint256) {
        return _snapshotCount[poolId];
    }

    /// @notice `poolId`'s newest snapshot but `back` (0 = newest).
    function snapshot(uint256 poolId, uint256 back) external view returns (Snapshot memory) {
        return _snapshots[poolId][(_snapshotCount[poolId] - 1 - back) % HISTORY];
    }

    /// @notice The return per epoch (1e18 = 100%) of one of `poolId`'s shares from the newest snapshot
    /// at least `epochs` epochs older than its newest snapshot to the newest, and the epoch of the
    /// newest; ok is false without such a pair (too little history or an emptied pool).
    function returnOver(uint256 poolId, uint256 epochs)
        external
        view
        returns (bool ok, int256 ratePerEpoch, uint256 newestEpoch)
    {
        uint256 count = _snapshotCount[poolId];
        if (count == 0) return (false, 0, 0);
        uint256 last = count - 1;
        Snapshot storage newest = _snapshots[poolId][last % HISTORY];
        newestEpoch = newest.epoch;
        // Snapshots are at most one per epoch, so the one `epochs` places back is at least `epochs`
        // epochs older; newer ones may be too when epochs were skipped: take the newest that is.
        uint256 oldest = count > HISTORY ? count - HISTORY : 0;
        uint256 start = last >= epochs && last - epochs >= oldest ? last - epochs : oldest;
        if (start == last || newestEpoch - _snapshots[poolId][start % HISTORY].epoch < epochs) return (false, 0, newestEpoch);
        while (start + 1 < last && newestEpoch - _snapshots[poolId][(start + 1) % HISTORY].epoch >= epochs) {
            ++start;
        }
        Snapshot storage first = _snapshots[poolId][start % HISTORY];
        uint256 startValue = first.value;
        if (startValue == 0) return (false, 0, newestEpoch);
        uint256 endWorth = newest.value + newest.rewards;
        uint256 startWorth = startValue + first.rewards;
        // Per second of the window (one pool's snapshots are never in the same second), scaled to an
        // epoch and to RATE_ONE; clamped so that no pool's numbers can make a reader revert.
        uint256 magnitude = Math.mulDiv(
            endWorth > startWorth ? endWorth - startWorth : startWorth - endWorth,
            uint256(RATE_ONE) * EPOCH,
            startValue * (newest.time - first.time)
        );
        ratePerEpoch = SafeCast.toInt256(Math.min(magnitude, MAX_RATE));
        if (endWorth < startWorth) ratePerEpoch = -ratePerEpoch;
        ok = true;
    }

    function _record(uint256 poolId) private {
        uint256 count = _snapshotCount[poolId];
        uint256 epoch = currentEpoch();
        if (count != 0 && _snapshots[poolId][(count - 1) % HISTORY].epoch == epoch) return;
        hub.harvestPool(poolId);
        IStakingHub.Pool memory pool = hub.poolState(poolId);
        // The hub's own share conversion: one virtual share and one virtual wei.
        uint256 value = Math.mulDiv(pool.activeStake + 1, PRECISION, pool.activeShares + 1);
        _snapshots[poolId][count % HISTORY] =
            Snapshot({epoch: uint64(epoch), time: uint64(block.timestamp), value: value, rewards: pool.rewardPerShare});
        _snapshotCount[poolId] = count + 1;
        emit Recorded(poolId, epoch, value, pool.rewardPerShare);
    }

}
