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
import {IStakingHub} from "./IStakingHub.sol";
import {StakeSumTree} from "./StakeSumTree.sol";

/// @title StakingHub
/// @notice Every stake pool in one contract: operators run pools and bind their workers, anyone
/// delegates PHA for pool shares, worker fees become commission plus pro-rata rewards, withdrawals
/// unbond in a slashable queue, and the router samples workers by stake and slashes them for faults.
/// @dev Gas never depends on the number of stakers: rewards use a reward-per-share accumulator, and
/// each pool's active stake and unbonding queue are share pools whose exchange rates absorb slashes.
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
    /// @notice Bound on workers per pool, keeping {harvestPool} and {poolWorkers} loops bounded.
    uint256 public constant MAX_WORKERS_PER_POOL = 64;
    /// @notice Hard caps and floors on governance parameters.
    uint256 public constant MAX_EQUIVOCATION_SLASH_BPS = 5_000;
    uint256 public constant MIN_UNBONDING_PERIOD = 1 days;
    uint256 public constant MAX_UNBONDING_PERIOD = 90 days;
    uint256 public constant MIN_COMMISSION_CHANGE_DELAY = 1 days;
    uint256 public constant MAX_COMMISSION_CHANGE_DELAY = 30 days;
    uint256 public constant MAX_MIN_STAKE_PER_WORKER = 100_000_000 ether;

    /// @notice The staking and fee token.
    IERC20 public immutable pha;
    /// @notice Where workers and their operators are registered.
    IWorkerRegistry public immutable registry;
    /// @notice The only caller of the slash functions and the source of worker fees.
    address public router;
    /// @notice Receives the part of slashed PHA not paid to reporters and wronged parties.
    address public treasury;
    /// @notice Number of pools created; pool ids run from 1 to poolCount.
    uint256 public poolCount;
    /// @notice Number of withdrawal requests ever made; ids run from 1.
    uint256 public withdrawalCount;

    Params private _params;
    StakeSumTree.Tree private _weights;
    mapping(uint256 poolId => Pool) private _pools;
    /// @dev Workers at index 1 and up; index 0 lives in Pool.firstWorker.
    mapping(uint256 poolId => mapping(uint256 index => address)) private _poolWorkers;
    mapping(address worker => WorkerInfo) private _workers;
    mapping(uint256 poolId => mapping(address account => Position)) private _positions;
    mapping(uint256 requestId => WithdrawalRequest) private _withdrawals;

    /// @dev One slot. A worker stays bound to its pool after removal so late faults still slash it.
    struct WorkerInfo {
        uint64 poolId;
        uint32 index;
        bool active;
        bool jailed;
    }

    struct SlashSplit {
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
    function setRouter(address router_) external onlyOwner {
        if (router_ == address(0)) revert ZeroAddress();
        router = router_;
        emit RouterSet(router_);
    }

    /// @notice Sets the treasury. Owner only.
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @notice Replaces all governance parameters at once, within the hard bounds. Owner only.
    /// @dev A new minStakePerWorker applies to a pool's sampling weight at its next update; call
    /// {syncPools} over all pools right after changing it.
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @notice Current governance parameters.
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
        emit PoolCreated(poolId, msg.sender, commissionBps);
    }

    /// @inheritdoc IStakingHub
    function setCommission(uint256 poolId, uint16 commissionBps) external {
        Pool storage pool = _operatorPool(poolId);
        _checkCommission(commissionBps);
        _applyDueCommission(poolId, pool);
        uint64 effectiveAt = uint64(block.timestamp + _params.commissionChangeDelay);
        pool.pendingCommissionBps = commissionBps;
        pool.commissionEffectiveAt = effectiveAt;
        emit CommissionChangeScheduled(poolId, commissionBps, effectiveAt);
    }

    /// @inheritdoc IStakingHub
    function addWorker(uint256 poolId, address worker) external {
        Pool storage pool = _operatorPool(poolId);
        if (registry.operatorOf(worker) != pool.operator) revert WorkerNotOwnedByOperator(worker, pool.operator);
        WorkerInfo storage info = _workers[worker];
        if (info.jailed) revert WorkerIsJailed(worker);
        if (info.poolId != 0 && info.poolId != poolId) revert WorkerBoundToOtherPool(worker, info.poolId);
        if (info.active) revert WorkerAlreadyInPool(worker);
        uint32 count = pool.workerCount;
        if (count >= MAX_WORKERS_PER_POOL) revert TooManyWorkers(poolId);
        _setWorkerAt(poolId, pool, count, worker);
        _workers[worker] = WorkerInfo({poolId: uint64(poolId), index: count, active: true, jailed: false});
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
    function claimCommission(uint256 poolId) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _operatorPool(poolId);
        amount = pool.commissionAccrued;
        pool.commissionAccrued = 0;
        emit CommissionClaimed(poolId, msg.sender, amount);
        if (amount != 0) pha.safeTransfer(msg.sender, amount);
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
        uint256 amount = _toStake(shares, pool.activeStake, pool.activeShares);
        uint256 unbondingShares = _toShares(amount, pool.unbondingStake, pool.unbondingShares);
        if (unbondingShares == 0) revert ZeroAmount();

        _settleRewards(pool, position);
        position.shares -= shares;
        position.rewardDebt = _rewardDebt(pool, position.shares);
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
        return _harvest(poolId, worker);
    }

    /// @notice Harvests every active worker of `poolId` (at most MAX_WORKERS_PER_POOL).
    /// @dev Removed or jailed workers keep accruing late fees; harvest them one by one with {harvest}.
    function harvestPool(uint256 poolId) external nonReentrant returns (uint256 total) {
        uint256 count = _existingPool(poolId).workerCount;
        for (uint256 i; i < count; ++i) {
            total += _harvest(poolId, _workerAt(poolId, _pools[poolId], i));
        }
    }

    // ---------------------------------------------------------------- router

    /// @inheritdoc IWorkerStaking
    function sampleWorker(uint256 seed) external view returns (address worker) {
        (uint256 leaf, uint256 weightSum) = _weights.sample(seed);
        if (weightSum == 0) return address(0);
        uint256 poolId = leaf + 1;
        // The high part of the seed picks uniformly within the pool (weight > 0 implies workers).
        Pool storage pool = _pools[poolId];
        return _workerAt(poolId, pool, (seed / weightSum) % pool.workerCount);
    }

    /// @inheritdoc IWorkerStaking
    function isEligible(address worker) external view returns (bool) {
        WorkerInfo memory info = _workers[worker];
        return info.active && _pools[info.poolId].weight != 0;
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
    function syncPools(uint256[] calldata poolIds) external {
        for (uint256 i; i < poolIds.length; ++i) {
            _syncWeight(poolIds[i], _existingPool(poolIds[i]));
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The full state of pool `poolId` (zero operator if unknown).
    function poolState(uint256 poolId) external view returns (Pool memory) {
        return _pools[poolId];
    }

    /// @notice The commission that applies to the next reward of `poolId`.
    function commissionOf(uint256 poolId) external view returns (uint16) {
        return _effectiveCommission(_pools[poolId]);
    }

    /// @notice The active workers of `poolId`.
    function poolWorkers(uint256 poolId) external view returns (address[] memory workers) {
        Pool storage pool = _pools[poolId];
        uint256 count = pool.workerCount;
        workers = new address[](count);
        for (uint256 i; i < count; ++i) {
            workers[i] = _workerAt(poolId, pool, i);
        }
    }

    /// @notice The pool `worker` is bound to (0 if none), whether it is sampled now, and whether it is jailed.
    function workerInfo(address worker) external view returns (uint256 poolId, bool active, bool jailed) {
        WorkerInfo memory info = _workers[worker];
        return (info.poolId, info.active, info.jailed);
    }

    /// @notice Sum of all pools' sampling weights (eligible active stake in WEIGHT_UNITs).
    function totalWeight() external view returns (uint256) {
        return _weights.total();
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
        shares = _toShares(amount, pool.activeStake, pool.activeShares);
        if (shares == 0) revert ZeroAmount();
        Position storage position = _positions[poolId][beneficiary];
        _settleRewards(pool, position);
        position.shares += shares;
        position.rewardDebt = _rewardDebt(pool, position.shares);
        pool.activeStake += amount;
        pool.activeShares += shares;
        emit Staked(poolId, msg.sender, beneficiary, amount, shares);
        _syncWeight(poolId, pool);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Pulls fees from the router and credits the balance actually received, not the amount the
    /// router reports, so a faulty router cannot create unbacked rewards.
    function _harvest(uint256 poolId, address worker) private returns (uint256 amount) {
        address router_ = router;
        if (router_ == address(0)) revert RouterNotSet();
        uint256 balanceBefore = pha.balanceOf(address(this));
        IAgentRouter(router_).collectWorkerFees(worker);
        amount = pha.balanceOf(address(this)) - balanceBefore;
        if (amount == 0) return 0;

        Pool storage pool = _pools[poolId];
        uint256 commission = pool.activeShares == 0
            ? amount
            : Math.mulDiv(amount, _applyDueCommission(poolId, pool), BPS);
        uint256 toStakers = amount - commission;
        pool.commissionAccrued += commission;
        if (toStakers != 0) pool.rewardPerShare += Math.mulDiv(toStakers, REWARD_PRECISION, pool.activeShares);
        emit RewardsDistributed(poolId, worker, amount, commission);
    }

    /// @dev Takes `amount` (at most everything) from the pool's active plus unbonding stake, from each
    /// in proportion, and pays `reporterReward` of it to the reporter (none to a zero address) and the
    /// rest to the treasury. Nobody else is paid: a party able to cause the fault (the pool's operator,
    /// a requester colluding with it) could otherwise profit from it at its delegators' expense.
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
        SlashSplit memory split;
        uint256 active = pool.activeStake;
        uint256 stakeTotal = active + pool.unbondingStake;
        slashed = Math.min(amount, stakeTotal);
        if (slashed == 0) return 0;
        split.fromActive = Math.mulDiv(slashed, active, stakeTotal);
        split.fromUnbonding = slashed - split.fromActive;
        pool.activeStake = active - split.fromActive;
        pool.unbondingStake -= split.fromUnbonding;

        if (reporter != address(0)) split.toReporter = Math.min(reporterReward, slashed);
        split.toTreasury = slashed - split.toReporter;
        emit Slashed(
            poolId, worker, requestId, kind, split.fromActive, split.fromUnbonding, split.toReporter, split.toTreasury
        );
        _syncWeight(poolId, pool);

        if (split.toReporter != 0) pha.safeTransfer(reporter, split.toReporter);
        if (split.toTreasury != 0) pha.safeTransfer(treasury, split.toTreasury);
    }

    /// @dev A pool is sampled, with weight = active stake in WEIGHT_UNITs, while it has workers and at
    /// least minStakePerWorker per worker; otherwise its weight is zero.
    function _syncWeight(uint256 poolId, Pool storage pool) private {
        uint256 count = pool.workerCount;
        uint256 active = pool.activeStake;
        uint256 weight = count != 0 && active >= uint256(_params.minStakePerWorker) * count ? active / WEIGHT_UNIT : 0;
        uint256 previous = pool.weight;
        if (weight == previous) return;
        _weights.update(poolId - 1, previous, weight);
        // Fits: the tree reverts on totals above 2^24-1.
        pool.weight = uint48(weight);
        emit PoolWeightUpdated(poolId, weight);
    }

    function _detachWorker(uint256 poolId, Pool storage pool, WorkerInfo storage info) private {
        uint32 last = pool.workerCount - 1;
        uint32 index = info.index;
        if (index != last) {
            address moved = _workerAt(poolId, pool, last);
            _setWorkerAt(poolId, pool, index, moved);
            _workers[moved].index = index;
        }
        _setWorkerAt(poolId, pool, last, address(0));
        pool.workerCount = last;
        info.active = false;
    }

    function _workerAt(uint256 poolId, Pool storage pool, uint256 index) private view returns (address) {
        return index == 0 ? pool.firstWorker : _poolWorkers[poolId][index];
    }

    function _setWorkerAt(uint256 poolId, Pool storage pool, uint256 index, address worker) private {
        if (index == 0) pool.firstWorker = worker;
        else _poolWorkers[poolId][index] = worker;
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

    function _applyDueCommission(uint256 poolId, Pool storage pool) private returns (uint16 commissionBps) {
        uint64 effectiveAt = pool.commissionEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) {
            pool.commissionBps = pool.pendingCommissionBps;
            pool.pendingCommissionBps = 0;
            pool.commissionEffectiveAt = 0;
            emit CommissionChangeApplied(poolId, pool.commissionBps);
        }
        return _clampCommission(pool.commissionBps);
    }

    function _effectiveCommission(Pool storage pool) private view returns (uint16) {
        uint64 effectiveAt = pool.commissionEffectiveAt;
        bool due = effectiveAt != 0 && block.timestamp >= effectiveAt;
        return _clampCommission(due ? pool.pendingCommissionBps : pool.commissionBps);
    }

    /// @dev Governance may narrow the bounds after an operator chose a commission; the bounds win.
    function _clampCommission(uint16 commissionBps) private view returns (uint16) {
        uint16 minBps = _params.minCommissionBps;
        uint16 maxBps = _params.maxCommissionBps;
        if (commissionBps < minBps) return minBps;
        if (commissionBps > maxBps) return maxBps;
        return commissionBps;
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
                || p.maxCommissionBps > BPS
        ) revert InvalidParams();
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
