// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Vm.sol";
import {RouterHubFixture} from "./RouterHubFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";

/// @notice Consumer that burns all the callback gas it is given (the relayer's block space).
contract GasBurner {
    AgentRouter internal immutable router;

    constructor(AgentRouter r) {
        router = r;
    }

    function request(uint64 account, uint256 agent, uint32 cbGas, uint96 maxFee) external returns (uint256) {
        return router.request(account, agent, "x", 0, cbGas, maxFee);
    }

    function onAgentResponse(uint256, uint16, bytes calldata) external pure {
        while (true) {}
    }

    function onAgentTimeout(uint256) external {}
}

/// @notice Review s23 (F1, F2), now refused. (F2) A full worker is not sampled, so filling the
/// stake-heaviest worker no longer makes honest requests draw it and fail `WorkersBusy`. (F1) The
/// router refuses requests once the relay gas of all pending ones reaches what relayers can put on
/// chain within one request timeout, so a flood across every worker cannot make deadlines pass.
contract RouterAttacksPendingCapTest is RouterHubFixture {
    event Measured(string what, uint256 value);

    address internal constant ATTACKER = address(0xBAD);
    address internal constant HONEST = address(0x600D);
    uint256 internal agent;
    uint96 internal fee;
    uint256[] internal pools;
    address[] internal ws;

    function _setupPools(uint256[] memory stakes) internal {
        for (uint256 i; i < stakes.length; ++i) {
            address op = address(uint160(0x1000 + i));
            (uint256 p, address w) = _poolWithWorker(op, 1_000, FIRST_WORKER_KEY + i);
            _stake(op, p, stakes[i]);
            pools.push(p);
            ws.push(w);
        }
        agent = _registerAgent(agentOwner, 0, new bytes32[](0));
        fee = uint96(router.estimateFee(agent, 0) + 0.5 ether); // headroom for the capacity fee, which rises as they fill
    }

    function _heavyAndThreeSmall() internal {
        uint256[] memory stakes = new uint256[](4);
        stakes[0] = 90_000 ether;
        stakes[1] = 3_334 ether;
        stakes[2] = 3_333 ether;
        stakes[3] = 3_333 ether;
        _setupPools(stakes);
    }

    /// @dev Opens attacker requests until `worker` is full; returns them.
    function _fill(uint64 atk, address worker) internal returns (IAgentRouter.AgentRequest[] memory reqs, uint256 opened) {
        uint16 cap = router.feeConfig().maxPendingPerWorker;
        reqs = new IAgentRouter.AgentRequest[](400);
        for (uint256 i; router.pendingOf(worker) < cap && i < 400; ++i) {
            vm.prevrandao(bytes32(i + 1));
            vm.recordLogs();
            vm.prank(ATTACKER);
            router.request(atk, agent, "x", 0, 0, fee);
            reqs[opened++] = _requestFromLogs();
        }
        assertEq(router.pendingOf(worker), cap, "worker filled");
    }

    /// F2: one pool with 90 % of the stake, three small ones. The attacker fills only the big
    /// worker's 16 slots; every honest request is then served by the small workers.
    function test_Attack_FillingTheHeaviestWorkerRefusesNoHonestRequest() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 200);
        uint64 honest = _openAccount(HONEST, HONEST, uint256(fee) * 200);
        (, uint256 attackerRequests) = _fill(atk, ws[0]);
        emit Measured("attacker requests to fill the heavy worker", attackerRequests);

        // The full worker is out of the draw: no seed samples it.
        for (uint256 s; s < 64; ++s) {
            assertTrue(hub.sampleWorker(uint256(keccak256(abi.encode("seed", s)))) != ws[0], "full worker not sampled");
        }

        uint256 refused;
        for (uint256 i; i < 200; ++i) {
            vm.prevrandao(bytes32(uint256(keccak256(abi.encode("honest", i)))));
            vm.recordLogs();
            vm.prank(HONEST);
            try router.request(honest, agent, "x", 0, 0, fee) returns (uint256) {
                IAgentRouter.AgentRequest memory r = _requestFromLogs();
                assertTrue(r.worker != ws[0], "never the full worker");
                vm.prank(relayer);
                router.fulfill(_fulfillment(r, "ok"));
            } catch {
                ++refused;
            }
        }
        emit Measured("honest requests refused out of 200", refused);
        assertEq(refused, 0, "every honest request served while small workers have room");
    }

    /// Once one of its requests settles the full worker has room again and is sampled again.
    function test_FullWorkerIsSampledAgainOnceARequestSettles() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 200);
        (IAgentRouter.AgentRequest[] memory reqs, uint256 opened) = _fill(atk, ws[0]);
        IAgentRouter.AgentRequest memory onHeavy;
        for (uint256 i; i < opened; ++i) {
            if (reqs[i].worker == ws[0]) onHeavy = reqs[i];
        }
        vm.prank(relayer);
        router.fulfill(_fulfillment(onHeavy, "ok"));
        assertEq(router.pendingOf(ws[0]), router.feeConfig().maxPendingPerWorker - 1, "one slot free");
        bool sampled;
        for (uint256 s; s < 16 && !sampled; ++s) {
            sampled = hub.sampleWorker(uint256(keccak256(abi.encode("again", s)))) == ws[0];
        }
        assertTrue(sampled, "sampled again (90 % of the stake)");
    }

    /// A timeout frees the slot too; a lowered cap marks a worker that is over it when next drawn.
    function test_TimeoutGivesRoomAndLoweredCapMarksFullWhenDrawn() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 200);
        (IAgentRouter.AgentRequest[] memory reqs,) = _fill(atk, ws[0]);
        vm.warp(reqs[0].deadline + 1);
        router.timeout(reqs[0]);
        assertTrue(router.pendingOf(reqs[0].worker) < router.feeConfig().maxPendingPerWorker, "room");

        // Cap lowered under the heavy worker's load: the next draw of it marks it full, and the
        // request goes to a worker with room.
        AgentRouterState.Config memory c = router.feeConfig();
        c.maxPendingPerWorker = 4;
        router.setConfig(c);
        fee = uint96(router.estimateFee(agent, 0) + 0.5 ether); // headroom for the capacity fee, which rises as they fill
        uint64 honest = _openAccount(HONEST, HONEST, uint256(fee) * 50);
        for (uint256 i; i < 20; ++i) {
            vm.prevrandao(bytes32(uint256(keccak256(abi.encode("lowered", i)))));
            vm.recordLogs();
            vm.prank(HONEST);
            router.request(honest, agent, "x", 0, 0, fee);
            IAgentRouter.AgentRequest memory r = _requestFromLogs();
            assertTrue(r.worker != ws[0], "over-cap worker never assigned");
            vm.prank(relayer);
            router.fulfill(_fulfillment(r, "ok"));
        }
        for (uint256 s; s < 64; ++s) {
            assertTrue(hub.sampleWorker(uint256(keccak256(abi.encode("seed", s)))) != ws[0], "marked full");
        }
    }

    /// WorkersBusy now means what it says: every worker is full.
    function test_WorkersBusyOnlyWhenEveryWorkerIsFull() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 200);
        uint256 cap = router.feeConfig().maxPendingPerWorker;
        for (uint256 i; i < 4 * cap; ++i) {
            vm.prevrandao(bytes32(i + 1));
            vm.prank(ATTACKER);
            router.request(atk, agent, "x", 0, 0, fee);
        }
        for (uint256 w; w < 4; ++w) assertEq(router.pendingOf(ws[w]), cap, "all full");
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkersBusy.selector, agent));
        router.request(atk, agent, "x", 0, 0, fee);
    }

    /// Review s24: a hub moved to another router while a worker was marked full left the retired
    /// router's refunds reverting on its `setWorkerFull(false)` (`NotRouter`) and the worker out of
    /// every later draw. The hub now refuses the move while any mark stands: pause, let the pending
    /// requests settle (each clears its worker's mark), then move.
    function test_Attack_RouterMoveWhileAWorkerIsFullIsRefusedUntilItsRequestsSettle() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 200);
        (IAgentRouter.AgentRequest[] memory reqs, uint256 opened) = _fill(atk, ws[0]);
        assertEq(hub.fullWorkers(), 1, "one worker marked");
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkersMarkedFull.selector, 1));
        hub.setRouter(address(0xBEEF));

        router.pause();
        vm.warp(reqs[0].deadline + 1);
        for (uint256 i; i < opened; ++i) {
            if (router.requestStatus(reqs[i].id) == IAgentRouter.RequestStatus.Pending) router.timeout(reqs[i]);
        }
        assertEq(router.accountOf(atk).reserved, 0, "every refund went through");
        assertEq(hub.fullWorkers(), 0, "marks cleared by settlement");
        hub.setRouter(address(0xBEEF));
        // Its timeouts used up its operator bond (0.2 PHA each, 3.2 posted): out of the draw until
        // topped up (StakingHub "operator bond"); topped up, it is drawn again.
        (uint256 pool,,,) = hub.workerInfo(ws[0]);
        _postBond(address(0xB0D), pool, MIN_BOND);
        bool sampled;
        for (uint256 s; s < 16 && !sampled; ++s) {
            sampled = hub.sampleWorker(uint256(keccak256(abi.encode("moved", s)))) == ws[0];
        }
        assertTrue(sampled, "the worker is drawn again under the new router");
    }

    function test_RevertWhen_NotRouterMarksAWorkerFull() public {
        _heavyAndThreeSmall();
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotRouter.selector, ATTACKER));
        hub.setWorkerFull(ws[1], true);
    }

    /// F1: 8 equal workers; the attacker tries to fill all of them (8 x 16) with requests whose
    /// callbacks burn 2M gas and whose answers would carry 64 KiB. The router admits relay gas up to
    /// relayGasPerSecond x requestTimeout (180M at 1.5M gas/s and 120 s, half the 360M an L1 offers
    /// in that window) and refuses the rest with RelayCapacityFull, nothing reserved. Every admitted
    /// request is answered within its deadline and paid for in full: no worker slashed, no free refund.
    function test_Attack_RelayFloodAcrossAllWorkersIsRefusedPastCapacity() public {
        uint256[] memory stakes = new uint256[](8);
        for (uint256 i; i < 8; ++i) stakes[i] = 10_000 ether;
        _setupPools(stakes);
        burner = new GasBurner(router);
        cbGas = router.feeConfig().maxCallbackGasLimit;
        // Headroom for the capacity fee, which rises as the flood fills the router (at most ~4.1 PHA).
        maxFeeCb = uint96(router.estimateFee(agent, cbGas) + 5 ether);
        atkAccount = _openAccount(ATTACKER, address(burner), uint256(maxFeeCb) * 200);
        perAnswer = uint256(cbGas) + router.MAX_OUTPUT_BYTES() * router.OUTPUT_GAS_PER_BYTE()
            + router.ESTIMATED_FULFIL_EXECUTION_GAS() + router.feeConfig().fulfillOverheadGas;

        accountFunds = router.accountOf(atkAccount).balance;
        vm.recordLogs();
        uint256 opened = _flood(8 * 16);
        _answerAll(_requests(opened));
        // Capacity is free again for anyone.
        burner.request(atkAccount, agent, cbGas, maxFeeCb);
    }

    GasBurner internal burner;
    uint32 internal cbGas;
    uint96 internal maxFeeCb;
    uint64 internal atkAccount;
    uint256 internal perAnswer;
    uint256 internal accountFunds;

    function _flood(uint256 attempts) internal returns (uint256 opened) {
        uint256 capacity = uint256(router.relayGasPerSecond()) * router.feeConfig().requestTimeout;
        uint256 refused;
        for (uint256 i; opened + refused < attempts && i < 400; ++i) {
            try burner.request(atkAccount, agent, cbGas, maxFeeCb) {
                ++opened;
            } catch (bytes memory reason) {
                if (bytes4(reason) != IAgentRouter.RelayCapacityFull.selector) {
                    vm.prevrandao(bytes32(i + 1));
                    continue;
                }
                ++refused;
                bytes memory expected = abi.encodeWithSelector(
                    IAgentRouter.RelayCapacityFull.selector, opened * perAnswer, perAnswer, capacity
                );
                assertEq(keccak256(reason), keccak256(expected), "clear error");
            }
        }
        emit Measured("requests admitted", opened);
        emit Measured("requests refused (RelayCapacityFull)", refused);
        emit Measured("relay gas admitted", router.pendingRelayGas());
        assertEq(opened, capacity / perAnswer, "admitted exactly what fits");
        assertTrue(refused > 0, "the flood is refused past capacity");
        assertEq(router.pendingRelayGas(), opened * perAnswer, "pending relay gas");
        assertTrue(router.pendingRelayGas() <= 360_000_000 / 2, "at most half the L1 gas of the window");
        assertEq(
            router.accountOf(atkAccount).reserved + (accountFunds - router.accountOf(atkAccount).balance),
            uint256(maxFeeCb) * opened,
            "refused requests reserved nothing"
        );
    }

    /// @dev Every admitted request is answered with a 64 KiB output (non-zero bytes, the dearest
    /// calldata) before the deadline: the gas the relayer is reimbursed for (metered execution,
    /// calldata, the transaction overhead) stays within the relay gas the router counted.
    function _answerAll(IAgentRouter.AgentRequest[] memory reqs) internal {
        bytes memory out = new bytes(65_536);
        for (uint256 i; i < out.length; i += 32) {
            assembly ("memory-safe") {
                mstore(add(add(out, 0x20), i), not(0))
            }
        }
        uint256 stakeBefore = _totalStake();
        uint256 balBefore = router.accountOf(atkAccount).balance;
        uint256 earnedBefore = router.earnings(relayer);
        for (uint256 i; i < reqs.length; ++i) {
            assertTrue(block.timestamp <= reqs[i].deadline, "in time");
            IAgentRouter.Fulfillment memory f = _fulfillment(reqs[i], out);
            vm.prank(relayer);
            router.fulfill{gas: 4_000_000}(f);
        }
        // phaPerGas is 1 gwei in the fixture.
        uint256 relayed = (router.earnings(relayer) - earnedBefore) / 1 gwei;
        emit Measured("gas the relayer was reimbursed for, every admitted answer", relayed);
        assertTrue(relayed <= reqs.length * perAnswer, "within the counted relay gas");
        assertEq(router.pendingRelayGas(), 0, "capacity released");
        assertEq(_totalStake(), stakeBefore, "no pool slashed");
        uint256 paid = balBefore - router.accountOf(atkAccount).balance;
        emit Measured("attacker paid for the flood (wei)", paid);
        assertTrue(paid >= reqs.length * uint256(cbGas) * 1 gwei, "paid every callback's gas");
    }

    function _totalStake() internal view returns (uint256 total) {
        for (uint256 i; i < pools.length; ++i) total += _atStake(pools[i]);
    }

    function test_TimeoutReleasesRelayCapacity() public {
        _heavyAndThreeSmall();
        uint64 atk = _openAccount(ATTACKER, ATTACKER, uint256(fee) * 10);
        vm.recordLogs();
        vm.prank(ATTACKER);
        router.request(atk, agent, "x", 0, 0, fee);
        IAgentRouter.AgentRequest memory r = _requestFromLogs();
        assertTrue(router.pendingRelayGas() != 0, "counted");
        vm.warp(r.deadline + 1);
        router.timeout(r);
        assertEq(router.pendingRelayGas(), 0, "released");
    }

    function test_GovernanceSetsRelayGasPerSecondWithinBounds() public {
        assertEq(router.relayGasPerSecond(), router.DEFAULT_RELAY_GAS_PER_SECOND(), "default");
        router.setRelayGasPerSecond(2_000_000);
        assertEq(router.relayGasPerSecond(), 2_000_000, "set");
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setRelayGasPerSecond(0);
        uint64 tooHigh = router.MAX_RELAY_GAS_PER_SECOND() + 1;
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setRelayGasPerSecond(tooHigh);
        vm.prank(ATTACKER);
        vm.expectRevert();
        router.setRelayGasPerSecond(3_000_000);
    }

    function _requests(uint256 max) internal returns (IAgentRouter.AgentRequest[] memory out) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        out = new IAgentRouter.AgentRequest[](max);
        uint256 c;
        for (uint256 i; i < logs.length && c < max; ++i) {
            if (logs[i].emitter != address(router) || logs[i].topics[0] != IAgentRouter.AgentRequested.selector) continue;
            (out[c++],) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
        }
        assembly ("memory-safe") {
            mstore(out, c)
        }
    }
}
