// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Vm.sol";
import {RouterHubFixture} from "./RouterHubFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IWorkerStaking} from "../../contracts/interfaces/IWorkerStaking.sol";

/// @notice One of the attacker's consumer contracts: each has its own address, hence its own
/// sampling seed for a given request id.
contract FloodSender {
    AgentRouter internal immutable router;

    constructor(AgentRouter router_) {
        router = router_;
    }

    function request(uint64 account, uint256 agent, uint96 maxFee) external returns (uint256) {
        return router.request(account, agent, "the most work the sandbox allows", 0, 0, maxFee);
    }
}

/// @notice The attacker: in one transaction (one block, one prevrandao), for each next request id it
/// computes the router's draw for each of its senders and requests from one whose draw is the
/// victim, aiming every request at the victim.
contract TimeoutFlooder {
    AgentRouter internal immutable router;
    IWorkerStaking internal immutable staking;
    FloodSender[] internal senders;
    bytes4 public lastRefusal;

    constructor(AgentRouter router_, IWorkerStaking staking_, uint256 senderCount) {
        router = router_;
        staking = staking_;
        for (uint256 i; i < senderCount; ++i) senders.push(new FloodSender(router_));
    }

    function senderAt(uint256 i) external view returns (address) {
        return address(senders[i]);
    }

    /// @return sent Requests opened. @return refused Attempts the router refused (nothing charged).
    function flood(address victim, uint64 account, uint256 agent, uint96 maxFee, uint256 count)
        external
        returns (uint256 sent, uint256 refused)
    {
        for (uint256 n; n < count; ++n) {
            uint256 nextId = router.requestCount() + 1;
            bool opened;
            for (uint256 i; i < senders.length && !opened; ++i) {
                uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, nextId, address(senders[i]))));
                if (staking.sampleWorker(seed) != victim) continue;
                try senders[i].request(account, agent, maxFee) {
                    ++sent;
                    opened = true;
                } catch (bytes memory reason) {
                    ++refused;
                    lastRefusal = bytes4(reason);
                }
            }
            // No sender of ours draws the victim first for this id, or every one was refused.
            if (!opened) break;
        }
    }
}

/// @notice "Timeout flood" (attacker's review, medium-high). Sampling follows prevrandao, which a
/// contract reads in its own block: a consumer could aim any number of requests at one worker, each
/// asking for the most work the sandbox allows, more than the worker could answer before the
/// deadline. Each unanswered request was refunded in full and slashed the victim 0.2 PHA (and
/// marked its fault for mining rewards and pool performance): ~145k gas per request bought a
/// slash. Now a worker is never assigned more than `maxPendingPerWorker` unsettled requests, a
/// number it answers before their deadline (docs/ARCHITECTURE.md, "Timeout flood"): a full worker
/// is skipped and the draw repeated; when every worker drawn is full the request reverts.
contract RouterAttacksTimeoutFloodTest is RouterHubFixture {
    address internal constant VICTIM_OPERATOR = address(0x0DE7A70);
    address internal constant OTHER_OPERATOR = address(0x07E4);
    address internal constant ATTACKER = address(0xBAD);
    uint96 internal constant PRICE = 1 ether;
    uint256 internal constant SENDERS = 12;
    uint256 internal constant FLOOD = 30;

    uint256 internal victimPool;
    address internal victim;
    address internal other;
    uint256 internal agent;
    uint64 internal account;
    TimeoutFlooder internal flooder;
    uint96 internal fee;

    function setUp() public override {
        super.setUp();
        (victimPool, victim) = _poolWithWorker(VICTIM_OPERATOR, 1_000, FIRST_WORKER_KEY);
        uint256 otherPool;
        (otherPool, other) = _poolWithWorker(OTHER_OPERATOR, 1_000, FIRST_WORKER_KEY + 1);
        _stake(VICTIM_OPERATOR, victimPool, 10_000 ether);
        _stake(OTHER_OPERATOR, otherPool, 10_000 ether);
        agent = _registerAgent(agentOwner, PRICE, new bytes32[](0));
        // The per-worker cap alone: with the capacity fee on, the fee quoted here falls below the
        // rising estimate as the flood fills the router, and the fill loops below would never end.
        router.setCapacityPrice(0);
        fee = uint96(router.estimateFee(agent, 0));

        flooder = new TimeoutFlooder(router, IWorkerStaking(address(hub)), SENDERS);
        account = _openAccount(ATTACKER, flooder.senderAt(0), uint256(fee) * 3 * FLOOD);
        vm.startPrank(ATTACKER);
        for (uint256 i = 1; i < SENDERS; ++i) router.addConsumer(account, flooder.senderAt(i));
        vm.stopPrank();
    }

    /// @dev The attack as run on the old code: 30 requests aimed at the victim in one block. The victim
    /// gets no more than it can answer; the others go to the other worker or are refused.
    function test_attack_aFloodNeverGivesAWorkerMoreThanItCanAnswer() public {
        uint16 cap = router.feeConfig().maxPendingPerWorker;
        vm.recordLogs();
        (uint256 sent, uint256 refused) = flooder.flood(victim, account, agent, fee, FLOOD);
        (IAgentRouter.AgentRequest[] memory toVictim, uint256 toOther) = _assigned();

        assertLe(toVictim.length, cap, "the victim holds at most maxPendingPerWorker requests");
        assertEq(router.pendingOf(victim), toVictim.length, "its pending count");
        assertEq(sent, toVictim.length + toOther, "every request went to one of the two workers");
        // Once full the victim leaves the staking side's draw: no sender of the attacker draws it any
        // more, so the aiming stops at the cap and nothing is refused (before, the victim's extra
        // requests were re-drawn to the other worker).
        assertEq(toVictim.length, cap, "the victim filled");
        assertEq(sent, cap, "no request can be aimed at a full worker");
        assertEq(toOther, 0, "nothing re-drawn");
        assertEq(refused, 0, "nothing refused");

        // The victim answers what it holds before the deadline (what the bound guarantees), so no
        // timeout can slash it: the attack only bought it paid work.
        uint256 stakeBefore = _atStake(victimPool);
        for (uint256 i; i < toVictim.length; ++i) {
            vm.prank(relayer);
            router.fulfill(_fulfillment(toVictim[i], "done"));
        }
        vm.warp(toVictim[0].deadline + 1);
        for (uint256 i; i < toVictim.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, toVictim[i].id));
            router.timeout(toVictim[i]);
        }
        assertEq(_atStake(victimPool), stakeBefore, "the victim was never slashed");
        assertEq(router.pendingOf(victim), 0, "answers release the victim's slots");
        assertGe(router.earnings(agentOwner), toVictim.length * PRICE, "and the attacker paid for every answer");
    }

    /// @dev With every worker full, a request reverts before anything is reserved.
    function test_attack_whenEveryWorkerIsFullTheRequestRevertsAndCostsNothing() public {
        uint16 cap = router.feeConfig().maxPendingPerWorker;
        // Fill both workers (no aiming needed: a full worker is skipped).
        IAgentRouter.AgentRequest memory first = _requestAs(flooder.senderAt(0), account, agent, fee, false);
        for (uint256 i; router.pendingOf(victim) + router.pendingOf(other) < 2 * cap && i < 8 * cap; ++i) {
            _requestAs(flooder.senderAt(i % SENDERS), account, agent, fee, true);
        }
        assertEq(router.pendingOf(victim), cap, "victim full");
        assertEq(router.pendingOf(other), cap, "other full");
        uint256 reservedBefore = router.accountOf(account).reserved;
        vm.prank(flooder.senderAt(0));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkersBusy.selector, agent));
        router.request(account, agent, "x", 0, 0, fee);
        assertEq(router.accountOf(account).reserved, reservedBefore, "nothing reserved for the refused request");

        // A settled request (here a real timeout) frees its worker's slot for the next request.
        vm.warp(first.deadline + 1);
        router.timeout(first);
        // The timeout's slash took its pool's operator bond below the minimum, which takes the pool
        // out of the draw until its operator tops the bond up (StakingHub "operator bond").
        (uint256 firstPool,,,) = hub.workerInfo(first.worker);
        _postBond(hub.poolState(firstPool).operator, firstPool, 0.2 ether);
        IAgentRouter.AgentRequest memory next;
        // Bounded (a fill loop without a bound once ran out of memory): SENDERS draws are plenty.
        for (uint256 i; next.id == 0 && i < 4 * SENDERS; ++i) {
            next = _requestAs(flooder.senderAt(i % SENDERS), account, agent, fee, true);
        }
        assertEq(next.worker, first.worker, "the freed slot is the only room");
    }

    /// @dev Every way a request leaves the pending state releases exactly its worker's slot.
    function test_pendingFollowsAnswersAndTimeouts() public {
        IAgentRouter.AgentRequest memory a = _requestAs(flooder.senderAt(0), account, agent, fee, false);
        IAgentRouter.AgentRequest memory b = _requestAs(flooder.senderAt(1), account, agent, fee, false);
        assertEq(router.pendingOf(victim) + router.pendingOf(other), 2, "two pending");
        vm.prank(relayer);
        router.fulfill(_fulfillment(a, "ok"));
        assertEq(router.pendingOf(victim) + router.pendingOf(other), 1, "an answer releases one");
        vm.warp(b.deadline + 1);
        router.timeout(b);
        assertEq(router.pendingOf(victim) + router.pendingOf(other), 0, "a timeout releases one");
    }

    function test_RevertWhen_GovernanceSetsNoRoomOrTooMuch() public {
        AgentRouterState.Config memory config = router.feeConfig();
        config.maxPendingPerWorker = 0;
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setConfig(config);
        config.maxPendingPerWorker = router.MAX_PENDING_PER_WORKER_LIMIT() + 1;
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setConfig(config);
        config.maxPendingPerWorker = router.MAX_PENDING_PER_WORKER_LIMIT();
        router.setConfig(config);
        assertEq(router.feeConfig().maxPendingPerWorker, router.MAX_PENDING_PER_WORKER_LIMIT(), "upper bound accepted");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev A request from `sender`; with `mayFail`, a refused one returns an empty request.
    function _requestAs(address sender, uint64 account_, uint256 agent_, uint96 maxFee, bool mayFail)
        internal
        returns (IAgentRouter.AgentRequest memory req)
    {
        vm.recordLogs();
        vm.prank(sender);
        try router.request(account_, agent_, "x", 0, 0, maxFee) {
            req = _requestFromLogs();
        } catch {
            assertTrue(mayFail, "request refused");
        }
    }

    /// @dev The requests recorded since vm.recordLogs(): those assigned to the victim, and how many
    /// went to the other worker.
    function _assigned() internal returns (IAgentRouter.AgentRequest[] memory toVictim, uint256 toOther) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        toVictim = new IAgentRouter.AgentRequest[](logs.length);
        uint256 count;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(router) || logs[i].topics[0] != IAgentRouter.AgentRequested.selector) continue;
            (IAgentRouter.AgentRequest memory req,) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
            if (req.worker == victim) toVictim[count++] = req;
            else ++toOther;
        }
        assembly ("memory-safe") {
            mstore(toVictim, count)
        }
    }
}
