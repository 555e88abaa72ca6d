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

/// @notice Random actors staking, unbonding, withdrawing, claiming, harvesting and getting slashed,
/// with ghost accounting of what each actor put in and took out.
contract HubHandler is Test {
    uint256 internal constant ACTORS = 12;
    uint256 internal constant POOLS = 3;

    PhalaToken internal immutable pha;
    StakingHub internal immutable hub;
    MockRouter internal immutable router;
    MockWorkerRegistry internal immutable registry;

    address[] public actors;
    uint256[] public poolIds;
    mapping(uint256 poolId => address) public operatorOf;
    mapping(uint256 poolId => address) public workerOf;
    uint256 internal workerNonce;

    /// @dev Handler calls so far: each conversion's rounding remainder (< 1 wei) stays in its pool and
    /// is shared by that pool's other stakers, so an actor may gain at most about a wei per call.
    uint256 public calls;
    mapping(address actor => uint256) public deposited;
    mapping(address actor => uint256) public withdrawn;
    mapping(address actor => uint256) public rewardsClaimed;
    /// @dev Exact (rounded-up) reward entitlement per actor and pool, computed by looping here.
    mapping(uint256 poolId => mapping(address actor => uint256)) public earnedCeil;
    mapping(address actor => uint256[]) internal _requests;

    constructor(PhalaToken pha_, StakingHub hub_, MockRouter router_, MockWorkerRegistry registry_) {
        pha = pha_;
        hub = hub_;
        router = router_;
        registry = registry_;
        pha.approve(address(router), type(uint256).max);
        for (uint256 i; i < ACTORS; ++i) {
            address actor = address(uint160(0xA000 + i));
            actors.push(actor);
            vm.prank(actor);
            pha.approve(address(hub), type(uint256).max);
        }
        for (uint256 i; i < POOLS; ++i) {
            address operator = actors[i];
            vm.prank(operator);
            uint256 id = hub.createPool(uint16(i * 1_000));
            poolIds.push(id);
            operatorOf[id] = operator;
            _newWorker(id);
        }
    }

    function requestsOf(address actor) external view returns (uint256[] memory) {
        return _requests[actor];
    }

    function stake(uint256 actorSeed, uint256 poolSeed, uint256 amount) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        uint256 id = poolIds[poolSeed % POOLS];
        amount = bound(amount, 1, 5_000 ether);
        pha.transfer(actor, amount);
        vm.prank(actor);
        try hub.stake(id, amount) {
            deposited[actor] += amount;
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
        uint64 unlockAt = hub.withdrawalRequest(requestId).unlockAt;
        if (block.timestamp < unlockAt) vm.warp(unlockAt);
        vm.prank(actor);
        withdrawn[actor] += hub.withdraw(requestId);
        list[index] = list[list.length - 1];
        list.pop();
    }

    function claim(uint256 actorSeed, uint256 poolSeed) external {
        ++calls;
        address actor = actors[actorSeed % ACTORS];
        vm.prank(actor);
        rewardsClaimed[actor] += hub.claimRewards(poolIds[poolSeed % POOLS]);
    }

    function claimCommission(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        address operator = operatorOf[id];
        vm.prank(operator);
        rewardsClaimed[operator] += hub.claimCommission(id);
    }

    function earnFees(uint256 poolSeed, uint256 fee) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        address worker = workerOf[id];
        fee = bound(fee, 0, 500 ether);
        router.creditFees(worker, fee);
        IStakingHub.Pool memory p = hub.poolState(id);
        uint256 commission = p.activeShares == 0 ? fee : Math.mulDiv(fee, hub.commissionOf(id), 10_000);
        uint256 toStakers = fee - commission;
        earnedCeil[id][operatorOf[id]] += commission;
        if (p.activeShares != 0) {
            for (uint256 i; i < ACTORS; ++i) {
                uint256 shares = hub.sharesOf(id, actors[i]);
                if (shares != 0) {
                    earnedCeil[id][actors[i]] += Math.mulDiv(toStakers, shares, p.activeShares, Math.Rounding.Ceil);
                }
            }
        }
        hub.harvest(worker);
    }

    function slashTimeout(uint256 poolSeed, uint256 reporterSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        IStakingHub.Pool memory pool = hub.poolState(id);
        uint256 amount = (pool.activeStake + pool.unbondingStake) / 20;
        router.slashForTimeout(workerOf[id], 1, amount, actors[reporterSeed % ACTORS], amount / 10);
    }

    function slashEquivocation(uint256 poolSeed) external {
        ++calls;
        uint256 id = poolIds[poolSeed % POOLS];
        router.slashForEquivocation(workerOf[id], 2, address(0xE0), 1 ether);
        _newWorker(id);
    }

    function warp(uint256 by) external {
        ++calls;
        vm.warp(block.timestamp + bound(by, 1, 10 days));
    }

    function _newWorker(uint256 id) private {
        address worker = address(uint160(0xB0000 + ++workerNonce));
        registry.setOperator(worker, operatorOf[id]);
        vm.prank(operatorOf[id]);
        hub.addWorker(id, worker);
        workerOf[id] = worker;
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    function poolCount() external pure returns (uint256) {
        return POOLS;
    }
}

contract StakingHubInvariantTest is StakingInvariantBase {
    HubHandler internal handler;

    function setUp() public {
        deployHub(7 days, 2 days, address(this));
        handler = new HubHandler(pha, hub, router, registry);
        useHandler(address(handler));
    }

    /// PHA held by the hub covers every claim on it: stake, unbonding, commission and rewards.
    function invariant_HeldCoversAllClaims() public view {
        uint256 claims;
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            IStakingHub.Pool memory pool = hub.poolState(id);
            claims += pool.activeStake + pool.unbondingStake + pool.commissionAccrued;
            for (uint256 a; a < handler.actorCount(); ++a) {
                claims += hub.pendingRewards(id, handler.actors(a));
            }
        }
        assertGe(pha.balanceOf(address(hub)), claims, "held >= claims");
    }

    /// No actor gets back more principal than it put in: slashes and its own rounding only lower it;
    /// only other stakers' sub-wei rounding remainders, left in the shared pool, can add dust.
    function invariant_NoActorWithdrawsMoreThanDeposited() public view {
        for (uint256 a; a < handler.actorCount(); ++a) {
            address actor = handler.actors(a);
            uint256 value = handler.withdrawn(actor);
            for (uint256 p; p < handler.poolCount(); ++p) {
                value += hub.stakeOf(handler.poolIds(p), actor);
            }
            uint256[] memory requests = handler.requestsOf(actor);
            for (uint256 r; r < requests.length; ++r) {
                value += hub.withdrawalValue(requests[r]);
            }
            assertLe(value, handler.deposited(actor) + handler.calls(), "principal out <= principal in (+dust)");
        }
    }

    /// No actor's rewards (claimed + pending, commission included) exceed its exact entitlement.
    function invariant_RewardsWithinEntitlement() public view {
        for (uint256 a; a < handler.actorCount(); ++a) {
            address actor = handler.actors(a);
            uint256 got = handler.rewardsClaimed(actor);
            uint256 entitled;
            for (uint256 p; p < handler.poolCount(); ++p) {
                uint256 id = handler.poolIds(p);
                got += hub.pendingRewards(id, actor);
                entitled += handler.earnedCeil(id, actor);
                if (hub.poolState(id).operator == actor) got += hub.poolState(id).commissionAccrued;
            }
            assertLe(got, entitled, "rewards <= entitlement");
        }
    }

    /// Shares add up, and sampling weights match each pool's eligibility and stake.
    function invariant_SharesAndWeightsConsistent() public view {
        uint256 weightSum;
        for (uint256 p; p < handler.poolCount(); ++p) {
            uint256 id = handler.poolIds(p);
            IStakingHub.Pool memory pool = hub.poolState(id);
            uint256 shares;
            for (uint256 a; a < handler.actorCount(); ++a) {
                shares += hub.sharesOf(id, handler.actors(a));
            }
            assertEq(shares, pool.activeShares, "shares add up");
            bool eligible = pool.workerCount != 0 && pool.activeStake >= 1_000 ether * uint256(pool.workerCount);
            assertEq(pool.weight, eligible ? pool.activeStake / 100 ether : 0, "weight");
            weightSum += pool.weight;
        }
        assertEq(hub.totalWeight(), weightSum, "tree total");
    }
}
