// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";
import {StakingInvariantBase} from "./StakingInvariantBase.sol";

/// @notice Random stakers, operators and governance against the hub, with fees earned at random
/// times and harvested later (or never until a share change), commission changes, worker removal,
/// parameter changes and slashes. Ghost books compute, at the moment each fee is earned and each
/// slash lands, what every staker is owed by stake-time; the invariants hold the hub to them.
contract FairnessHandler is Test {
    uint256 internal constant ACTORS = 8;
    uint256 internal constant POOLS = 3;
    uint256 internal constant BPS = 10_000;

    PhalaToken internal immutable pha;
    StakingHub internal immutable hub;
    MockRouter internal immutable router;
    MockWorkerRegistry internal immutable registry;
    address internal immutable governance;

    address[] public actors;
    uint256[] public poolIds;
    mapping(uint256 poolId => address) public operatorOf;
    /// @dev Workers that may still earn fees: active ones, and removed ones within RETIRE_DELAY.
    mapping(uint256 poolId => address[]) internal _earners;
    mapping(address worker => uint256) internal _removedAt;
    mapping(address worker => bool) internal _active;
    uint256 internal _workerNonce;

    uint256 public calls;

    /// @dev Rewards owed by stake-time for settled fees: a floor at the commission in force when the
    /// fee was earned, and a ceiling at no commission. Unsettled fees wait in the pending books.
    mapping(uint256 poolId => mapping(address actor => uint256)) public owedFloor;
    mapping(uint256 poolId => mapping(address actor => uint256)) public owedCeil;
    mapping(uint256 poolId => mapping(address actor => uint256)) internal _pendingFloor;
    mapping(uint256 poolId => mapping(address actor => uint256)) internal _pendingCeil;
    mapping(uint256 poolId => uint256) public commissionCeil;
    mapping(uint256 poolId => uint256) internal _pendingCommissionCeil;
    mapping(uint256 poolId => mapping(address actor => uint256)) public claimed;
    mapping(uint256 poolId => uint256) public commissionClaimed;

    /// @dev What each actor's stake (active plus unbonding) in each pool should be worth: what it
    /// put in, less what it took out, scaled by every slash's fraction of the pool.
    mapping(uint256 poolId => mapping(address actor => uint256)) public expectedValue;
    mapping(address actor => uint256[]) internal _requests;

    /// @dev The operator bonds' books: posted, withdrawn and slashed per pool, and the slashes that
    /// took from stakers more than the part of the penalty the bond could not pay.
    mapping(uint256 poolId => uint256) public bondPosted;
    mapping(uint256 poolId => uint256) public bondWithdrawn;
    mapping(uint256 poolId => uint256) public bondSlashed;
    uint256 public stakersOverCharged;

    constructor(
        PhalaToken pha_,
        StakingHub hub_,
        MockRouter router_,
        MockWorkerRegistry registry_,
        address governance_
    ) {
        pha = pha_;
        hub = hub_;
        router = router_;
        registry = registry_;
        governance = governance_;
        pha.approve(address(router), type(uint256).max);
        pha.approve(address(hub), type(uint256).max);
        for (uint256 i; i < ACTORS; ++i) {
            address actor = address(uint160(0xA000 + i));
            actors.push(actor);
            vm.prank(actor);
            pha.approve(address(hub), type(uint256).max);
        }
        for (uint256 i; i < POOLS; ++i) {
            address operator = address(uint160(0x0F00 + i));
            vm.prank(operator);
            uint256 id = hub.createPool(uint16(i * 2_000));
            poolIds.push(id);
            operatorOf[id] = operator;
            _addWorker(id);
        }
    }

    function requestsOf(address actor) external view returns (uint256[] memory) {
        return _requests[actor];
    }

    // ---------------------------------------------------------------- stakers

    function stake(uint256 actorSeed, uint256 poolSeed, uint256 amount) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        uint256 id = poolIds[poolSeed % POOLS];
        amount = bound(amount, 1 ether, 5_000 ether);
        pha.transfer(actor, amount);
        vm.prank(actor);
        try hub.stake(id, amount) {
            _settled(id);
            expectedValue[id][actor] += amount;
        } catch {
            vm.prank(actor);
            pha.transfer(address(this), amount);
        }
    }

    function requestWithdrawal(uint256 actorSeed, uint256 poolSeed, uint256 fraction) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        uint256 id = poolIds[poolSeed % POOLS];
        uint256 shares = hub.sharesOf(id, actor) * bound(fraction, 1, 100) / 100;
        if (shares == 0) return;
        vm.prank(actor);
        try hub.requestWithdrawal(id, shares) returns (uint256 requestId) {
            _settled(id);
            _requests[actor].push(requestId);
        } catch {}
    }

    function withdraw(uint256 actorSeed, uint256 index) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        uint256[] storage list = _requests[actor];
        if (list.length == 0) return;
        index %= list.length;
        uint256 requestId = list[index];
        IStakingHub.WithdrawalRequest memory request = hub.withdrawalRequest(requestId);
        if (block.timestamp < request.unlockAt) vm.warp(request.unlockAt);
        vm.prank(actor);
        uint256 paid = hub.withdraw(requestId);
        uint256 expected = expectedValue[request.poolId][actor];
        expectedValue[request.poolId][actor] = expected > paid ? expected - paid : 0;
        list[index] = list[list.length - 1];
        list.pop();
    }

    function claim(uint256 actorSeed, uint256 poolSeed) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        uint256 id = poolIds[poolSeed % POOLS];
        vm.prank(actor);
        claimed[id][actor] += hub.claimRewards(id);
    }

    // ---------------------------------------------------------------- fees, late

    /// A worker of the pool answers a request: the fee waits in the router until the pool settles.
    function earnFees(uint256 poolSeed, uint256 workerSeed, uint256 fee) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        address[] storage earners = _earners[id];
        if (earners.length == 0) return;
        address worker = earners[workerSeed % earners.length];
        if (!_active[worker] && block.timestamp > _removedAt[worker] + hub.RETIRE_DELAY()) return;
        fee = bound(fee, 1, 500 ether);
        router.creditFees(worker, fee);

        uint256 rate = hub.commissionOf(id);
        uint256 activeShares = hub.poolState(id).activeShares;
        if (activeShares == 0) {
            _pendingCommissionCeil[id] += fee;
            return;
        }
        _pendingCommissionCeil[id] += Math.mulDiv(fee, rate, BPS, Math.Rounding.Ceil);
        uint256 toStakers = fee - Math.mulDiv(fee, rate, BPS, Math.Rounding.Ceil);
        for (uint256 i; i < ACTORS; ++i) {
            uint256 shares = hub.sharesOf(id, actors[i]);
            if (shares == 0) continue;
            _pendingFloor[id][actors[i]] += Math.mulDiv(toStakers, shares, activeShares);
            _pendingCeil[id][actors[i]] += Math.mulDiv(fee, shares, activeShares, Math.Rounding.Ceil);
        }
    }

    /// A keeper harvests a pool, long after (or right after) its fees were earned.
    function harvest(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        hub.harvestPool(id);
        _settled(id);
    }

    // ---------------------------------------------------------------- operators

    function setCommission(uint256 poolSeed, uint256 bps) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        IStakingHub.Params memory p = hub.params();
        bps = bound(bps, p.minCommissionBps, p.maxCommissionBps);
        vm.prank(operatorOf[id]);
        hub.setCommission(id, uint16(bps));
        _settled(id);
    }

    function claimCommission(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        vm.prank(operatorOf[id]);
        commissionClaimed[id] += hub.claimCommission(id);
    }

    function addWorker(uint256 poolSeed) external {
        ++calls;
        _addWorker(poolIds[poolSeed % POOLS]);
    }

    function removeWorker(uint256 poolSeed, uint256 workerSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        address[] memory active = hub.poolWorkers(id);
        if (active.length == 0) return;
        address worker = active[workerSeed % active.length];
        vm.prank(operatorOf[id]);
        hub.removeWorker(id, worker);
        _active[worker] = false;
        _removedAt[worker] = block.timestamp;
    }

    // ---------------------------------------------------------------- governance

    function setParams(uint256 maxSeed, uint256 minSeed, uint256 unbondingSeed) external {
        ++calls;
        IStakingHub.Params memory p = hub.params();
        p.maxCommissionBps = uint16(bound(maxSeed, 0, 5_000));
        p.minCommissionBps = uint16(bound(minSeed, 0, p.maxCommissionBps));
        p.unbondingPeriod = uint64(bound(unbondingSeed, 1 days, 10 days));
        vm.prank(governance);
        hub.setParams(p);
    }

    // ---------------------------------------------------------------- operator bond

    /// @dev Anyone (here the handler) posts to a pool's bond.
    function postBond(uint256 poolSeed, uint256 amount) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        amount = bound(amount, 1, 500 ether);
        hub.postBond(id, amount);
        bondPosted[id] += amount;
    }

    function withdrawBond(uint256 poolSeed, uint256 fraction) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        uint256 amount = hub.bondOf(id) * bound(fraction, 1, 100) / 100;
        vm.prank(operatorOf[id]);
        try hub.withdrawBond(id, amount) {
            bondWithdrawn[id] += amount;
        } catch {}
    }

    // ---------------------------------------------------------------- faults

    function slashTimeout(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        if (_earners[id].length == 0) return;
        uint256 before = _poolTotal(id);
        uint256 bondBefore = _bondTotal(id);
        uint256 amount = before / 20; // 5% of the pool's stake
        router.slashForTimeout(_earners[id][0], 1, amount, address(0xE0), before / 200);
        _checkBondFirst(id, amount, before, bondBefore);
        _scaleExpected(id, before, _poolTotal(id));
    }

    function slashEquivocation(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        address[] memory active = hub.poolWorkers(id);
        if (active.length == 0) return;
        uint256 before = _poolTotal(id);
        uint256 bondBefore = _bondTotal(id);
        uint256 amount = before * hub.params().equivocationSlashBps / BPS;
        router.slashForEquivocation(active[0], 2, address(0xE0), 1 ether);
        _checkBondFirst(id, amount, before, bondBefore);
        _scaleExpected(id, before, _poolTotal(id));
        // A jailed worker answers nothing more; its earlier fees are still settled with the pool.
        _dropEarner(id, active[0]);
        _addWorker(id);
    }

    function warp(uint256 by) external {
        ++calls;
        vm.warp(block.timestamp + bound(by, 1, 3 days));
    }

    // ---------------------------------------------------------------- ghost bookkeeping

    function _settled(uint256 id) private {
        for (uint256 i; i < ACTORS; ++i) {
            address actor = actors[i];
            owedFloor[id][actor] += _pendingFloor[id][actor];
            owedCeil[id][actor] += _pendingCeil[id][actor];
            _pendingFloor[id][actor] = 0;
            _pendingCeil[id][actor] = 0;
        }
        commissionCeil[id] += _pendingCommissionCeil[id];
        _pendingCommissionCeil[id] = 0;
    }

    function _scaleExpected(uint256 id, uint256 before, uint256 afterSlash) private {
        if (before == 0) return;
        for (uint256 i; i < ACTORS; ++i) {
            address actor = actors[i];
            expectedValue[id][actor] = Math.mulDiv(expectedValue[id][actor], afterSlash, before);
        }
    }

    /// @dev Stakers pay only what the bond could not: min(stake, amount − bond) when positive.
    function _checkBondFirst(uint256 id, uint256 amount, uint256 before, uint256 bondBefore) private {
        uint256 fromBond = bondBefore - _bondTotal(id);
        bondSlashed[id] += fromBond;
        uint256 owedByStakers = amount > bondBefore ? Math.min(amount - bondBefore, before) : 0;
        if (before - _poolTotal(id) != owedByStakers || fromBond != Math.min(amount, bondBefore)) ++stakersOverCharged;
    }

    function _bondTotal(uint256 id) private view returns (uint256) {
        return hub.bondOf(id);
    }

    function _poolTotal(uint256 id) private view returns (uint256) {
        IStakingHub.Pool memory p = hub.poolState(id);
        return p.activeStake + p.unbondingStake;
    }

    function _addWorker(uint256 id) private {
        address worker = address(uint160(0xB0000 + ++_workerNonce));
        registry.setOperator(worker, operatorOf[id]);
        vm.prank(operatorOf[id]);
        try hub.addWorker(id, worker) {
            _earners[id].push(worker);
            _active[worker] = true;
        } catch {}
    }

    function _dropEarner(uint256 id, address worker) private {
        address[] storage earners = _earners[id];
        for (uint256 i; i < earners.length; ++i) {
            if (earners[i] == worker) {
                earners[i] = earners[earners.length - 1];
                earners.pop();
                break;
            }
        }
        _active[worker] = false;
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    function poolCount() external pure returns (uint256) {
        return POOLS;
    }
}

contract StakingFairnessInvariantTest is StakingInvariantBase {
    address internal constant GOVERNANCE = address(0x600);

    FairnessHandler internal handler;

    function setUp() public {
        deployHub(1 days, 1 days, GOVERNANCE);
        handler = new FairnessHandler(pha, hub, router, registry, GOVERNANCE);
        useHandler(address(handler));
    }

    /// Every staker receives at least its stake-time share of every settled fee, at the commission
    /// in force when the fee was earned (rounding: at most a few wei per action).
    function invariant_RewardsAtLeastStakeTimeShare() public view {
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            for (uint256 a; a < handler.actorCount(); ++a) {
                address actor = handler.actors(a);
                uint256 got = handler.claimed(id, actor) + hub.pendingRewards(id, actor);
                assertGe(got + 2 * handler.calls() + 2, handler.owedFloor(id, actor), "staker shorted");
            }
        }
    }

    /// No staker receives more than its stake-time share of the fees earned while it was staked
    /// (not even with no commission): staking just before a harvest earns nothing from before.
    function invariant_RewardsAtMostStakeTimeShare() public view {
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            for (uint256 a; a < handler.actorCount(); ++a) {
                address actor = handler.actors(a);
                uint256 got = handler.claimed(id, actor) + hub.pendingRewards(id, actor);
                assertLe(got, handler.owedCeil(id, actor), "staker took fees earned before it");
            }
        }
    }

    /// The operator never charges more than the commission in force when each fee was earned.
    function invariant_CommissionAtMostRateWhenEarned() public view {
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            uint256 got = handler.commissionClaimed(id) + hub.poolState(id).commissionAccrued;
            assertLe(got, handler.commissionCeil(id), "commission above the rate when earned");
        }
    }

    /// Every staker's stake (active plus unbonding) bears each slash in proportion to its value at
    /// the time: no one escapes a slash by unbonding, and no one bears another's share.
    function invariant_SlashesProportionalToStake() public view {
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            for (uint256 a; a < handler.actorCount(); ++a) {
                address actor = handler.actors(a);
                uint256 value = hub.stakeOf(id, actor);
                uint256[] memory requests = handler.requestsOf(actor);
                for (uint256 r; r < requests.length; ++r) {
                    if (hub.withdrawalRequest(requests[r]).poolId == id) value += hub.withdrawalValue(requests[r]);
                }
                uint256 expected = handler.expectedValue(id, actor);
                assertApproxEq(value, expected, 8 * handler.calls() + expected / 1e12, "slash share");
            }
        }
    }

    /// Fairness of the operator bond (review s25 F2): every slash takes the pool's operator bond
    /// first, and stakers pay only what the bond could not; the bond's books balance.
    function invariant_BondPaysBeforeStakers() public view {
        assertEq(handler.stakersOverCharged(), 0, "a slash reached stakers while the bond could pay");
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            assertEq(
                hub.bondOf(id), handler.bondPosted(id) - handler.bondWithdrawn(id) - handler.bondSlashed(id), "bond books"
            );
        }
    }
}
