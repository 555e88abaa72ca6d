// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IStakeVotes} from "../interfaces/IStakeVotes.sol";
import {IStakingHub} from "./IStakingHub.sol";
import {IMiningRewards} from "./IMiningRewards.sol";
import {StakeSumTree} from "./StakeSumTree.sol";

/// @title StakingHub
/// @notice Every stake pool in one contract: operators run pools and bind their workers, anyone
/// delegates PHA for pool shares, worker fees become commission plus pro-rata rewards, withdrawals
/// unbond in a slashable queue, and the router samples workers by stake and slashes them for faults.
/// @dev Gas never depends on the number of stakers: rewards use a reward-per-share accumulator, and
/// each pool's active stake and unbonding queue are share pools whose exchange rates absorb slashes.
/// Rewards accrue when earned, not when someone harvests: every change of a pool's shares (stake,
/// withdrawal request) and of its commission first settles the fees all its workers earned, so
/// fees are always split over the shares that were in the pool while they were earned.
/// Pool sampling weights live in a packed 10-ary sum tree (see {StakeSumTree}). All conversions round
/// in the protocol's favour, so PHA held always covers every claim; rounding dust stays in the hub.
contract StakingHub is IStakingHub, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using StakeSumTree for StakeSumTree.Tree;

    /// @notice Denominator of every basis-point parameter.
    uint256 public constant BPS = 10_000;
    /// @notice Sampling weight granularity: one unit per 100 PHA of active stake. With 24-bit tree
    /// lanes this caps the total sampled stake at about 1.68e9 PHA, above PHA's fixed 1e9 supply.
    uint256 public constant WEIGHT_UNIT = 100 ether;
    /// @notice Scale of the reward-per-share accumulator.
    uint256 public constant REWARD_PRECISION = 1e27;
    /// @notice Bound on a pool's active plus retiring workers, keeping the fee settlement that runs
    /// before every stake and withdrawal request (one router call per worker) bounded.
    uint256 public constant MAX_WORKERS_PER_POOL = 32;
    /// @notice How long a removed or jailed worker is still settled with its pool. A worker can only
    /// earn fees by answering requests assigned while it was sampled, before their deadline, and the
    /// router's request timeout is at most one day (AgentRouter.MAX_REQUEST_TIMEOUT).
    uint256 public constant RETIRE_DELAY = 1 days;
    /// @notice Pool draws one {sampleWorker} call makes before giving up on pools whose workers'
    /// attestations all expired since anyone last called {syncWorkers}.
    uint256 public constant MAX_SAMPLE_DRAWS = 16;
    /// @notice Commission-bound changes a settlement looks back over (see {commissionOf}).
    uint256 public constant BOUNDS_LOOKBACK = 16;
    /// @notice Hard caps and floors on governance parameters.
    uint256 public constant MAX_EQUIVOCATION_SLASH_BPS = 5_000;
    uint256 public constant MIN_UNBONDING_PERIOD = 1 days;
    uint256 public constant MAX_UNBONDING_PERIOD = 90 days;
    uint256 public constant MIN_COMMISSION_CHANGE_DELAY = 1 days;
    uint256 public constant MAX_COMMISSION_CHANGE_DELAY = 30 days;
    uint256 public constant MAX_MIN_STAKE_PER_WORKER = 100_000_000 ether;
    uint256 public constant MAX_MIN_BOND_PER_WORKER = 1_000_000 ether;

    /// @notice The staking and fee token.
    IERC20 public immutable pha;
    /// @notice Where workers and their operators are registered.
    IWorkerRegistry public immutable registry;
    /// @notice The only caller of the slash functions and the source of worker fees.
    address public router;
    /// @notice Workers the router has marked full ({setWorkerFull}); shares the router's slot. The
    /// router may not change while any is marked: a retired router could no longer clear its marks
    /// (its refunds would revert on the call) and the new one would never draw those workers.
    uint96 public fullWorkers;
    /// @notice Receives the part of slashed PHA not paid to reporters and wronged parties.
    address public treasury;
    /// @notice The mining reserve told of the fees each settlement distributes, which pays the pool's
    /// mining reward into it (none while unset).
    address public miningRewards;
    /// @notice Number of pools created; pool ids run from 1 to poolCount.
    uint256 public poolCount;
    /// @notice Number of withdrawal requests ever made; ids run from 1.
    uint256 public withdrawalCount;
    /// @notice Records stakers' voting power; synced on every change of a staker's active shares.
    IStakeVotes public stakeVotes;

    Params private _params;
    /// @dev The commission bounds as first set and after every change; the last entry is in force.
    BoundsPoint[] private _boundsHistory;
    StakeSumTree.Tree private _weights;
    mapping(uint256 poolId => Pool) private _pools;
    /// @dev Workers at index 1 and up; index 0 lives in Pool.firstWorker.
    mapping(uint256 poolId => mapping(uint256 index => address)) private _poolWorkers;
    /// @dev Removed or jailed workers whose late fees are still settled with the pool.
    mapping(uint256 poolId => mapping(uint256 index => address)) private _retiringWorkers;
    mapping(address worker => WorkerInfo) private _workers;
    mapping(uint256 poolId => mapping(address account => Position)) private _positions;
    mapping(uint256 requestId => WithdrawalRequest) private _withdrawals;
    /// @dev Per pool, its active stake integrated over time up to `at` (see {stakeSeconds}).
    mapping(uint256 poolId => StakeClock) private _stakeClocks;
    /// @inheritdoc IStakingHub
    mapping(uint256 poolId => uint256) public bondOf;

    /// @dev One slot. Wei × seconds stays below 2^192: the supply (1e27 wei) for 1e30 seconds.
    struct StakeClock {
        uint64 at;
        uint192 stakeSeconds;
    }

    /// @dev One slot. A worker stays bound to its pool after removal so late faults still slash it.
    /// `index` is its place in the active list while active, in the retiring list while retiring.
    struct WorkerInfo {
        uint64 poolId;
        uint32 index;
        bool active;
        bool jailed;
        bool retiring;
        /// @dev When a retiring worker leaves its pool's settlement.
        uint64 retireAt;
        /// @dev The worker's attestation expiry, mirrored from the registry; sampling skips it after.
        uint64 expiresAt;
        /// @dev Set by the router while the worker holds as many unsettled requests as it may:
        /// sampling skips it, so a full worker never takes a draw from one with room.
        bool full;
    }

    /// @dev Commission bounds as set by one governance change.
    struct BoundsPoint {
        uint16 minBps;
        uint16 maxBps;
    }

    /// @dev Weight ranges of drawn pools none of whose workers can serve, taken out of later draws.
    struct DeadRanges {
        uint256[MAX_SAMPLE_DRAWS] start;
        uint256[MAX_SAMPLE_DRAWS] weight;
        uint256 count;
        uint256 total;
    }

    struct SlashSplit {
        uint256 fromBond;
        uint256 fromActive;
        uint256 fromUnbonding;
        uint256 toReporter;
        uint256 toTreasury;
    }

    struct Position {
        uint256 shares;
        uint256 rewardDebt;
        uint256 rewardsOwed;
    }

    modifier onlyRouter() {
        if (msg.sender != router) revert NotRouter(msg.sender);
        _;
    }

    /// @param pha_ The staking token (PHA).
    /// @param registry_ The worker registry consulted for worker ownership.
    /// @param treasury_ Receiver of the treasury share of slashes.
    /// @param params_ Initial governance parameters.
    /// @param initialOwner Governance (may be a timelock).
    constructor(IERC20 pha_, IWorkerRegistry registry_, address treasury_, Params memory params_, address initialOwner)
        Ownable(initialOwner)
    {
        if (address(pha_) == address(0) || address(registry_) == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        pha = pha_;
        registry = registry_;
        treasury = treasury_;
        _setParams(params_);
        emit TreasurySet(treasury_);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the router (the only slasher and the fee source). Owner only.
    /// @dev Refused while the current router has workers marked full: pause it first, and its
    /// pending requests settle (each answer or timeout clears its worker's mark) within its timeout.
    /// @param router_ The new router.
    function setRouter(address router_) external onlyOwner {
        if (router_ == address(0)) revert ZeroAddress();
        if (fullWorkers != 0) revert WorkersMarkedFull(fullWorkers);
        router = router_;
        emit RouterSet(router_);
    }

    /// @notice Sets the treasury. Owner only.
    /// @param treasury_ The new treasury.
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @notice Wires the voting-power ledger, once (a replaced ledger would keep stale votes). Owner only.
    /// @param stakeVotes_ The voting-power ledger.
    function setStakeVotes(IStakeVotes stakeVotes_) external onlyOwner {
        if (address(stakeVotes_) == address(0)) revert ZeroAddress();
        if (address(stakeVotes) != address(0)) revert StakeVotesAlreadySet();
        stakeVotes = stakeVotes_;
        emit StakeVotesSet(address(stakeVotes_));
    }

    /// @notice Sets the mining reserve (zero stops mining; a replaced reserve's unpaid epochs are
    /// not paid). Owner only.
    /// @param miningRewards_ The new mining reserve, or zero.
    function setMiningRewards(address miningRewards_) external onlyOwner {
        miningRewards = miningRewards_;
        emit MiningRewardsSet(miningRewards_);
    }

    /// @notice Replaces all governance parameters at once, within the hard bounds. Owner only.
    /// @dev A new minStakePerWorker or minBondPerWorker applies to a pool's sampling weight at its
    /// next update; call {syncPools} over all pools right after changing it. A lowered commission cap applies at once
    /// and lowers every pool's commission above it for good (persisted at its next settlement);
    /// raising the cap again raises no pool's commission. A raised floor applies to fees earned after
    /// each pool's next settlement.
    /// @param params_ The new parameters.
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @inheritdoc IStakingHub
    function params() external view returns (Params memory) {
        return _params;
    }

    // ---------------------------------------------------------------- operators

    /// @inheritdoc IStakingHub
    function createPool(uint16 commissionBps) external returns (uint256 poolId) {
        _checkCommission(commissionBps);
        poolId = ++poolCount;
        _weights.reserve(poolId - 1);
        Pool storage pool = _pools[poolId];
        pool.operator = msg.sender;
        pool.commissionBps = commissionBps;
        pool.settledBoundsChanges = uint64(_boundsHistory.length);
        emit PoolCreated(poolId, msg.sender, commissionBps);
    }

    /// @inheritdoc IStakingHub
    function setCommission(uint256 poolId, uint16 commissionBps) external {
        Pool storage pool = _operatorPool(poolId);
        _checkCommission(commissionBps);
        // Settles at the rate in force and applies a due change first, so rescheduling never drops it.
        _settlePool(poolId, pool, false);
        uint64 effectiveAt = uint64(block.timestamp + _params.commissionChangeDelay);
        pool.pendingCommissionBps = commissionBps;
        pool.commissionEffectiveAt = effectiveAt;
        emit CommissionChangeScheduled(poolId, commissionBps, effectiveAt);
    }

    /// @inheritdoc IStakingHub
    function addWorker(uint256 poolId, address worker) external {
        Pool storage pool = _operatorPool(poolId);
        IWorkerRegistry.Worker memory record = registry.workerOf(worker);
        if (record.operator != pool.operator) revert WorkerNotOwnedByOperator(worker, pool.operator);
        WorkerInfo storage info = _workers[worker];
        if (info.jailed) revert WorkerIsJailed(worker);
        if (info.poolId != 0 && info.poolId != poolId) revert WorkerBoundToOtherPool(worker, info.poolId);
        if (info.active) revert WorkerAlreadyInPool(worker);
        if (!registry.isActive(worker)) revert WorkerCannotServe(worker);
        if (info.retiring) _dropRetiring(poolId, pool, info);
        uint32 count = pool.workerCount;
        if (count + pool.retiringCount >= MAX_WORKERS_PER_POOL) revert TooManyWorkers(poolId);
        _setWorkerAt(poolId, pool, count, worker);
        _workers[worker] = WorkerInfo({
            poolId: uint64(poolId),
            index: count,
            active: true,
            jailed: false,
            retiring: false,
            retireAt: 0,
            expiresAt: record.expiresAt,
            // The router's word stands: a worker re-added while full stays out of the draw.
            full: info.full
        });
        pool.workerCount = count + 1;
        emit WorkerAdded(poolId, worker);
        _syncWeight(poolId, pool);
    }

    /// @inheritdoc IStakingHub
    function removeWorker(uint256 poolId, address worker) external {
        Pool storage pool = _operatorPool(poolId);
        WorkerInfo storage info = _workers[worker];
        if (info.poolId != poolId || !info.active) revert WorkerNotInPool(worker, poolId);
        _detachWorker(poolId, pool, info);
        emit WorkerRemoved(poolId, worker);
        _syncWeight(poolId, pool);
    }

    /// @notice Pays the pool's accrued commission to its operator. Operator only.
    /// @param poolId The operator's pool.
    /// @return amount PHA wei paid.
    function claimCommission(uint256 poolId) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _operatorPool(poolId);
        amount = pool.commissionAccrued;
        pool.commissionAccrued = 0;
        emit CommissionClaimed(poolId, msg.sender, amount);
        if (amount != 0) pha.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- operator bond

    /// @inheritdoc IStakingHub
    /// @dev Anyone may pay a pool's bond (as {stakeFor}); it is the operator's from then on.
    /// No reentrancy guard: nothing is called before the last line's transfer from the payer.
    function postBond(uint256 poolId, uint256 amount) external {
        Pool storage pool = _existingPool(poolId);
        if (amount == 0) revert ZeroAmount();
        bondOf[poolId] += amount;
        emit BondPosted(poolId, msg.sender, amount);
        _syncWeight(poolId, pool);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakingHub
    /// @dev No unbonding queue is needed: the part that covers work stays. A worker holds at most
    /// maxPendingPerWorker requests, all assigned while it was active, and a removed or jailed one
    /// stays bound (retiring) for RETIRE_DELAY, the longest request timeout, so the minimum of every
    /// worker that may still miss a window or a deadline stays posted; the surplus above it covers
    /// nothing and may leave at once. Call {harvestPool} first to drop workers whose retirement is
    /// over. No reentrancy guard: the bond is written before the only call, the transfer.
    function withdrawBond(uint256 poolId, uint256 amount) external {
        Pool storage pool = _operatorPool(poolId);
        uint256 held = bondOf[poolId];
        uint256 required = _requiredBond(pool);
        if (amount > held || held - amount < required) revert BondBelowMinimum(poolId, held, required);
        bondOf[poolId] = held - amount;
        emit BondWithdrawn(poolId, amount);
        pha.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- stakers

    /// @inheritdoc IStakingHub
    function stake(uint256 poolId, uint256 amount) external nonReentrant returns (uint256 shares) {
        return _stake(poolId, amount, msg.sender);
    }

    /// @inheritdoc IStakingHub
    function stakeFor(uint256 poolId, uint256 amount, address beneficiary)
        external
        nonReentrant
        returns (uint256 shares)
    {
        if (beneficiary == address(0)) revert ZeroAddress();
        return _stake(poolId, amount, beneficiary);
    }

    /// @notice {stake} with an EIP-2612 permit for the transfer. A permit that fails (for example
    /// because someone already submitted it) is ignored; the transfer then needs an allowance.
    /// @param poolId The pool to stake in.
    /// @param amount PHA wei to stake.
    /// @param deadline The permit's deadline (unix seconds).
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    /// @return shares Active shares minted.
    function stakeWithPermit(uint256 poolId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 shares)
    {
        try IERC20Permit(address(pha)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        return _stake(poolId, amount, msg.sender);
    }

    /// @inheritdoc IStakingHub
    function requestWithdrawal(uint256 poolId, uint256 shares) external nonReentrant returns (uint256 requestId) {
        Pool storage pool = _existingPool(poolId);
        Position storage position = _positions[poolId][msg.sender];
        if (shares == 0) revert ZeroAmount();
        if (shares > position.shares) revert InsufficientShares(shares, position.shares);
        _settlePool(poolId, pool, false);
        uint256 amount = _toStake(shares, pool.activeStake, pool.activeShares);
        uint256 unbondingShares = _toShares(amount, pool.unbondingStake, pool.unbondingShares);
        if (unbondingShares == 0) revert ZeroAmount();

        _settleRewards(pool, position);
        position.shares -= shares;
        position.rewardDebt = _rewardDebt(pool, position.shares);
        _tickStakeClock(poolId, pool.activeStake);
        pool.activeStake -= amount;
        pool.activeShares -= shares;
        pool.unbondingStake += amount;
        pool.unbondingShares += unbondingShares;

        requestId = ++withdrawalCount;
        uint64 unlockAt = uint64(block.timestamp + _params.unbondingPeriod);
        _withdrawals[requestId] =
            WithdrawalRequest({owner: msg.sender, poolId: uint64(poolId), unlockAt: unlockAt, shares: unbondingShares});
        emit WithdrawalRequested(requestId, poolId, msg.sender, amount, unbondingShares, unlockAt);
        _syncWeight(poolId, pool);
        _syncVotes(poolId, msg.sender);
    }

    /// @inheritdoc IStakingHub
    function withdraw(uint256 requestId) external nonReentrant returns (uint256 amount) {
        WithdrawalRequest memory request = _withdrawals[requestId];
        if (request.owner == address(0)) revert UnknownWithdrawal(requestId);
        if (request.owner != msg.sender) revert NotWithdrawalOwner(requestId, msg.sender);
        if (block.timestamp < request.unlockAt) revert StillUnbonding(requestId, request.unlockAt);
        Pool storage pool = _pools[request.poolId];
        amount = _toStake(request.shares, pool.unbondingStake, pool.unbondingShares);
        pool.unbondingStake -= amount;
        pool.unbondingShares -= request.shares;
        delete _withdrawals[requestId];
        emit Withdrawn(requestId, request.poolId, msg.sender, amount);
        if (amount != 0) pha.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStakingHub
    function claimRewards(uint256 poolId) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _existingPool(poolId);
        Position storage position = _positions[poolId][msg.sender];
        _settleRewards(pool, position);
        position.rewardDebt = _rewardDebt(pool, position.shares);
        amount = position.rewardsOwed;
        position.rewardsOwed = 0;
        emit RewardsClaimed(poolId, msg.sender, amount);
        if (amount != 0) pha.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- rewards

    /// @inheritdoc IStakingHub
    function harvest(address worker) external nonReentrant returns (uint256 amount) {
        uint256 poolId = _workers[worker].poolId;
        if (poolId == 0) revert UnknownWorker(worker);
        if (router == address(0)) revert RouterNotSet();
        return _settlePool(poolId, _pools[poolId], true);
    }

    /// @inheritdoc IStakingHub
    function harvestPool(uint256 poolId) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _existingPool(poolId);
        if (router == address(0)) revert RouterNotSet();
        return _settlePool(poolId, pool, true);
    }

    /// @inheritdoc IStakingHub
    function syncWorkers(address[] calldata workers) external {
        for (uint256 i; i < workers.length; ++i) {
            address worker = workers[i];
            WorkerInfo storage info = _workers[worker];
            if (!info.active) continue;
            uint256 poolId = info.poolId;
            if (registry.isActive(worker)) {
                uint64 expiresAt = registry.workerOf(worker).expiresAt;
                if (expiresAt != info.expiresAt) {
                    info.expiresAt = expiresAt;
                    emit WorkerExpirySynced(worker, expiresAt);
                }
            } else {
                Pool storage pool = _pools[poolId];
                _detachWorker(poolId, pool, info);
                emit WorkerSuspended(poolId, worker);
                _syncWeight(poolId, pool);
            }
        }
    }

    // ---------------------------------------------------------------- router

    /// @inheritdoc IWorkerStaking
    /// @dev Only workers whose attestation is still valid and that are not full ({setWorkerFull})
    /// are returned. Within the drawn pool the draw moves on to the next worker until one can serve.
    /// A pool with none (its workers expired since anyone last called {syncWorkers}, or all full) is
    /// taken out of the draw and the draw repeated over the remaining weight, so such pools cost
    /// extra draws but never starve the others: only more than MAX_SAMPLE_DRAWS of them, all drawn,
    /// exhaust the call (it then returns the last worker tried, which the router rejects and draws
    /// again). Revocations reach sampling through
    /// {syncWorkers}; the router re-checks every sampled worker against the registry anyway.
    function sampleWorker(uint256 seed) external view returns (address) {
        return _sample(seed, StakeSumTree.CURRENT);
    }

    /// @inheritdoc IWorkerStaking
    /// @dev {sampleWorker} over the pools' weights at the start of `asOf`'s day, which no stake move
    /// after `asOf` changes (see {StakeSumTree}); zero once that is more than a day ago. A pool
    /// created since weighs 0. Full marks are ignored: they guard pending slots, which a backup does
    /// not take, and a requester could set them on honest workers.
    function sampleWorkerAt(uint256 seed, uint256 asOf) external view returns (address) {
        (uint256 period, bool readable) = StakeSumTree.periodOf(asOf);
        return readable ? _sample(seed, period) : address(0);
    }

    /// @dev Both samplers: a pool drawn without a servable worker is taken out of the draw (as a dead
    /// range of its weight at `period`) and the draw repeated over the remaining weight.
    function _sample(uint256 seed, uint256 period) private view returns (address worker) {
        uint256 total = _weights.totalAt(period);
        if (total == 0) return address(0);
        DeadRanges memory dead;
        for (uint256 draw; draw < MAX_SAMPLE_DRAWS && dead.total < total; ++draw) {
            uint256 live = total - dead.total;
            uint256 target = _skipDead(dead, seed % live);
            (uint256 leaf, uint256 offset, uint256 weight) = _weights.find(target, period);
            bool servable;
            // The high part of the seed picks uniformly within the pool.
            (servable, worker) = _servableWorker(leaf + 1, seed / live, period != StakeSumTree.CURRENT);
            if (servable) return worker;
            _addDead(dead, target - offset, weight);
            seed = uint256(keccak256(abi.encode(seed, draw)));
        }
    }

    /// @inheritdoc IWorkerStaking
    function setWorkerFull(address worker, bool full) external onlyRouter {
        WorkerInfo storage info = _workers[worker];
        if (info.full == full) return;
        info.full = full;
        // Unchecked: a mark is counted once when set and once when cleared (the line above), and
        // there are fewer workers than 2^96.
        unchecked {
            if (full) ++fullWorkers;
            else --fullWorkers;
        }
    }

    /// @inheritdoc IWorkerStaking
    function isEligible(address worker) external view returns (bool) {
        WorkerInfo memory info = _workers[worker];
        return info.active && info.expiresAt >= block.timestamp && _pools[info.poolId].weight != 0;
    }

    /// @inheritdoc IWorkerStaking
    function slashForTimeout(address worker, uint256 requestId, uint256 amount, address reporter, uint256 reporterReward)
        external
        onlyRouter
        nonReentrant
        returns (uint256 slashed)
    {
        uint256 poolId = _workers[worker].poolId;
        if (poolId == 0) return 0;
        return _slash(poolId, worker, requestId, SlashKind.Timeout, amount, reporter, reporterReward);
    }

    /// @inheritdoc IWorkerStaking
    /// @dev Also jails the worker here: it leaves sampling for good and can never be bound again.
    function slashForEquivocation(address worker, uint256 requestId, address reporter, uint256 reporterReward)
        external
        onlyRouter
        nonReentrant
        returns (uint256 slashed)
    {
        WorkerInfo storage info = _workers[worker];
        info.jailed = true;
        uint256 poolId = info.poolId;
        if (poolId == 0) return 0;
        Pool storage pool = _pools[poolId];
        if (info.active) _detachWorker(poolId, pool, info);
        emit WorkerJailed(poolId, worker, requestId);
        uint256 amount = Math.mulDiv(pool.activeStake + pool.unbondingStake, _params.equivocationSlashBps, BPS);
        slashed = _slash(poolId, worker, requestId, SlashKind.Equivocation, amount, reporter, reporterReward);
        // _slash returns before syncing when nothing was slashed; the worker count changed regardless.
        if (slashed == 0) _syncWeight(poolId, pool);
    }

    /// @notice Recomputes the sampling weight of each listed pool (anyone; needed after a change of
    /// minStakePerWorker, which cannot loop over all pools itself).
    /// @param poolIds Pools to update.
    function syncPools(uint256[] calldata poolIds) external {
        for (uint256 i; i < poolIds.length; ++i) {
            _syncWeight(poolIds[i], _existingPool(poolIds[i]));
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The full state of pool `poolId` (zero operator if unknown).
    /// @param poolId The pool.
    /// @return The pool.
    function poolState(uint256 poolId) external view returns (Pool memory) {
        return _pools[poolId];
    }

    /// @notice The highest commission fees `poolId` earns now can be charged (a later fall lowers it).
    /// @param poolId The pool.
    /// @return Commission, bps.
    function commissionOf(uint256 poolId) external view returns (uint16) {
        return _settlementCommission(_pools[poolId]);
    }


    /// @notice The active workers of `poolId`.
    /// @param poolId The pool.
    /// @return workers Its active workers.
    function poolWorkers(uint256 poolId) external view returns (address[] memory workers) {
        Pool storage pool = _pools[poolId];
        uint256 count = pool.workerCount;
        workers = new address[](count);
        for (uint256 i; i < count; ++i) {
            workers[i] = _workerAt(poolId, pool, i);
        }
    }

    /// @notice The pool `worker` is bound to (0 if none), whether it is sampled now, whether it is
    /// jailed, and whether its late fees are still settled with the pool (removed or jailed within
    /// RETIRE_DELAY; pool.retiringCount counts them).
    /// @param worker The worker.
    /// @return poolId Its pool, 0 if none.
    /// @return active Whether it is sampled now.
    /// @return jailed Whether it is jailed.
    /// @return retiring Whether its late fees are still settled with the pool.
    function workerInfo(address worker) external view returns (uint256 poolId, bool active, bool jailed, bool retiring) {
        WorkerInfo memory info = _workers[worker];
        return (info.poolId, info.active, info.jailed, info.retiring);
    }


    /// @notice Sum of all pools' sampling weights (eligible active stake in WEIGHT_UNITs).
    /// @return The total weight, WEIGHT_UNITs.
    function totalWeight() external view returns (uint256) {
        return _weights.total();
    }

    /// @inheritdoc IStakingHub
    function stakeSeconds(uint256 poolId) external view returns (uint256) {
        StakeClock memory clock = _stakeClocks[poolId];
        return clock.stakeSeconds + _pools[poolId].activeStake * (block.timestamp - clock.at);
    }

    /// @inheritdoc IStakingHub
    function stakeOf(uint256 poolId, address account) external view returns (uint256) {
        return _stakeOf(poolId, account);
    }

    /// @inheritdoc IStakingHub
    function positionValue(uint256 poolId, address account) external view returns (uint256) {
        return _stakeOf(poolId, account) + _pendingRewards(poolId, account);
    }

    /// @inheritdoc IStakingHub
    function sharesOf(uint256 poolId, address account) external view returns (uint256) {
        return _positions[poolId][account].shares;
    }

    /// @inheritdoc IStakingHub
    function pendingRewards(uint256 poolId, address account) external view returns (uint256) {
        return _pendingRewards(poolId, account);
    }

    function _stakeOf(uint256 poolId, address account) private view returns (uint256) {
        Pool storage pool = _pools[poolId];
        return _toStake(_positions[poolId][account].shares, pool.activeStake, pool.activeShares);
    }

    function _pendingRewards(uint256 poolId, address account) private view returns (uint256) {
        Position storage position = _positions[poolId][account];
        uint256 accrued = Math.mulDiv(position.shares, _pools[poolId].rewardPerShare, REWARD_PRECISION);
        uint256 unsettled = accrued > position.rewardDebt ? accrued - position.rewardDebt : 0;
        return position.rewardsOwed + unsettled;
    }

    /// @inheritdoc IStakingHub
    function withdrawalValue(uint256 requestId) external view returns (uint256) {
        WithdrawalRequest storage request = _withdrawals[requestId];
        Pool storage pool = _pools[request.poolId];
        return _toStake(request.shares, pool.unbondingStake, pool.unbondingShares);
    }

    /// @inheritdoc IStakingHub
    function unbondingValue(uint256 poolId, uint256 shares) external view returns (uint256) {
        Pool storage pool = _pools[poolId];
        return _toStake(shares, pool.unbondingStake, pool.unbondingShares);
    }

    /// @inheritdoc IStakingHub
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory) {
        return _withdrawals[requestId];
    }

    /// @inheritdoc IStakingHub
    function sharesForStake(uint256 poolId, uint256 amount) external view returns (uint256) {
        Pool storage pool = _pools[poolId];
        return Math.mulDiv(amount, pool.activeShares + 1, pool.activeStake + 1, Math.Rounding.Ceil);
    }

    // ---------------------------------------------------------------- internals

    function _stake(uint256 poolId, uint256 amount, address beneficiary) private returns (uint256 shares) {
        Pool storage pool = _existingPool(poolId);
        _settlePool(poolId, pool, false);
        shares = _toShares(amount, pool.activeStake, pool.activeShares);
        if (shares == 0) revert ZeroAmount();
        Position storage position = _positions[poolId][beneficiary];
        _settleRewards(pool, position);
        position.shares += shares;
        position.rewardDebt = _rewardDebt(pool, position.shares);
        _tickStakeClock(poolId, pool.activeStake);
        pool.activeStake += amount;
        pool.activeShares += shares;
        emit Staked(poolId, msg.sender, beneficiary, amount, shares);
        _syncWeight(poolId, pool);
        _syncVotes(poolId, beneficiary);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Pulls the fees of every active and retiring worker from the router and distributes them
    /// over the current shares at the rate fixed at the last settlement (or a lower one now in force);
    /// only then does a due commission change or raised bound take effect, for fees earned after.
    /// Credits the balance actually received, not what the router reports, so a faulty router cannot
    /// create unbacked rewards. A router that refuses (e.g. after being replaced) leaves its fees where
    /// they are rather than blocking stakes and withdrawals; a collection starved of gas by the caller
    /// reverts the whole call instead, so no one can skip the settlement by choosing the gas limit.
    /// `harvested` (an explicit harvest, anyone's) also asks the mining reserve for a reward due with
    /// no fees to report, so a pool that stops earning is still paid for its last epoch of work.
    function _settlePool(uint256 poolId, Pool storage pool, bool harvested) private returns (uint256 amount) {
        address router_ = router;
        if (router_ != address(0)) {
            uint256 balanceBefore = _balance();
            // The work of those fees in the mining epoch now and in the one before (the rest is older).
            uint256[2] memory work;
            uint256 count = pool.workerCount;
            for (uint256 i; i < count; ++i) {
                _collect(router_, _workerAt(poolId, pool, i), work);
            }
            for (uint256 i = pool.retiringCount; i > 0; --i) {
                address worker = _retiringWorkers[poolId][i - 1];
                _collect(router_, worker, work);
                WorkerInfo storage info = _workers[worker];
                // Strictly after: a fulfilment in the retirement block itself may still pay this worker.
                if (block.timestamp > info.retireAt) {
                    _dropRetiring(poolId, pool, info);
                    emit WorkerRetired(poolId, worker);
                }
            }
            amount = _balance() - balanceBefore;
            // The reserve records these fees as the pool's work in the epochs the router did it and
            // pays any reward due into this same distribution. Like a router refusal, its failure
            // costs the pool the reward but blocks nothing. Read only when there are fees or on a
            // harvest: the idle settlements of stakes and withdrawal requests stay as cheap. The work
            // reported is never more than the fees received.
            address mining = amount != 0 || harvested ? miningRewards : address(0);
            if (mining != address(0)) {
                uint256 previous = Math.min(work[1], amount);
                uint256 current = Math.min(work[0], amount - previous);
                _settlementCall(
                    mining, abi.encodeCall(IMiningRewards.onFeesSettled, (poolId, current, previous, pool.lastFaultAt))
                );
                amount = _balance() - balanceBefore;
            }
        }

        if (amount != 0) {
            uint256 commission = pool.activeShares == 0
                ? amount
                : Math.mulDiv(amount, _settlementCommission(pool), BPS);
            uint256 toStakers = amount - commission;
            pool.commissionAccrued += commission;
            if (toStakers != 0) {
                pool.rewardPerShare += Math.mulDiv(toStakers, REWARD_PRECISION, pool.activeShares);
                // Wrapping by design (see IStakingHub.Pool.netRewards): the truncating cast is the modulo.
                unchecked {
                    pool.netRewards += uint96(toStakers);
                }
            }
            emit RewardsDistributed(poolId, amount, commission);
        }
        _applyDueCommission(poolId, pool);
        // A narrowed cap lowers the operator's commission for good: widening the bounds again never
        // raises it; the operator has to schedule a raise, which waits the commission delay.
        (, uint16 cap) = _lowestBoundsSince(pool.settledBoundsChanges);
        if (pool.commissionBps > cap) pool.commissionBps = cap;
        if (pool.pendingCommissionBps > cap) pool.pendingCommissionBps = cap;
        pool.settledBoundsChanges = uint64(_boundsHistory.length);
    }

    /// @dev The rate for fees earned since the pool's last settlement. The pool's rate at any moment
    /// since was clamp(its commission, floor, cap) then, which is monotone in all three, so clamping
    /// the lowest commission by the lowest floor and cap in force since gives a rate that no fee of
    /// the interval was earned under a lower rate than: a due raise or a raised floor reaches only
    /// fees earned after the settlement that follows it, a fall reaches all unsettled fees.
    function _settlementCommission(Pool storage pool) private view returns (uint16 commission) {
        commission = pool.commissionBps;
        uint64 effectiveAt = pool.commissionEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt && pool.pendingCommissionBps < commission) {
            commission = pool.pendingCommissionBps;
        }
        (uint16 floor, uint16 cap) = _lowestBoundsSince(pool.settledBoundsChanges);
        if (commission < floor) commission = floor;
        if (commission > cap) commission = cap;
    }

    /// @dev The lowest floor and cap in force since the pool's last settlement, which saw the first
    /// `seen` bound changes. Looks back at most BOUNDS_LOOKBACK changes; a pool left unsettled through
    /// more is charged no commission at its next settlement and keeps none (safe for stakers; anyone
    /// can settle any pool at any time).
    function _lowestBoundsSince(uint256 seen) private view returns (uint16 floor, uint16 cap) {
        (floor, cap) = (type(uint16).max, type(uint16).max);
        uint256 length = _boundsHistory.length;
        if (length - seen >= BOUNDS_LOOKBACK) return (0, 0);
        for (uint256 i = seen == 0 ? 0 : seen - 1; i < length; ++i) {
            BoundsPoint memory point = _boundsHistory[i];
            if (point.minBps < floor) floor = point.minBps;
            if (point.maxBps < cap) cap = point.maxBps;
        }
    }

    function _balance() private view returns (uint256) {
        return pha.balanceOf(address(this));
    }

    /// @dev Collects `worker`'s fees and adds the work the router reports for the epoch now and the
    /// one before to `work[0]` and `work[1]`. Reads at most those three return words (none from a
    /// refusal or a shorter answer), so a router cannot make the hub pay for a large return.
    function _collect(address router_, address worker, uint256[2] memory work) private {
        bytes memory data = abi.encodeCall(IAgentRouter.collectWorkerFees, (worker));
        uint256 gasBefore = gasleft();
        bool ok;
        uint256 current;
        uint256 previous;
        assembly ("memory-safe") {
            let out := mload(0x40)
            ok := call(gas(), router_, 0, add(data, 0x20), mload(data), out, 0x60)
            if and(ok, iszero(lt(returndatasize(), 0x60))) {
                current := mload(add(out, 0x20))
                previous := mload(add(out, 0x40))
            }
        }
        if (!ok && gasleft() <= gasBefore / 64) revert FeeCollectionOutOfGas();
        // Saturating: a faulty router's huge words only meet the cap by the fees received, never revert.
        work[0] = Math.saturatingAdd(work[0], current);
        work[1] = Math.saturatingAdd(work[1], previous);
    }

    /// @dev A call whose failure settlement survives (the callee's loss), unless the caller starved
    /// it: all forwarded gas used up means the caller chose the gas limit (EIP-150 leaves 1/64 here).
    /// Return data is never copied, so a callee cannot make the hub pay for it.
    function _settlementCall(address target, bytes memory data) private {
        uint256 gasBefore = gasleft();
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!ok && gasleft() <= gasBefore / 64) revert FeeCollectionOutOfGas();
    }

    /// @dev Takes `amount` (at most everything) first from the operator's bond, only the rest from the pool's active plus unbonding stake, from each in proportion, and
    /// pays `reporterReward` of it to the reporter (none to a zero address) and the rest to the
    /// treasury. Every fault of a pool's worker is its operator's (its host, its key, its uptime), so
    /// its bond pays before any delegator: an operator cannot gain from its own fault at its
    /// delegators' expense (review s25 F2). Nobody else is paid: a party able to cause the fault (the
    /// operator, a requester colluding with it) could otherwise profit from it.
    function _slash(
        uint256 poolId,
        address worker,
        uint256 requestId,
        SlashKind kind,
        uint256 amount,
        address reporter,
        uint256 reporterReward
    ) private returns (uint256 slashed) {
        Pool storage pool = _pools[poolId];
        pool.lastFaultAt = uint64(block.timestamp);
        SlashSplit memory split;
        uint256 bond = bondOf[poolId];
        split.fromBond = Math.min(amount, bond);
        if (split.fromBond != 0) bondOf[poolId] = bond - split.fromBond;
        uint256 active = pool.activeStake;
        uint256 stakeTotal = active + pool.unbondingStake;
        uint256 fromStake = Math.min(amount - split.fromBond, stakeTotal);
        slashed = split.fromBond + fromStake;
        if (slashed == 0) return 0;
        if (fromStake != 0) {
            split.fromActive = Math.mulDiv(fromStake, active, stakeTotal);
            split.fromUnbonding = fromStake - split.fromActive;
            _tickStakeClock(poolId, active);
            pool.activeStake = active - split.fromActive;
            pool.unbondingStake -= split.fromUnbonding;
            // Wrapping by design (see IStakingHub.Pool.netRewards).
            unchecked {
                pool.netRewards -= uint96(split.fromActive);
            }
        }

        if (reporter != address(0)) split.toReporter = Math.min(reporterReward, slashed);
        split.toTreasury = slashed - split.toReporter;
        emit Slashed(
            poolId,
            worker,
            requestId,
            kind,
            split.fromBond,
            split.fromActive,
            split.fromUnbonding,
            split.toReporter,
            split.toTreasury
        );
        _syncWeight(poolId, pool);

        if (split.toReporter != 0) pha.safeTransfer(reporter, split.toReporter);
        if (split.toTreasury != 0) pha.safeTransfer(treasury, split.toTreasury);
    }

    /// @dev A pool is sampled, with weight = active stake in WEIGHT_UNITs, while it has workers, at
    /// least minStakePerWorker of stake per worker and its required operator bond ({_requiredBond});
    /// otherwise its weight is zero (neither drawn as a primary nor as a backup).
    function _syncWeight(uint256 poolId, Pool storage pool) private {
        uint256 count = pool.workerCount;
        uint256 active = pool.activeStake;
        uint256 weight = count != 0 && active >= uint256(_params.minStakePerWorker) * count
            && bondOf[poolId] >= _requiredBond(pool) ? active / WEIGHT_UNIT : 0;
        uint256 previous = pool.weight;
        if (weight == previous) return;
        _weights.update(poolId - 1, previous, weight);
        // Fits: the tree reverts on totals above 2^24-1.
        pool.weight = uint48(weight);
        emit PoolWeightUpdated(poolId, weight);
    }

    /// @dev The operator bond a pool must hold: minBondPerWorker for each worker that may still miss
    /// a window or a deadline, active or retiring.
    function _requiredBond(Pool storage pool) private view returns (uint256) {
        return uint256(_params.minBondPerWorker) * (pool.workerCount + pool.retiringCount);
    }

    /// @dev Marks `account`'s votes for the pool to its stake now (unbonding stake does not vote).
    function _syncVotes(uint256 poolId, address account) private {
        IStakeVotes votes = stakeVotes;
        if (address(votes) != address(0)) votes.sync(poolId, account);
    }

    /// @dev The first worker of `poolId` from index `pick % count` on whose attestation has not
    /// expired and that is not full (unless `ignoreFull`), or (false, the last one tried). A pool may
    /// have weight at a past period's start and no workers now.
    function _servableWorker(uint256 poolId, uint256 pick, bool ignoreFull) private view returns (bool, address worker) {
        Pool storage pool = _pools[poolId];
        uint256 count = pool.workerCount;
        if (count == 0) return (false, address(0));
        uint256 start = pick % count;
        for (uint256 i; i < count; ++i) {
            worker = _workerAt(poolId, pool, (start + i) % count);
            WorkerInfo storage info = _workers[worker];
            if (info.expiresAt >= block.timestamp && (ignoreFull || !info.full)) return (true, worker);
        }
        return (false, worker);
    }

    /// @dev Maps a draw over the live weight onto the tree, stepping over the dead ranges (ascending).
    function _skipDead(DeadRanges memory dead, uint256 target) private pure returns (uint256) {
        for (uint256 i; i < dead.count && target >= dead.start[i]; ++i) {
            target += dead.weight[i];
        }
        return target;
    }

    /// @dev Inserts a dead pool's weight range, keeping the ranges sorted by start.
    function _addDead(DeadRanges memory dead, uint256 start, uint256 weight) private pure {
        uint256 at = dead.count;
        while (at != 0 && dead.start[at - 1] > start) {
            dead.start[at] = dead.start[at - 1];
            dead.weight[at] = dead.weight[at - 1];
            --at;
        }
        dead.start[at] = start;
        dead.weight[at] = weight;
        ++dead.count;
        dead.total += weight;
    }

    /// @dev Moves an active worker to the pool's retiring list: it leaves sampling at once, and the
    /// fees it may still earn on requests it already holds are settled with the pool until retireAt.
    function _detachWorker(uint256 poolId, Pool storage pool, WorkerInfo storage info) private {
        uint32 last = pool.workerCount - 1;
        uint32 index = info.index;
        address worker = _workerAt(poolId, pool, index);
        if (index != last) {
            address moved = _workerAt(poolId, pool, last);
            _setWorkerAt(poolId, pool, index, moved);
            _workers[moved].index = index;
        }
        _setWorkerAt(poolId, pool, last, address(0));
        pool.workerCount = last;
        uint32 retiring = pool.retiringCount;
        _retiringWorkers[poolId][retiring] = worker;
        pool.retiringCount = retiring + 1;
        info.active = false;
        info.retiring = true;
        info.index = retiring;
        info.retireAt = uint64(block.timestamp + RETIRE_DELAY);
    }

    function _dropRetiring(uint256 poolId, Pool storage pool, WorkerInfo storage info) private {
        uint32 last = pool.retiringCount - 1;
        uint32 index = info.index;
        if (index != last) {
            address moved = _retiringWorkers[poolId][last];
            _retiringWorkers[poolId][index] = moved;
            _workers[moved].index = index;
        }
        delete _retiringWorkers[poolId][last];
        pool.retiringCount = last;
        info.retiring = false;
    }

    function _workerAt(uint256 poolId, Pool storage pool, uint256 index) private view returns (address) {
        return index == 0 ? pool.firstWorker : _poolWorkers[poolId][index];
    }

    function _setWorkerAt(uint256 poolId, Pool storage pool, uint256 index, address worker) private {
        if (index == 0) pool.firstWorker = worker;
        else _poolWorkers[poolId][index] = worker;
    }

    /// @dev Integrates the pool's active stake up to now; call before every change of it, with its
    /// value until now. A pool's first tick (its first stake) integrates zero.
    function _tickStakeClock(uint256 poolId, uint256 activeStake) private {
        StakeClock storage clock = _stakeClocks[poolId];
        uint256 elapsed = block.timestamp - clock.at;
        if (elapsed == 0) return;
        clock.stakeSeconds += uint192(activeStake * elapsed);
        clock.at = uint64(block.timestamp);
    }

    function _settleRewards(Pool storage pool, Position storage position) private {
        uint256 accrued = Math.mulDiv(position.shares, pool.rewardPerShare, REWARD_PRECISION);
        uint256 debt = position.rewardDebt;
        if (accrued > debt) position.rewardsOwed += accrued - debt;
    }

    /// @dev Rounded up, so that a staker's credited rewards never exceed their exact share.
    function _rewardDebt(Pool storage pool, uint256 shares) private view returns (uint256) {
        return Math.mulDiv(shares, pool.rewardPerShare, REWARD_PRECISION, Math.Rounding.Ceil);
    }

    function _applyDueCommission(uint256 poolId, Pool storage pool) private {
        uint64 effectiveAt = pool.commissionEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) {
            pool.commissionBps = pool.pendingCommissionBps;
            pool.pendingCommissionBps = 0;
            pool.commissionEffectiveAt = 0;
            emit CommissionChangeApplied(poolId, pool.commissionBps);
        }
    }

    function _checkCommission(uint16 commissionBps) private view {
        uint16 minBps = _params.minCommissionBps;
        uint16 maxBps = _params.maxCommissionBps;
        if (commissionBps < minBps || commissionBps > maxBps) {
            revert CommissionOutOfBounds(commissionBps, minBps, maxBps);
        }
    }

    function _setParams(Params memory p) private {
        if (
            p.minStakePerWorker < WEIGHT_UNIT || p.minStakePerWorker > MAX_MIN_STAKE_PER_WORKER
                || p.unbondingPeriod < MIN_UNBONDING_PERIOD || p.unbondingPeriod > MAX_UNBONDING_PERIOD
                || p.commissionChangeDelay < MIN_COMMISSION_CHANGE_DELAY
                || p.commissionChangeDelay > MAX_COMMISSION_CHANGE_DELAY
                || p.equivocationSlashBps > MAX_EQUIVOCATION_SLASH_BPS || p.minCommissionBps > p.maxCommissionBps
                || p.maxCommissionBps > BPS || p.minBondPerWorker > MAX_MIN_BOND_PER_WORKER
        ) revert InvalidParams();
        if (
            _boundsHistory.length == 0 || p.maxCommissionBps != _params.maxCommissionBps
                || p.minCommissionBps != _params.minCommissionBps
        ) _boundsHistory.push(BoundsPoint({minBps: p.minCommissionBps, maxBps: p.maxCommissionBps}));
        _params = p;
        emit ParamsUpdated(p);
    }

    function _existingPool(uint256 poolId) private view returns (Pool storage pool) {
        pool = _pools[poolId];
        if (pool.operator == address(0)) revert UnknownPool(poolId);
    }

    function _operatorPool(uint256 poolId) private view returns (Pool storage pool) {
        pool = _existingPool(poolId);
        if (pool.operator != msg.sender) revert NotPoolOperator(poolId, msg.sender);
    }

    /// @dev Share-pool conversions with one virtual share and one virtual wei of stake: no division
    /// by zero when a pool is emptied by slashes, and both directions round down (protocol's favour).
    function _toShares(uint256 amount, uint256 stakeTotal, uint256 sharesTotal) private pure returns (uint256) {
        return Math.mulDiv(amount, sharesTotal + 1, stakeTotal + 1);
    }

    function _toStake(uint256 shares, uint256 stakeTotal, uint256 sharesTotal) private pure returns (uint256) {
        return Math.mulDiv(shares, stakeTotal + 1, sharesTotal + 1);
    }
}
