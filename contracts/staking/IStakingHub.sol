// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IStakingHub
/// @notice The staking economy beyond what the router needs: stake pools run by operators, delegation
/// by share, rewards from worker fees, an unbonding queue, slashing and governance parameters.
interface IStakingHub is IWorkerStaking, ICommonErrors {
    /// @notice Governance parameters, bounded by the hub's constants.
    struct Params {
        /// @dev PHA a pool must hold per worker for its workers to be eligible.
        uint128 minStakePerWorker;
        /// @dev Seconds a withdrawal waits in the unbonding queue (still slashable meanwhile).
        uint64 unbondingPeriod;
        /// @dev Seconds between an operator's commission change and its effect.
        uint64 commissionChangeDelay;
        /// @dev Fraction of a pool's (active + unbonding) stake slashed for equivocation. A timeout's
        /// slash is not a fraction of the pool: the router sets it in proportion to the request.
        uint16 equivocationSlashBps;
        /// @dev Lowest commission an operator may set.
        uint16 minCommissionBps;
        /// @dev Highest commission an operator may set.
        uint16 maxCommissionBps;
        /// @dev Operator bond a pool must hold per worker (active or retiring) for its workers to be
        /// eligible; see {bondOf}.
        uint128 minBondPerWorker;
    }

    /// @notice A stake pool. Active stake and the unbonding queue are two share pools with their own
    /// exchange rates, so a slash lowers both rates without touching any staker's record.
    struct Pool {
        /// @dev The worker at index 0, in the same slot as the count so that sampling a pool's only
        /// (or first) worker costs one storage read.
        address firstWorker;
        uint32 workerCount;
        /// @dev Sampling weight in WEIGHT_UNITs of active stake; zero while the pool is ineligible.
        uint48 weight;
        uint16 commissionBps;
        address operator;
        uint16 pendingCommissionBps;
        uint64 commissionEffectiveAt;
        /// @dev Removed or jailed workers still settled with the pool until their retirement.
        uint32 retiringCount;
        /// @dev How many commission-bound settings existed when the pool last settled its fees: fees
        /// settled later are charged no more than the lowest rate in force since then.
        uint64 settledBoundsChanges;
        /// @dev When the router last reported a fault (timeout or equivocation) of one of the pool's
        /// workers; mining rewards are withheld around it (see MiningRewards).
        uint64 lastFaultAt;
        /// @dev What the pool has paid its stakers, net: the sum of every reward distribution's rewards
        /// to stakers (after commission) minus the active stake every slash took, PHA wei. Exits and
        /// stakes never move it, and it counts PHA, not PHA per share, so no movement of stake between
        /// two readings can change the difference (review s24: a per-stake index grew by the fees over
        /// the stake at the moment of the harvest, so 1 PHA harvested over 1 PHA of stake looked like
        /// 100 %). Wraps modulo 2^96: read differences as int96 (|Δ| < 2^95 wei ≈ 4e10 PHA, 40 times
        /// the supply).
        uint96 netRewards;
        uint256 activeStake;
        uint256 activeShares;
        uint256 unbondingStake;
        uint256 unbondingShares;
        /// @dev Rewards per active share, scaled by REWARD_PRECISION; only ever grows.
        uint256 rewardPerShare;
        uint256 commissionAccrued;
    }

    /// @notice A pending unbonding withdrawal: `shares` of its pool's unbonding share pool.
    struct WithdrawalRequest {
        address owner;
        uint64 poolId;
        uint64 unlockAt;
        uint256 shares;
    }

    /// @notice Why a pool was slashed.
    enum SlashKind {
        Timeout,
        Equivocation
    }

    event PoolCreated(uint256 indexed poolId, address indexed operator, uint16 commissionBps);
    event CommissionChangeScheduled(uint256 indexed poolId, uint16 commissionBps, uint64 effectiveAt);
    event CommissionChangeApplied(uint256 indexed poolId, uint16 commissionBps);
    event WorkerAdded(uint256 indexed poolId, address indexed worker);
    event WorkerRemoved(uint256 indexed poolId, address indexed worker);
    event WorkerJailed(uint256 indexed poolId, address indexed worker, uint256 indexed requestId);
    event PoolWeightUpdated(uint256 indexed poolId, uint256 weight);
    event Staked(uint256 indexed poolId, address indexed payer, address indexed beneficiary, uint256 amount, uint256 shares);
    event WithdrawalRequested(
        uint256 indexed requestId, uint256 indexed poolId, address indexed owner, uint256 amount, uint256 shares, uint64 unlockAt
    );
    event Withdrawn(uint256 indexed requestId, uint256 indexed poolId, address indexed owner, uint256 amount);
    event RewardsDistributed(uint256 indexed poolId, uint256 amount, uint256 commission);
    event WorkerRetired(uint256 indexed poolId, address indexed worker);
    event WorkerSuspended(uint256 indexed poolId, address indexed worker);
    event WorkerExpirySynced(address indexed worker, uint64 expiresAt);
    event RewardsClaimed(uint256 indexed poolId, address indexed account, uint256 amount);
    event CommissionClaimed(uint256 indexed poolId, address indexed operator, uint256 amount);
    event Slashed(
        uint256 indexed poolId,
        address indexed worker,
        uint256 indexed requestId,
        SlashKind kind,
        uint256 fromBond,
        uint256 fromActive,
        uint256 fromUnbonding,
        uint256 toReporter,
        uint256 toTreasury
    );
    event ParamsUpdated(Params params);
    event RouterSet(address router);
    event TreasurySet(address treasury);
    event StakeVotesSet(address stakeVotes);
    event MiningRewardsSet(address miningRewards);
    event BondPosted(uint256 indexed poolId, address indexed payer, uint256 amount);
    event BondWithdrawn(uint256 indexed poolId, uint256 amount);

    error UnknownPool(uint256 poolId);
    error NotPoolOperator(uint256 poolId, address caller);
    error NotRouter(address caller);
    /// @notice The router cannot change while it has `count` workers marked full; see {setRouter}.
    error WorkersMarkedFull(uint256 count);
    error CommissionOutOfBounds(uint16 commissionBps, uint16 minBps, uint16 maxBps);
    error InvalidParams();
    error WorkerNotOwnedByOperator(address worker, address operator);
    error WorkerBoundToOtherPool(address worker, uint256 poolId);
    error WorkerAlreadyInPool(address worker);
    error WorkerNotInPool(address worker, uint256 poolId);
    error WorkerIsJailed(address worker);
    error UnknownWorker(address worker);
    error TooManyWorkers(uint256 poolId);
    error InsufficientShares(uint256 requested, uint256 held);
    error UnknownWithdrawal(uint256 requestId);
    error NotWithdrawalOwner(uint256 requestId, address caller);
    error StillUnbonding(uint256 requestId, uint64 unlockAt);
    error RouterNotSet();
    error WorkerCannotServe(address worker);
    error FeeCollectionOutOfGas();
    error StakeVotesAlreadySet();
    /// @notice The bond `held` less the amount asked would be below `required` (minBondPerWorker per
    /// active or retiring worker), or negative.
    error BondBelowMinimum(uint256 poolId, uint256 held, uint256 required);

    /// @notice Opens a pool run by the caller with an initial commission (applies at once).
    /// @param commissionBps The pool's commission on rewards, in basis points.
    /// @return poolId The new pool's id.
    function createPool(uint16 commissionBps) external returns (uint256 poolId);

    /// @notice Schedules a commission change for `poolId`; it applies after the commission delay.
    /// @param poolId The caller's pool.
    /// @param commissionBps The new commission, in basis points.
    function setCommission(uint256 poolId, uint16 commissionBps) external;

    /// @notice Binds a worker the pool's operator registered to the pool and makes it sampleable.
    /// @param poolId The caller's pool.
    /// @param worker A worker the caller registered.
    function addWorker(uint256 poolId, address worker) external;

    /// @notice Stops sampling `worker`; it stays bound to the pool so pending faults still slash it.
    /// @param poolId The caller's pool.
    /// @param worker A worker of the pool.
    function removeWorker(uint256 poolId, address worker) external;

    /// @notice Adds `amount` PHA from the caller to the operator bond of `poolId` (anyone may pay it;
    /// only the operator can take it out).
    /// @param poolId The pool.
    /// @param amount PHA to post.
    function postBond(uint256 poolId, uint256 amount) external;

    /// @notice Pays `amount` of the caller's pool bond back to it, as long as the bond left covers
    /// minBondPerWorker for every active or retiring worker of the pool.
    /// @param poolId The caller's pool.
    /// @param amount PHA to take out.
    function withdrawBond(uint256 poolId, uint256 amount) external;

    /// @notice The operator bond of `poolId`: PHA its operator (or anyone for it) posted, slashed
    /// before any staker for every fault of the pool's workers. Not shares: it earns and votes nothing.
    /// @param poolId The pool.
    /// @return PHA wei.
    function bondOf(uint256 poolId) external view returns (uint256);

    /// @notice Stakes `amount` PHA into `poolId` for the caller.
    /// @param poolId The pool.
    /// @param amount PHA to stake.
    /// @return shares Active shares minted.
    function stake(uint256 poolId, uint256 amount) external returns (uint256 shares);

    /// @notice Stakes `amount` PHA from the caller into `poolId` for `beneficiary`.
    /// @param poolId The pool.
    /// @param amount PHA to stake.
    /// @param beneficiary Who holds the shares.
    /// @return shares Active shares minted.
    function stakeFor(uint256 poolId, uint256 amount, address beneficiary) external returns (uint256 shares);

    /// @notice Moves `shares` active shares into the unbonding queue.
    /// @param poolId The pool.
    /// @param shares Active shares to unbond.
    /// @return requestId The withdrawal request's id.
    function requestWithdrawal(uint256 poolId, uint256 shares) external returns (uint256 requestId);

    /// @notice Pays out an unbonded withdrawal request to its owner.
    /// @param requestId The caller's withdrawal request.
    /// @return amount PHA paid.
    function withdraw(uint256 requestId) external returns (uint256 amount);

    /// @notice Pays the caller's accrued rewards in `poolId`.
    /// @param poolId The pool.
    /// @return amount PHA paid.
    function claimRewards(uint256 poolId) external returns (uint256 amount);

    /// @notice Settles the pool `worker` is bound to: pulls every fee its workers earned from the
    /// router and distributes them (see {harvestPool}).
    /// @param worker A worker bound to the pool to settle.
    /// @return amount PHA of fees pulled.
    function harvest(address worker) external returns (uint256 amount);

    /// @notice Pulls the fees of every active and retiring worker of `poolId` from the router and
    /// distributes them to the pool's current shares. Runs before every stake, withdrawal request
    /// and commission change, so shares never change while fees they did not earn are outstanding.
    /// @param poolId The pool to settle.
    /// @return amount PHA of fees pulled.
    function harvestPool(uint256 poolId) external returns (uint256 amount);

    /// @notice Re-reads each worker's registry record: a worker that can no longer serve (attestation
    /// expired, revoked, jailed, deregistered, measurement withdrawn) leaves sampling; a renewed
    /// attestation's expiry is mirrored. Anyone may call it.
    /// @param workers Worker keys to re-read.
    function syncWorkers(address[] calldata workers) external;

    /// @notice Current governance parameters.
    /// @return The parameters.
    function params() external view returns (Params memory);

    /// @notice The pool's active stake integrated over time since its creation (wei × seconds, up to
    /// now): its difference over an interval divided by the interval's length is the pool's
    /// time-weighted active stake, which stake present only for moments (around a snapshot) barely moves.
    /// @param poolId The pool.
    /// @return Wei-seconds.
    function stakeSeconds(uint256 poolId) external view returns (uint256);

    /// @notice PHA value of `account`'s active shares in `poolId` (rounded down).
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return PHA value of the staker's active shares.
    function stakeOf(uint256 poolId, address account) external view returns (uint256);

    /// @notice Active shares `account` holds in `poolId`.
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return Active shares held.
    function sharesOf(uint256 poolId, address account) external view returns (uint256);

    /// @notice {stakeOf} plus {pendingRewards}: what `account`'s position in `poolId` is worth now.
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return PHA value of stake plus pending rewards.
    function positionValue(uint256 poolId, address account) external view returns (uint256);

    /// @notice Rewards `account` could claim from `poolId` now.
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return PHA claimable.
    function pendingRewards(uint256 poolId, address account) external view returns (uint256);

    /// @notice PHA a withdrawal request would pay now (rounded down; zero if unknown).
    /// @param requestId The withdrawal request.
    /// @return PHA it would pay.
    function withdrawalValue(uint256 requestId) external view returns (uint256);

    /// @notice The withdrawal request `requestId` (zero owner if unknown or paid).
    /// @param requestId The withdrawal request.
    /// @return The request.
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory);

    /// @notice PHA that `shares` of `poolId`'s unbonding queue are worth now (rounded down).
    /// @param poolId The pool.
    /// @param shares Unbonding shares.
    /// @return Their PHA value.
    function unbondingValue(uint256 poolId, uint256 shares) external view returns (uint256);

    /// @notice Active shares that `amount` PHA of `poolId` is worth, rounded up.
    /// @param poolId The pool.
    /// @param amount PHA.
    /// @return Active shares worth it.
    function sharesForStake(uint256 poolId, uint256 amount) external view returns (uint256);
}
