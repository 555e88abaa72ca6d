// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IMiningRewards} from "./IMiningRewards.sol";
import {WorkerFeeBook} from "../core/lib/WorkerFeeBook.sol";

/// @notice The hub, as far as mining needs it.
interface IStakingHubRouter {
    /// @return The router the hub collects fees from.
    function router() external view returns (address);
    /// @return The mining reserve the hub reports work to now.
    function miningRewards() external view returns (address);
}

/// @notice The router's fee terms, as far as mining needs them: the first three fields of its config.
interface IRouterFeeTerms {
    /// @return workerFee PHA to the worker's pool per settled request.
    /// @return phaPerGas PHA per unit of gas reimbursed to relayers.
    /// @return protocolFeeBps The protocol's share of fees.
    function feeConfig() external view returns (uint256 workerFee, uint256 phaPerGas, uint256 protocolFeeBps);
}

/// @title MiningRewards
/// @notice A reserve of PHA (at most a governed share of the fixed supply) released epoch by epoch on
/// a published decaying schedule to the stake pools whose workers did the work. Work is what the
/// router settled: every answer pays its worker's pool a worker fee, which the staking hub collects
/// and reports here when it settles the pool. Epochs are UTC days, the router's ({WorkerFeeBook}):
/// the router books each fee in the epoch of its answer and the hub reports the work of the epoch
/// now and of the one before (`current`, `previous`). An epoch's budget is split among the pools by
/// the work each did in it; its work is final once the next epoch is over (no report can add to it
/// after), so epoch e is paid from epoch e + 2, at the pool's first settlement then, into the same
/// distribution as its fees (operator commission, then reward per share), so delegators claim both
/// with the hub's one constant-gas claim. A pool that earns no more fees is paid at its next
/// explicit harvest (`hub.harvestPool`, anyone, any time later): no reward is stranded.
///
///     budget(e)    = initialEpochBudget × (1 − decay)^⌊e / decayEpochs⌋
///     reward(p, e) = min( budget(e) × work(p, e) / work(e),  shareBps × Σ fee × protocolFeeBps )
///
/// Work reported late (collected two epochs or more after it was done) earns nothing: counted in its
/// own epoch it would change shares already paid, counted in a later one it could be moved into a
/// quiet epoch by timing a harvest. Its share of its epoch's budget stays in the reserve. A pool
/// settled (or harvested, by anyone) at least once per epoch has all its work counted in its epoch.
///
/// Why the second term (the self-dealing cap): an answer can be bought. An operator can send
/// requests from its own billing account to its own zero-price agent and, since a contract can
/// compute the router's assignment within the block, have them assigned to its own worker; the
/// worker fee comes back to its pool. What it cannot get back is the router's protocol fee
/// (protocolFeeBps of the worker fee, to the treasury). Each unit of work earns at most shareBps
/// (≤ MAX_SHARE_BPS = 80%) of the protocol fee it paid, so faking work always costs more than it
/// earns, however empty the epoch. The fee rate used is the lower of the router's at this
/// settlement and at the pool's previous one with fees, so a raised protocol fee reaches only work
/// paid for after it; without a protocol fee there is nothing to mine.
///
/// Stake weighs in through the router's stake-weighted assignment (a pool's work is in proportion
/// to its stake); uptime through the faults the chain records: the hub notes when the router last
/// slashed one of a pool's workers (a missed deadline, or two answers, which also jails the worker),
/// and a pool earns nothing for an epoch that began less than `faultPenalty` after such a fault or
/// during which or after which, before payment, one was recorded. A faulty pool's work is not counted
/// once the fault is known, so it does not dilute the others.
///
/// The reserve is never over-spent: an epoch pays at most its budget (shares rounded down) and never
/// more than the reserve holds; `released` counts every PHA paid, so the balance is what was put in
/// minus `released` (and minus `migrated`, once moved to a successor reserve). What an epoch does not
/// pay (faults, too little work) stays in the reserve.
contract MiningRewards is IMiningRewards, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Published schedule; owner-set within the bounds below. One slot.
    struct Schedule {
        /// @dev PHA released over an epoch while the schedule has not decayed.
        uint128 initialEpochBudget;
        /// @dev Fraction the epoch budget loses every `decayEpochs` epochs.
        uint16 decayBps;
        /// @dev Epochs between two decay steps.
        uint32 decayEpochs;
        /// @dev Reward per unit of work at most this share of the protocol fee that work paid.
        uint16 shareBps;
        /// @dev Seconds before an epoch in which a fault still costs the pool that epoch's reward.
        uint32 faultPenalty;
    }

    /// @notice One epoch's totals, fixed by its first recorded work. One slot.
    struct EpochTotals {
        /// @dev Worker fees settled in the epoch by pools without a fault.
        uint128 work;
        /// @dev budget(e), as published when the epoch's first work was recorded.
        uint112 budget;
        /// @dev shareBps then.
        uint16 shareBps;
    }

    /// @notice A pool's mining record: its unpaid work in at most two consecutive epochs (work is
    /// reported for the epoch now and the one before, and paid two epochs later). Three slots.
    struct PoolRecord {
        /// @dev The epoch of `work` (and `epoch + 1` of `nextWork`).
        uint64 epoch;
        /// @dev The router's protocol fee (bps) at the pool's previous settlement.
        uint16 protocolFeeBps;
        /// @dev Whether the pool was ever settled here (its previous fee rate is known).
        bool seen;
        /// @dev PHA paid to the pool so far.
        uint128 mined;
        /// @dev Worker fees earned in `epoch`, not paid for yet.
        uint96 work;
        /// @dev Σ fee × protocolFeeBps over that work: the protocol fee it paid, scaled by BPS.
        uint128 feePaid;
        /// @dev Worker fees earned in `epoch + 1`, not paid for yet.
        uint96 nextWork;
        /// @dev Σ fee × protocolFeeBps over `nextWork`.
        uint128 nextFeePaid;
    }

    uint256 public constant BPS = 10_000;
    /// @notice Length of an epoch of the schedule: the router's, which books fees by it.
    uint256 public constant EPOCH = WorkerFeeBook.EPOCH;
    /// @notice The reward per unit of work is at most this share of the protocol fee that work paid.
    uint256 public constant MAX_SHARE_BPS = 8_000;
    /// @notice The reserve may hold at most this share of the token's supply (the governed cap).
    uint256 public constant MAX_RESERVE_SHARE_BPS = 7_000;
    uint256 public constant MIN_DECAY_BPS = 100;
    uint256 public constant MAX_DECAY_BPS = 5_000;
    uint256 public constant MIN_DECAY_EPOCHS = 30;
    uint256 public constant MAX_DECAY_EPOCHS = 3_650;
    /// @notice At least an epoch: a fault costs a whole epoch's reward whenever it is reported.
    uint256 public constant MIN_FAULT_PENALTY = 1 days;
    uint256 public constant MAX_FAULT_PENALTY = 30 days;

    /// @notice The reserve's token.
    IERC20 public immutable pha;
    /// @notice The staking hub: the only caller of {onFeesSettled} and the receiver of rewards.
    address public immutable hub;
    /// @notice Start of epoch 0: the start of the deployment's epoch of the router (a UTC day).
    uint256 public immutable genesis;
    /// @notice Governed share of the token's supply the reserve may be funded with, in bps.
    uint16 public reserveShareBps;
    /// @notice PHA put in through {fund}.
    uint256 public funded;
    /// @notice PHA paid out so far.
    uint256 public released;
    /// @notice PHA handed to a successor reserve ({migrateTo}).
    uint256 public migrated;

    Schedule private _schedule;
    mapping(uint256 epoch => EpochTotals) private _epochs;
    mapping(uint256 epoch => uint256) private _releasedIn;
    mapping(uint256 poolId => PoolRecord) private _records;

    /// @dev Declared with {Schedule}, which it carries; the other events and errors are in {IMiningRewards}.
    event ScheduleSet(Schedule schedule);

    /// @param pha_ The reserve's token (PHA).
    /// @param hub_ The staking hub that settles pools.
    /// @param schedule_ The initial schedule, within the bounds.
    /// @param reserveShareBps_ Share of the token's supply the reserve may be funded with.
    /// @param initialOwner Governance (may be a timelock).
    constructor(
        IERC20 pha_,
        address hub_,
        Schedule memory schedule_,
        uint16 reserveShareBps_,
        address initialOwner
    ) Ownable(initialOwner) {
        if (address(pha_) == address(0) || hub_ == address(0)) revert ZeroAddress();
        pha = pha_;
        hub = hub_;
        genesis = WorkerFeeBook.today() * EPOCH;
        _setSchedule(schedule_);
        _setReserveShare(reserveShareBps_);
    }

    /// @notice Replaces the schedule within the bounds; epochs that already recorded work keep the
    /// budget they were published with. Owner only.
    /// @param schedule_ The new schedule.
    function setSchedule(Schedule calldata schedule_) external onlyOwner {
        _setSchedule(schedule_);
    }

    /// @notice Sets the share of supply the reserve may be funded with; lowering it stops further
    /// funding and takes back nothing already in. Owner only.
    /// @param reserveShareBps_ Share of supply, in basis points.
    function setReserveShare(uint16 reserveShareBps_) external onlyOwner {
        _setReserveShare(reserveShareBps_);
    }

    /// @notice Moves `amount` PHA from the caller into the reserve, within the governed cap.
    /// @param amount PHA taken from the caller.
    function fund(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 total = funded + amount;
        uint256 cap = reserveCap();
        if (total > cap) revert ReserveCapExceeded(total, cap);
        funded = total;
        emit Funded(msg.sender, amount);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Once governance has pointed the hub at a new reserve, moves all this one still holds
    /// into it (through its {fund}, within its cap), so replacing the reserve strands nothing. Only to
    /// the reserve the hub pays from now: never to an address the owner picks. Owner only.
    /// @param successor The hub's current mining reserve.
    function migrateTo(address successor) external onlyOwner {
        if (successor == address(this) || IStakingHubRouter(hub).miningRewards() != successor) {
            revert NotHubsReserve(successor);
        }
        uint256 amount = pha.balanceOf(address(this));
        if (amount == 0) revert ZeroAmount();
        migrated += amount;
        emit MigratedTo(successor, amount);
        pha.forceApprove(successor, amount);
        MiningRewards(successor).fund(amount);
    }

    /// @inheritdoc IMiningRewards
    /// @dev Called with no work by an explicit harvest (anyone's): it then only pays rewards due, so
    /// a pool that stops earning is still paid for its last epochs of work.
    function onFeesSettled(uint256 poolId, uint256 current, uint256 previous, uint64 lastFaultAt)
        external
        returns (uint256 reward)
    {
        if (msg.sender != hub) revert NotHub(msg.sender);
        PoolRecord memory record = _records[poolId];
        uint256 epoch = currentEpoch();
        // Before epoch 0 there is no budget.
        if (epoch == 0) previous = 0;
        bool due = (record.work != 0 && record.epoch + 2 <= epoch) || (record.nextWork != 0 && record.epoch + 3 <= epoch);
        if (current == 0 && previous == 0 && !due) return 0;
        Schedule memory published = _schedule;

        if (due) {
            // Every epoch older than the one before now is final, hence due: what stays unpaid below
            // is from the epoch before or this one.
            if (record.epoch + 2 <= epoch) {
                reward = _payFor(poolId, record.epoch, record.work, record.feePaid, published, lastFaultAt, 0);
                (record.work, record.feePaid) = (0, 0);
            }
            if (record.epoch + 3 <= epoch) {
                reward += _payFor(
                    poolId, record.epoch + 1, record.nextWork, record.nextFeePaid, published, lastFaultAt, reward
                );
                (record.nextWork, record.nextFeePaid) = (0, 0);
            }
            record.mined += uint128(reward);
        }
        // Rebase the window on the epoch before now (or 0), keeping what is unpaid.
        uint256 base = epoch == 0 ? 0 : epoch - 1;
        if (record.epoch != base) {
            if (record.epoch + 1 == base) (record.work, record.feePaid) = (record.nextWork, record.nextFeePaid);
            (record.nextWork, record.nextFeePaid) = (0, 0);
            record.epoch = uint64(base);
        }

        if (current != 0 || previous != 0) {
            uint256 feeNow = _protocolFeeBps();
            uint256 rate = record.seen ? Math.min(feeNow, record.protocolFeeBps) : feeNow;
            // Fits: worker fees are PHA, whose whole supply (1e27) is far below 2^96 and 2^128 / 1e4.
            if (previous != 0 && !_faulted(lastFaultAt, base, published)) {
                _addWork(base, previous, published);
                record.work += uint96(previous);
                record.feePaid += uint128(previous * rate);
            }
            if (current != 0 && !_faulted(lastFaultAt, epoch, published)) {
                _addWork(epoch, current, published);
                if (epoch == base) {
                    record.work += uint96(current);
                    record.feePaid += uint128(current * rate);
                } else {
                    record.nextWork += uint96(current);
                    record.nextFeePaid += uint128(current * rate);
                }
            }
            // The rate at the pool's last settlement with work: an idle harvest settles none.
            record.protocolFeeBps = uint16(feeNow);
            record.seen = true;
        }
        _records[poolId] = record;

        if (reward != 0) pha.safeTransfer(msg.sender, reward);
    }

    // ---------------------------------------------------------------- views

    /// @notice The schedule in force.
    /// @return The schedule.
    function schedule() external view returns (Schedule memory) {
        return _schedule;
    }

    /// @notice The most the reserve may be funded with: reserveShareBps of the token's supply.
    /// @return PHA.
    function reserveCap() public view returns (uint256) {
        return Math.mulDiv(pha.totalSupply(), reserveShareBps, BPS);
    }

    /// @notice The epoch now (0 from deployment, one per EPOCH).
    /// @return The epoch number.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / EPOCH;
    }

    /// @notice budget(epoch) under the schedule in force.
    /// @param epoch An epoch number.
    /// @return PHA.
    function budgetAt(uint256 epoch) external view returns (uint256) {
        return _budgetAt(_schedule, epoch);
    }

    /// @notice `epoch`'s totals (zero until its first work is recorded).
    /// @param epoch An epoch number.
    /// @return The totals.
    function epochTotals(uint256 epoch) external view returns (EpochTotals memory) {
        return _epochs[epoch];
    }

    /// @notice PHA paid for work of `epoch` so far (at most its budget).
    /// @param epoch An epoch number.
    /// @return PHA.
    function releasedIn(uint256 epoch) external view returns (uint256) {
        return _releasedIn[epoch];
    }

    /// @notice `poolId`'s mining record.
    /// @param poolId The pool.
    /// @return The record.
    function poolRecord(uint256 poolId) external view returns (PoolRecord memory) {
        return _records[poolId];
    }

    /// @notice What `poolId`'s unpaid work would earn once its epochs are final and nobody else adds
    /// work to them, before the fault check and the reserve's balance.
    /// @param poolId The pool.
    /// @return PHA.
    function pendingReward(uint256 poolId) external view returns (uint256) {
        PoolRecord memory record = _records[poolId];
        return _rewardOf(record.work, record.feePaid, _epochs[record.epoch])
            + _rewardOf(record.nextWork, record.nextFeePaid, _epochs[record.epoch + 1]);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Pays `work` (with `feePaid`) done in `epoch`, final by now, out of the balance less the
    /// `spent` this settlement already owes; nothing when there is no work.
    function _payFor(
        uint256 poolId,
        uint256 epoch,
        uint256 work,
        uint256 feePaid,
        Schedule memory published,
        uint64 lastFaultAt,
        uint256 spent
    ) private returns (uint256 reward) {
        if (work == 0) return 0;
        if (_faulted(lastFaultAt, epoch, published)) {
            emit MiningRewardWithheld(poolId, epoch, work, lastFaultAt);
            return 0;
        }
        reward = Math.min(_rewardOf(work, feePaid, _epochs[epoch]), pha.balanceOf(address(this)) - spent);
        released += reward;
        _releasedIn[epoch] += reward;
        emit MiningRewardPaid(poolId, epoch, work, reward);
    }

    /// @dev Both terms rounded down, so an epoch's payments never sum above its budget.
    function _rewardOf(uint256 work, uint256 feePaid, EpochTotals memory totals) private pure returns (uint256) {
        if (work == 0) return 0;
        return Math.min(
            Math.mulDiv(totals.budget, work, totals.work), Math.mulDiv(feePaid, totals.shareBps, BPS * BPS)
        );
    }

    /// @dev Counts `work` in `epoch`'s totals, fixing its budget with its first work.
    function _addWork(uint256 epoch, uint256 work, Schedule memory published) private {
        EpochTotals memory totals = _epochs[epoch];
        if (totals.work == 0) {
            totals.budget = uint112(_budgetAt(published, epoch));
            totals.shareBps = published.shareBps;
        }
        totals.work += uint128(work);
        _epochs[epoch] = totals;
    }

    /// @dev A fault at or after `faultPenalty` before the epoch's start costs the epoch (faults are
    /// never in the future, so this covers the epoch itself and the time until payment).
    function _faulted(uint64 lastFaultAt, uint256 epoch, Schedule memory published) private view returns (bool) {
        return lastFaultAt != 0 && uint256(lastFaultAt) + published.faultPenalty > genesis + epoch * EPOCH;
    }

    /// @dev initialEpochBudget × (1 − decay)^steps by squaring in 1e18 fixed point, each product
    /// rounded down (the budget is never above the exact schedule).
    function _budgetAt(Schedule memory published, uint256 epoch) private pure returns (uint256 budget) {
        uint256 one = 1e18;
        uint256 factor = (BPS - published.decayBps) * one / BPS;
        uint256 scale = one;
        for (uint256 steps = epoch / published.decayEpochs; steps != 0 && scale != 0; steps >>= 1) {
            if (steps & 1 != 0) scale = scale * factor / one;
            factor = factor * factor / one;
        }
        budget = Math.mulDiv(published.initialEpochBudget, scale, one);
    }

    /// @dev The router's protocol fee now; 0 (no reward) without a router or when it cannot say.
    function _protocolFeeBps() private view returns (uint256) {
        address router = IStakingHubRouter(hub).router();
        if (router == address(0)) return 0;
        try IRouterFeeTerms(router).feeConfig() returns (uint256, uint256, uint256 protocolFeeBps) {
            return Math.min(protocolFeeBps, BPS);
        } catch {
            return 0;
        }
    }

    function _setSchedule(Schedule memory s) private {
        if (
            s.shareBps > MAX_SHARE_BPS || s.decayBps < MIN_DECAY_BPS || s.decayBps > MAX_DECAY_BPS
                || s.decayEpochs < MIN_DECAY_EPOCHS || s.decayEpochs > MAX_DECAY_EPOCHS
                || s.faultPenalty < MIN_FAULT_PENALTY || s.faultPenalty > MAX_FAULT_PENALTY
                || s.initialEpochBudget > type(uint112).max
        ) revert InvalidSchedule();
        _schedule = s;
        emit ScheduleSet(s);
    }

    function _setReserveShare(uint16 share) private {
        if (share > MAX_RESERVE_SHARE_BPS) revert InvalidReserveShare(share);
        reserveShareBps = share;
        emit ReserveShareSet(share);
    }
}
