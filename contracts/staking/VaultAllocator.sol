// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStakingHub} from "./IStakingHub.sol";
import {PoolPerformance} from "./PoolPerformance.sol";
import {IVaultAllocator} from "./IVaultAllocator.sol";

/// @notice The vault's manager functions and views, as far as the allocator needs them.
interface IManagedVault {
    /// @notice Stakes `amount` idle PHA of the vault into `poolId`.
    /// @param poolId The pool.
    /// @param amount PHA wei.
    function allocate(uint256 poolId, uint256 amount) external;
    /// @notice Unbonds `shares` of the vault's position in `poolId`.
    /// @param poolId The pool.
    /// @param shares Active hub shares.
    function requestPoolWithdrawal(uint256 poolId, uint256 shares) external;
    /// @notice Idle PHA of the vault not owed to queued redemptions.
    /// @return PHA wei.
    function availableLiquidity() external view returns (uint256);
    /// @notice Pools the vault holds a position or unbonding request in.
    /// @return The pool ids.
    function pools() external view returns (uint256[] memory);
    /// @notice The most pools the vault may hold.
    /// @return The limit.
    function MAX_POOLS() external view returns (uint256);
}

/// @notice The hub's views the allocator reads.
interface IAllocatorHub {
    /// @notice The full state of pool `poolId`.
    /// @param poolId The pool.
    /// @return The pool.
    function poolState(uint256 poolId) external view returns (IStakingHub.Pool memory);
    /// @notice PHA value of `account`'s active shares in `poolId` (rounded down).
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return PHA wei.
    function stakeOf(uint256 poolId, address account) external view returns (uint256);
    /// @notice Active shares `account` holds in `poolId`.
    /// @param poolId The pool.
    /// @param account The staker.
    /// @return Active shares.
    function sharesOf(uint256 poolId, address account) external view returns (uint256);
    /// @notice Active shares that `amount` PHA of `poolId` is worth, rounded up.
    /// @param poolId The pool.
    /// @param amount PHA wei.
    /// @return Active shares.
    function sharesForStake(uint256 poolId, uint256 amount) external view returns (uint256);
}

/// @title VaultAllocator
/// @notice The StakingVault's manager, turned into a rule anyone can run: once per epoch
/// {rebalance} moves the vault's stake toward weights set by the PHA each candidate pool actually
/// paid its stakers over a trailing window (rewards after commission, minus slashes, from
/// {PoolPerformance}), spread over the stake it would have with the vault at its cap, capped per
/// pool, with a minimum stay before a pool's stake is reduced. The curator (the human manager) only
/// sets the candidate pools and the rule's parameters, within bounds governance sets; governance sets
/// the bounds within constant limits.
///
///     total     = vault's active stake in candidates + its available liquidity
///     paid(p)   = PHA p paid its stakers per epoch over the last `window` epochs, net of slashes
///     mean(p)   = p's time-weighted active stake over that window; least(p) its smallest at the
///                 window's snapshots
///     other(p)  = mean(p) − held(p)  (at least 0)
///     score(p)  = max(0, paid(p)) / (other(p) + max(held(p), cap))
///     limit(p)  = min(active(p) − held(p), min(least(p), mean(p)) / 2)
///     room(p)   = min(limit(p), cap), or 0 if limit(p) is within the drift
///     ref       = the stake-weighted score of the best placement of the total: pools taken best
///                 score first, each for its room, until the total is placed or the rooms run out
///     weight(p) = score(p) / Σ score, each capped at min(maxPoolShareBps × min(1, score(p) / ref),
///                 room(p) / total) (excess re-spread over the uncapped pools in proportion; what no
///                 pool can take stays idle)
///     target(p) = min(weight(p) × total, limit(p))
///
/// where held(p) is the vault's stake in p now, active(p) p's active stake now and cap =
/// maxPoolShareBps × total. The limit holds for the whole stay, not only the entry (review s25, E1):
/// the vault never holds more than the rest of the pool (its operator and delegators) holds now, so
/// when they unbond anyone can bring the vault down to it at once ({reduceToLimit}), and every
/// rebalance does; and never more than half the pool's stake kept through the window, so stake
/// brought in just before a snapshot or the rebalance raises nothing. The vault's own stake counts
/// in that half only as far as it was kept too: the vault enters with half what the pool kept, and
/// its limit closes half the gap to the rest's stake per window. The score is the
/// PHA p really paid, spread over the stake p would have with the vault at its cap: the return the
/// vault would get there if the stream did not grow with its stake. It reads PHA, not a per-stake
/// return, so no movement of stake between snapshots changes it (review s24: unbonding all but 1 PHA,
/// harvesting 1 PHA of self-paid fees and re-staking before the next snapshot made a per-stake index
/// show 0.27 a day); and it reads stake over time, so stake brought in only around the snapshots
/// neither lowers a pool's denominator nor raises its entry limit, nor does a griefer's stake parked
/// in a competitor at the rebalance lower the competitor's score. A pool's rewards paid to itself count for
/// what they would pay the vault, not for what they paid the few shareholders there were (review
/// s23, F3); an honest pool's fees, which grow with its stake (the router samples workers by stake),
/// bring it to its full rate as the vault's stake in it reaches the cap. See
/// contracts/staking/README.md for the attacker's costs and gains.
///
/// A pool above its limit is brought down to it at once (by a rebalance or anyone's
/// {reduceToLimit}). A pool above target by more than `driftBps` of the total is unbonded down to
/// target once it has held its stake `minStay` epochs — at once if its return is negative (it was
/// slashed beyond its rewards). A pool below target by more than the drift gets idle PHA. Unbonded PHA comes back
/// after the hub's unbonding period (anyone: vault.completePoolWithdrawals) and is placed by a later
/// rebalance. A pool that stops earning loses its weight within `window` epochs (its score falls
/// linearly to zero), a slashed one at the next rebalance.
///
/// Nobody can profit from a rebalance's timing: it moves stake between pools at the hub's own
/// exchange rates (stake and unbonding valued alike), so the vault's value does not move, and the
/// vault streams gains and queues exits anyway. A pool's score is PHA it really paid, spread as it
/// would pay the vault at the cap: inflating the score means paying the vault that return once it is
/// in, and before it is in costs fees sized by the vault's cap, not by the pool's own stake.
contract VaultAllocator is IVaultAllocator, Ownable2Step {
    /// @notice Governance's bounds on the curator's parameters.
    struct Bounds {
        uint16 maxPoolShareBps;
        uint16 minWindow;
        uint16 maxWindow;
        uint16 minStay;
        uint16 maxDriftBps;
    }

    /// @notice The curator's parameters.
    struct Params {
        /// @dev Largest share of the investable total one pool may hold.
        uint16 maxPoolShareBps;
        /// @dev Trailing window of the returns, in epochs.
        uint16 window;
        /// @dev Epochs a pool keeps stake it was given before it can be reduced (unless failing).
        uint16 minStay;
        /// @dev Deviation from target, in bps of the total, below which nothing moves.
        uint16 driftBps;
    }

    /// @dev One rebalance's inputs: the vault's stake per candidate, the investable total, and per
    /// candidate the target weight (bps), the PHA it paid per epoch (net of slashes) and the most the
    /// vault may hold after it.
    struct Plan {
        uint256[] current;
        uint256 total;
        uint256[] weights;
        int256[] paid;
        uint256[] limits;
    }

    uint256 public constant BPS = 10_000;
    /// @notice Scale of scores: 1e18 = a stream of 100 % of the spread stake per epoch.
    uint256 public constant SCORE_ONE = 1e18;
    /// @notice Candidate pools at most (the vault tracks at most 16 pools, unbonding included).
    uint256 public constant MAX_CANDIDATES = 8;
    /// @notice Constant limits of governance's bounds.
    uint256 public constant LIMIT_POOL_SHARE_BPS = 5_000;
    uint256 public constant LIMIT_MIN_WINDOW = 2;
    uint256 public constant LIMIT_MIN_STAY = 1;
    /// @notice Stake above a pool's limit that {reduceToLimit} leaves (snapshots count whole PHA).
    uint256 public constant LIMIT_TOLERANCE = 1 ether;

    IManagedVault public immutable vault;
    IAllocatorHub public immutable hub;
    PoolPerformance public immutable performance;

    /// @notice Sets the candidates and parameters within {bounds}.
    address public curator;
    /// @notice The epoch of the last rebalance (type(uint64).max before the first).
    uint64 public lastRebalanceEpoch = type(uint64).max;

    Bounds private _bounds;
    Params private _params;
    uint256[] private _candidates;
    mapping(uint256 poolId => uint256) public stayStartEpoch;

    /// @dev Declared with the structs they carry; the other events and errors are in {IVaultAllocator}.
    event BoundsSet(Bounds bounds);
    event ParamsSet(Params params);

    modifier onlyCurator() {
        if (msg.sender != curator) revert NotCurator(msg.sender);
        _;
    }

    constructor(
        IManagedVault vault_,
        IAllocatorHub hub_,
        PoolPerformance performance_,
        Bounds memory bounds_,
        Params memory params_,
        address curator_,
        address initialOwner
    ) Ownable(initialOwner) {
        if (address(vault_) == address(0) || address(hub_) == address(0) || address(performance_) == address(0)) {
            revert ZeroAddress();
        }
        vault = vault_;
        hub = hub_;
        performance = performance_;
        _setBounds(bounds_);
        _setParams(params_);
        _setCurator(curator_);
    }

    // ---------------------------------------------------------------- governance and curator

    /// @notice Sets the bounds within the constant limits; the parameters must still fit. Owner only.
    /// @param bounds_ The new bounds.
    function setBounds(Bounds calldata bounds_) external onlyOwner {
        _setBounds(bounds_);
        _checkParams(_params);
    }

    /// @notice Replaces the curator. Owner only.
    /// @param curator_ The new curator.
    function setCurator(address curator_) external onlyOwner {
        _setCurator(curator_);
    }

    /// @notice Sets the rule's parameters within the bounds. Curator only.
    /// @param params_ The new parameters.
    function setParams(Params calldata params_) external onlyCurator {
        _setParams(params_);
    }

    /// @notice Sets the candidate pools (existing, distinct, at most MAX_CANDIDATES). Pools dropped
    /// from the list are unbonded by the next rebalances (after their minimum stay). Curator only.
    /// @param poolIds The candidate pools.
    function setCandidates(uint256[] calldata poolIds) external onlyCurator {
        if (poolIds.length > MAX_CANDIDATES) revert TooManyCandidates(poolIds.length);
        for (uint256 i; i < poolIds.length; ++i) {
            if (hub.poolState(poolIds[i]).operator == address(0)) revert UnknownPool(poolIds[i]);
            for (uint256 j; j < i; ++j) {
                if (poolIds[j] == poolIds[i]) revert DuplicateCandidate(poolIds[i]);
            }
        }
        _candidates = poolIds;
        emit CandidatesSet(poolIds);
    }

    // ---------------------------------------------------------------- the rule (anyone)

    /// @notice Records the candidates' performance and moves the vault's stake toward the targets.
    /// Anyone, once per epoch.
    function rebalance() external {
        uint256 epoch = performance.currentEpoch();
        if (lastRebalanceEpoch == epoch) revert AlreadyRebalanced(epoch);
        lastRebalanceEpoch = uint64(epoch);
        uint256[] memory pools_ = _candidates;
        performance.record(pools_);

        Params memory p = _params;
        uint256 liquidity = vault.availableLiquidity();
        Plan memory plan = _plan(pools_, p, liquidity);
        uint256 drift = plan.total * p.driftBps / BPS;
        uint256 unbonded = _reduceDropped(pools_, epoch, p);
        unbonded += _reduceOver(pools_, plan, drift, epoch, p);
        uint256 allocated = _allocate(pools_, plan, drift, epoch, liquidity);
        emit Rebalanced(epoch, plan.total, allocated, unbonded);
    }

    /// @dev Brings every candidate above its limit back to it at once (see {reduceToLimit}), then
    /// unbonds those above target by more than the drift down to target (see {_reduce}).
    function _reduceOver(uint256[] memory pools_, Plan memory plan, uint256 drift, uint256 epoch, Params memory p)
        private
        returns (uint256 unbonded)
    {
        for (uint256 i; i < pools_.length; ++i) {
            uint256 current = plan.current[i];
            if (plan.paid[i] >= 0 && current > plan.limits[i] + LIMIT_TOLERANCE) {
                unbonded += _unbond(pools_[i], current - plan.limits[i]);
                current = plan.limits[i];
                plan.current[i] = current;
            }
            uint256 target = Math.min(plan.total * plan.weights[i] / BPS, plan.limits[i]);
            if (current > target + drift) {
                unbonded += _reduce(pools_[i], current, target, epoch, p, plan.paid[i] < 0);
            }
        }
    }

    /// @dev Tops up the pools below target by more than `drift`, in candidate order, from the
    /// vault's available liquidity, each to at most its limit ({limitOf}): never above the rest of the
    /// pool's stake now, nor above half the pool's stake kept through the window.
    /// A pool the vault does not hold yet takes one of its MAX_POOLS
    /// positions; with all taken (earlier candidates still unbonding) it is skipped rather than let
    /// `allocate` revert the whole rebalance, and with it the unbonding of failing pools.
    /// `liquidity` is the vault's available liquidity, read once: each allocation takes exactly its
    /// amount from the idle PHA and leaves the PHA owed to the queue where it was (give or take the
    /// hub's rounding of the new stake, which only lowers what the queue is owed), so counting it
    /// down here never exceeds what the vault allows, without re-valuing every position per pool.
    function _allocate(uint256[] memory pools_, Plan memory plan, uint256 drift, uint256 epoch, uint256 liquidity)
        private
        returns (uint256 allocated)
    {
        uint256[] memory current = plan.current;
        uint256[] memory positions = vault.pools();
        uint256 freePositions = vault.MAX_POOLS();
        freePositions = freePositions > positions.length ? freePositions - positions.length : 0;
        for (uint256 i; i < pools_.length; ++i) {
            uint256 shortfall = Math.min(plan.total * plan.weights[i] / BPS, plan.limits[i]);
            if (current[i] + drift >= shortfall) continue;
            uint256 amount = Math.min(shortfall - current[i], liquidity);
            if (amount == 0) break;
            if (!_contains(positions, pools_[i])) {
                if (freePositions == 0) continue;
                --freePositions;
            }
            vault.allocate(pools_[i], amount);
            stayStartEpoch[pools_[i]] = epoch;
            allocated += amount;
            liquidity -= amount;
        }
    }

    /// @dev Unbonds the pools the vault holds that are no longer candidates (target zero): after
    /// their minimum stay, or at once if their return is negative. Their performance is recorded
    /// like a candidate's while the vault holds them, so dropping a failing pool from the list (and
    /// setting a long minimum stay) cannot keep the vault's stake in it.
    function _reduceDropped(uint256[] memory pools_, uint256 epoch, Params memory p) private returns (uint256 unbonded) {
        uint256[] memory held = vault.pools();
        uint256[] memory one = new uint256[](1);
        for (uint256 i; i < held.length; ++i) {
            uint256 poolId = held[i];
            if (_contains(pools_, poolId)) continue;
            uint256 stake_ = hub.stakeOf(poolId, address(vault));
            if (stake_ == 0) continue;
            one[0] = poolId;
            performance.record(one);
            PoolPerformance.Window memory w = performance.windowOver(poolId, p.window);
            uint256 limit = _limit(poolId, stake_, w);
            if (stake_ > limit + LIMIT_TOLERANCE) {
                unbonded += _unbond(poolId, stake_ - limit);
                stake_ = limit;
            }
            if (stake_ != 0) unbonded += _reduce(poolId, stake_, 0, epoch, p, w.ok && w.rewardsPerEpoch < 0);
        }
    }

    /// @notice Unbonds, at once, the vault's stake in `poolId` above the pool's limit ({limitOf}):
    /// whenever the rest of the pool's stake falls (its operator unbonds), the vault's exposure
    /// behind it falls with it, without waiting for the next rebalance or the minimum stay. Anyone;
    /// pays nothing. Reverts unless the vault holds more than the limit plus LIMIT_TOLERANCE, so it
    /// moves only stake the rule already refuses: no pool within its limit can be touched.
    /// @param poolId A pool the vault holds stake in (candidate or not).
    /// @return unbonded PHA wei moved to the hub's unbonding queue.
    function reduceToLimit(uint256 poolId) external returns (uint256 unbonded) {
        uint256 held = hub.stakeOf(poolId, address(vault));
        uint256 limit = _limit(poolId, held, performance.windowOver(poolId, _params.window));
        if (held <= limit + LIMIT_TOLERANCE) revert WithinLimit(poolId, held, limit);
        unbonded = _unbond(poolId, held - limit);
        emit ReducedToLimit(poolId, held, limit);
    }

    // ---------------------------------------------------------------- views

    /// @notice The most the vault may hold in `poolId` now (see the contract notes): the smaller of
    /// the pool's non-vault active stake now and half its stake kept through the window.
    /// @param poolId The pool.
    /// @return PHA wei.
    function limitOf(uint256 poolId) external view returns (uint256) {
        return _limit(poolId, hub.stakeOf(poolId, address(vault)), performance.windowOver(poolId, _params.window));
    }

    /// @notice The bounds the curator's parameters must fit.
    /// @return The bounds.
    function bounds() external view returns (Bounds memory) {
        return _bounds;
    }

    /// @notice The rule's parameters, set by the curator.
    /// @return The parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The candidate pools.
    /// @return The pool ids.
    function candidates() external view returns (uint256[] memory) {
        return _candidates;
    }

    /// @notice The target weights (bps of the investable total) the rule would use with the
    /// performance recorded so far.
    /// @return weights One per candidate, in candidate order, bps.
    function targetWeights() external view returns (uint256[] memory weights) {
        uint256[] memory pools_ = _candidates;
        (uint256[] memory current, uint256 total) = _holdings(pools_, vault.availableLiquidity());
        (weights,,) = _weights(pools_, _params, current, total);
    }

    /// @notice Each candidate's score (see the contract notes) with the performance recorded so far.
    /// @return scores_ One per candidate, in candidate order.
    function scores() external view returns (uint256[] memory scores_) {
        uint256[] memory pools_ = _candidates;
        (uint256[] memory current, uint256 total) = _holdings(pools_, vault.availableLiquidity());
        (scores_,,) = _scores(pools_, _params, current, total);
    }

    /// @notice The reference score the weights' caps are relative to, with the performance recorded
    /// so far: the stake-weighted score of the best placement of the vault's total, each candidate
    /// counting for its room only (see the contract notes).
    /// @return The reference (SCORE_ONE scale); 0 when no candidate both scores and has room.
    function referenceScore() external view returns (uint256) {
        uint256[] memory pools_ = _candidates;
        Params memory p = _params;
        (uint256[] memory current, uint256 total) = _holdings(pools_, vault.availableLiquidity());
        (uint256[] memory scores_,, uint256[] memory limits) = _scores(pools_, p, current, total);
        return _referenceScore(scores_, _rooms(limits, p, total), total);
    }

    // ---------------------------------------------------------------- internals

    function _reduce(uint256 poolId, uint256 current, uint256 target, uint256 epoch, Params memory p, bool failing)
        private
        returns (uint256 amount)
    {
        if (!failing && epoch < stayStartEpoch[poolId] + p.minStay) return 0;
        return _unbond(poolId, current - target);
    }

    /// @dev Unbonds `amount` PHA of the vault's active stake in `poolId` (at most all of it).
    function _unbond(uint256 poolId, uint256 amount) private returns (uint256) {
        uint256 shares = Math.min(hub.sharesForStake(poolId, amount), hub.sharesOf(poolId, address(vault)));
        if (shares == 0) return 0;
        vault.requestPoolWithdrawal(poolId, shares);
        return amount;
    }

    /// @dev The rule's one limit on the vault's stake in a pool, used for the entry, every increase,
    /// every rebalance and {reduceToLimit}: at most the rest of the pool's active stake now (a drop
    /// counts at once), and at most half the pool's stake kept through the window (the smaller of its
    /// smallest snapshot and its time-weighted stake: stake brought in around the snapshots does not
    /// count). The vault's own stake is in that half only as far as it was kept too, so the vault
    /// never holds more than the rest of the pool held throughout. `held` is the vault's stake now.
    /// Without a window of history (a curator just lengthened the window), the rest's stake now alone:
    /// such a pool has no score, so nothing is added to it, and what it holds waits its minimum stay.
    function _limit(uint256 poolId, uint256 held, PoolPerformance.Window memory w) private view returns (uint256) {
        uint256 active = hub.poolState(poolId).activeStake;
        uint256 rest = active > held ? active - held : 0;
        return w.ok ? Math.min(rest, Math.min(w.minStake, w.meanStake) / 2) : rest;
    }

    /// @dev The vault's stake in each candidate, the investable total, and the targets' inputs.
    function _plan(uint256[] memory pools_, Params memory p, uint256 liquidity) private view returns (Plan memory plan) {
        (plan.current, plan.total) = _holdings(pools_, liquidity);
        (plan.weights, plan.paid, plan.limits) = _weights(pools_, p, plan.current, plan.total);
    }

    /// @dev The vault's active stake in each candidate, and the investable total.
    function _holdings(uint256[] memory pools_, uint256 liquidity)
        private
        view
        returns (uint256[] memory current, uint256 total)
    {
        total = liquidity;
        current = new uint256[](pools_.length);
        for (uint256 i; i < pools_.length; ++i) {
            current[i] = hub.stakeOf(pools_[i], address(vault));
            total += current[i];
        }
    }

    /// @dev Each candidate's score, the PHA it paid per epoch and its limit (see the contract notes).
    function _scores(uint256[] memory pools, Params memory p, uint256[] memory current, uint256 total)
        private
        view
        returns (uint256[] memory scores_, int256[] memory paid, uint256[] memory limits)
    {
        uint256 n = pools.length;
        scores_ = new uint256[](n);
        paid = new int256[](n);
        limits = new uint256[](n);
        uint256 cap = total * p.maxPoolShareBps / BPS;
        for (uint256 i; i < n; ++i) {
            PoolPerformance.Window memory w = performance.windowOver(pools[i], p.window);
            if (!w.ok) continue;
            paid[i] = w.rewardsPerEpoch;
            uint256 held = current[i];
            limits[i] = _limit(pools[i], held, w);
            if (w.rewardsPerEpoch <= 0) continue;
            uint256 other = w.meanStake > held ? w.meanStake - held : 0;
            uint256 spread = other + Math.max(held, cap);
            // paid < 2^95 wei (an int96 difference per second, times an epoch): the product fits.
            if (spread != 0) scores_[i] = uint256(w.rewardsPerEpoch) * SCORE_ONE / spread;
        }
    }

    /// @dev Scores and capped weights (bps, summing to at most BPS). Each pool's weight is capped at
    /// the smallest of maxPoolShareBps, maxPoolShareBps × score / reference score (a pool scoring a
    /// tenth of the reference takes at most a tenth of the cap) and its room: what the vault can hold
    /// there ({_rooms}). Water-filling: each round caps the pools over their cap and re-spreads the
    /// rest over the others in proportion to their score, up to their own caps, which a weak pool's
    /// score keeps low; what no pool can take stays idle. A pool's weight never exceeds what the vault
    /// can put in it, so weight a strong pool has no room for goes to the others within their caps
    /// (review s26, V-1; review s27, V-4).
    function _weights(uint256[] memory pools, Params memory p, uint256[] memory current, uint256 total)
        private
        view
        returns (uint256[] memory weights, int256[] memory paid, uint256[] memory limits)
    {
        uint256 n = pools.length;
        weights = new uint256[](n);
        uint256[] memory scores_;
        (scores_, paid, limits) = _scores(pools, p, current, total);
        uint256[] memory caps = _caps(scores_, limits, p, total);
        bool[] memory capped = new bool[](n);
        uint256 left = BPS;
        for (uint256 round; round <= n; ++round) {
            uint256 scoreSum;
            for (uint256 i; i < n; ++i) {
                if (!capped[i]) scoreSum += scores_[i];
            }
            if (scoreSum == 0) break;
            bool newlyCapped;
            for (uint256 i; i < n; ++i) {
                if (capped[i]) continue;
                weights[i] = left * scores_[i] / scoreSum;
                if (weights[i] > caps[i]) {
                    capped[i] = true;
                    newlyCapped = true;
                }
            }
            if (!newlyCapped) break;
            left = BPS;
            for (uint256 i; i < n; ++i) {
                if (capped[i]) {
                    weights[i] = caps[i];
                    left -= caps[i];
                }
            }
            for (uint256 i; i < n; ++i) {
                if (!capped[i]) weights[i] = 0;
            }
        }
    }

    /// @dev Each candidate's largest weight (bps): min(maxPoolShareBps × min(1, score / reference),
    /// room / total), all zero without a reference (no pool both scoring and with room).
    function _caps(uint256[] memory scores_, uint256[] memory limits, Params memory p, uint256 total)
        private
        pure
        returns (uint256[] memory caps)
    {
        uint256[] memory rooms = _rooms(limits, p, total);
        caps = new uint256[](scores_.length);
        uint256 reference_ = _referenceScore(scores_, rooms, total);
        if (reference_ == 0) return caps;
        for (uint256 i; i < scores_.length; ++i) {
            // Rounded up, so that the room caps the target at the limit exactly.
            caps[i] = Math.min(
                Math.min(p.maxPoolShareBps, uint256(p.maxPoolShareBps) * scores_[i] / reference_),
                Math.mulDiv(rooms[i], BPS, total, Math.Rounding.Ceil)
            );
        }
    }

    /// @dev What the vault can hold in each candidate: its limit, up to the cap, and nothing when the
    /// limit is within the drift (the vault never enters for so little).
    function _rooms(uint256[] memory limits, Params memory p, uint256 total)
        private
        pure
        returns (uint256[] memory rooms)
    {
        uint256 cap = total * p.maxPoolShareBps / BPS;
        uint256 drift = total * p.driftBps / BPS;
        rooms = new uint256[](limits.length);
        for (uint256 i; i < limits.length; ++i) {
            if (limits[i] > drift) rooms[i] = Math.min(limits[i], cap);
        }
    }

    /// @dev The reference score the weights are capped against: the stake-weighted score of the best
    /// placement of the vault's `total` (pools taken best score first, each for its room, until the
    /// total is placed or the rooms run out). A pool counts in it only as far as the vault can hold
    /// stake in it: one with no room (say, a limit zeroed by a snapshot it took itself at 0 stake)
    /// moves it by nothing; one with room r and score s raises it by less than s × r / P (P what is
    /// placed), so the other pools' caps fall by less than that share: what the vault gives up in
    /// them is below s × r, what it earns on its r in that pool while the pool keeps paying
    /// (review s26, V-1: a pool the vault could not enter set the reference alone and cut every
    /// other pool's cap 17 ×).
    function _referenceScore(uint256[] memory scores_, uint256[] memory rooms, uint256 total)
        private
        pure
        returns (uint256)
    {
        uint256 n = scores_.length;
        bool[] memory taken = new bool[](n);
        uint256 filled;
        uint256 weighted;
        while (filled < total) {
            uint256 next = n;
            for (uint256 i; i < n; ++i) {
                if (taken[i] || rooms[i] == 0 || scores_[i] == 0) continue;
                if (next == n || scores_[i] > scores_[next]) next = i;
            }
            if (next == n) break;
            taken[next] = true;
            uint256 take = Math.min(rooms[next], total - filled);
            // score < 2^95 × 1e18 (paid over a spread of at least 1 wei) and take ≤ the PHA supply
            // (< 2^90): eight such products fit in 256 bits.
            weighted += scores_[next] * take;
            filled += take;
        }
        return filled == 0 ? 0 : weighted / filled;
    }

    function _contains(uint256[] memory list, uint256 value) private pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == value) return true;
        }
        return false;
    }

    function _setBounds(Bounds memory b) private {
        if (
            b.maxPoolShareBps == 0 || b.maxPoolShareBps > LIMIT_POOL_SHARE_BPS || b.minWindow < LIMIT_MIN_WINDOW
                || b.maxWindow < b.minWindow || b.maxWindow >= performance.HISTORY() || b.minStay < LIMIT_MIN_STAY
                || b.maxDriftBps > BPS
        ) revert InvalidBounds();
        _bounds = b;
        emit BoundsSet(b);
    }

    function _setParams(Params memory p) private {
        _checkParams(p);
        _params = p;
        emit ParamsSet(p);
    }

    function _checkParams(Params memory p) private view {
        Bounds memory b = _bounds;
        if (
            p.maxPoolShareBps == 0 || p.maxPoolShareBps > b.maxPoolShareBps || p.window < b.minWindow
                || p.window > b.maxWindow || p.minStay < b.minStay || p.driftBps > b.maxDriftBps
        ) revert ParamsOutOfBounds();
    }

    function _setCurator(address curator_) private {
        if (curator_ == address(0)) revert ZeroAddress();
        curator = curator_;
        emit CuratorSet(curator_);
    }
}
