// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterHubFixture} from "./RouterHubFixture.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice The relay capacity (relayGasPerSecond x requestTimeout of pending relay gas) is priced:
/// each request is priced relayGas x timeout x capacityPrice x u^4 when it is opened, u being the
/// utilisation with it admitted, and pays it to the protocol with its answer; a timeout refunds it to
/// the requester and slashes it from the worker that missed (docs/ARCHITECTURE.md, "Relay capacity").
/// Review s24 F1 held the whole capacity for 120 s for ~0.27 PHA with its own pools, agent and relays.
contract RouterAttacksCapacityHoldTest is RouterHubFixture {
    event Measured(string what, uint256 value);

    address internal constant ATTACKER = address(0xBAD);
    address internal constant HONEST = address(0x600D);
    uint256 internal constant ATTACKER_KEY = 0xA11CE100;

    address[] internal attackerWorkers;
    uint256[] internal attackerPoolIds;
    uint256[] internal honestPoolIds;
    uint256 internal atkAgent;

    function _setup(uint256 honestPools, uint256 attackerPools) internal {
        for (uint256 i; i < honestPools; ++i) {
            address op = address(uint160(0x1000 + i));
            (uint256 p,) = _poolWithWorker(op, 1_000, FIRST_WORKER_KEY + i);
            _stake(op, p, 10_000 ether);
            honestPoolIds.push(p);
        }
        for (uint256 i; i < attackerPools; ++i) {
            (uint256 p, address w) = _poolWithWorker(ATTACKER, 0, ATTACKER_KEY + i);
            _stake(ATTACKER, p, 1_000 ether); // the minimum per worker
            attackerWorkers.push(w);
            attackerPoolIds.push(p);
        }
        atkAgent = _registerAgent(ATTACKER, 0, new bytes32[](0)); // its own agent, price 0
    }

    function _isAttackers(address w) internal view returns (bool) {
        for (uint256 i; i < attackerWorkers.length; ++i) {
            if (attackerWorkers[i] == w && router.pendingOf(w) < router.feeConfig().maxPendingPerWorker) return true;
        }
        return false;
    }

    /// @dev A request by ATTACKER drawn to one of its own workers (a contract can aim: the seed is
    /// known in the block), with the router's estimate as its max fee.
    function _aimedRequest(uint64 account, uint32 cbGas) internal returns (IAgentRouter.AgentRequest memory r) {
        // Bounded: a fill loop without a bound once ran out of memory.
        for (uint256 i; i < 4_096; ++i) {
            bytes32 rnd = keccak256(abi.encode("aim", router.requestCount(), i));
            uint256 seed = uint256(keccak256(abi.encode(uint256(rnd), uint256(router.requestCount()) + 1, ATTACKER)));
            if (!_isAttackers(hub.sampleWorker(seed))) continue;
            uint96 maxFee = uint96(router.estimateFee(atkAgent, cbGas));
            vm.prevrandao(rnd);
            vm.recordLogs();
            vm.prank(ATTACKER);
            router.request(account, atkAgent, "x", 0, cbGas, maxFee);
            return _requestFromLogs();
        }
        revert("no draw onto the attacker's workers");
    }

    function _expectedCapacityFee(uint256 relayGas, uint256 pendingBefore) internal view returns (uint256) {
        return _expectedCapacityFee(relayGas, pendingBefore, router.feeConfig().requestTimeout);
    }

    function _relayGasOf(uint32 cbGas) internal view returns (uint256) {
        return uint256(cbGas) + router.feeConfig().fulfillOverheadGas + router.ESTIMATED_FULFIL_EXECUTION_GAS()
            + router.MAX_OUTPUT_BYTES() * router.OUTPUT_GAS_PER_BYTE();
    }

    /// Review s24 F1, replayed: 4 attacker pools at the 1,000 PHA minimum, its own price-0 agent,
    /// 2M-gas callbacks, its workers answer at the deadline and it relays itself, so the worker fee,
    /// the agent price and the relay gas come back to it. Filling the capacity now costs it a fifth of
    /// capacity x timeout x capacityPrice (180M x 120 s x 1e10 wei / 5 = 43.2 PHA) on top of the 5 %
    /// protocol share, all to the treasury: >= 40 PHA per 120 s, >= 1,200 PHA an hour (it was 0.27 PHA
    /// per 120 s, ~8 PHA an hour). The honest requests it refuses could have paid at most ~400 PHA an
    /// hour for the same capacity (3,830 smallest requests at ~0.105 PHA).
    function test_Attack_HoldingTheRelayCapacityToTheDeadlineCostsItsHolder() public {
        _setup(8, 4);
        uint64 atk = _openAccount(ATTACKER, ATTACKER, 200 ether);
        uint64 honest = _openAccount(HONEST, HONEST, 100 ether);
        uint256 capacity = uint256(router.relayGasPerSecond()) * router.feeConfig().requestTimeout;
        uint256 balanceBefore = router.accountOf(atk).balance;
        uint256 protocolBefore = router.protocolFees();
        uint256 capacityFees = _fillCapacity(atk, capacity);
        assertEq(_carriedCapacityFees(), capacityFees, "each request carries the fee priced when it was opened");

        // Honest requests are still refused while it holds: the attack's effect is unchanged, its price is not.
        vm.warp(held[0].deadline - 60);
        uint96 small = uint96(router.estimateFee(atkAgent, 0));
        bytes memory full = abi.encodeWithSelector(IAgentRouter.RelayCapacityFull.selector, capacity, _relayGasOf(0), capacity);
        vm.prank(HONEST);
        vm.expectRevert(full);
        router.request(honest, atkAgent, "x", 0, 0, small);

        uint256 net = balanceBefore - router.accountOf(atk).balance - _answerAtDeadlineAndCollect();
        emit Measured("attacker requests holding the router", held.length);
        emit Measured("capacity fees paid to the protocol (wei)", capacityFees);
        emit Measured("net PHA cost of 120 s of router-wide denial (wei)", net);
        emit Measured("net PHA cost per hour (wei)", net * 30);
        emit Measured("protocol fees accrued (wei)", router.protocolFees() - protocolBefore);
        assertGe(router.protocolFees() - protocolBefore, capacityFees, "the capacity fees went to the treasury");
        assertGe(net, capacityFees, "and are lost to the attacker");
        assertGe(net, 40 ether, ">= 40 PHA per 120 s held");
        assertGe(net * 30, 1_200 ether, ">= 1,200 PHA per hour held");
        // At least the fees the honest requests it displaced could have paid (capacity / smallest
        // request's relay gas, 30 windows an hour, at the smallest request's estimate on an empty router).
        assertGe(net * 30, 30 * (capacity / _relayGasOf(0)) * 0.105 ether, "dearer than the honest demand");
    }

    /// Review s25 C1's fix must not open a cheaper hold: the attacker's workers never answer (their
    /// backups down too, the worst case) and it times its requests out itself. It gets every max fee
    /// back, but each missing worker's pool is slashed the miss penalty plus the request's capacity fee:
    /// holding by timeouts costs more than by answers.
    function test_Attack_HoldingTheCapacityByTimeoutsCostsNoLess() public {
        _setup(8, 4);
        uint64 atk = _openAccount(ATTACKER, ATTACKER, 200 ether);
        uint256 capacity = uint256(router.relayGasPerSecond()) * router.feeConfig().requestTimeout;
        uint256 balanceBefore = router.accountOf(atk).balance;
        uint256 stakeBefore = _attackerStake();
        uint256 capacityFees = _fillCapacity(atk, capacity);

        vm.warp(held[0].deadline + 1);
        for (uint256 i; i < held.length; ++i) {
            vm.prank(ATTACKER);
            router.timeout(held[i]);
        }
        assertEq(router.accountOf(atk).balance, balanceBefore, "every max fee refunded in full");
        assertEq(router.accountOf(atk).reserved, 0, "nothing left reserved");
        uint256 slashed = stakeBefore - _attackerStake();
        uint256 penalty = uint256(router.feeConfig().workerFee) * router.feeConfig().timeoutPenaltyBps / 10_000;
        assertEq(slashed, capacityFees + held.length * penalty, "its pools paid the capacity fees and the penalties");
        uint256 net = slashed - token.balanceOf(ATTACKER); // the timeout callers' gas rewards came back to it
        emit Measured("attacker requests holding the router", held.length);
        emit Measured("slashed from its pools (wei)", slashed);
        emit Measured("net PHA cost of 120 s held by timeouts (wei)", net);
        assertGe(net, capacityFees, "no cheaper than paying the capacity fees with answers");
        assertGe(net, 40 ether, ">= 40 PHA per 120 s held");
    }

    function _attackerStake() internal view returns (uint256) {
        return _totalStake(attackerPoolIds);
    }

    /// @dev What slashes take from: the pools' operator bonds, then their stake.
    function _totalStake(uint256[] storage pools) internal view returns (uint256 total) {
        for (uint256 i; i < pools.length; ++i) total += _atStake(pools[i]);
    }

    function _carriedCapacityFees() internal view returns (uint256 total) {
        for (uint256 i; i < held.length; ++i) total += held[i].capacityFee;
    }

    IAgentRouter.AgentRequest[] internal held;

    /// @dev Worst-case aimed requests until no more fit, then one that takes the rest; returns the
    /// capacity fees they paid as recomputed here.
    function _fillCapacity(uint64 atk, uint256 capacity) internal returns (uint256 capacityFees) {
        uint32 maxCb = router.feeConfig().maxCallbackGasLimit;
        uint256 perMax = _relayGasOf(maxCb);
        while (router.pendingRelayGas() + perMax <= capacity) {
            capacityFees += _expectedCapacityFee(perMax, router.pendingRelayGas());
            held.push(_aimedRequest(atk, maxCb));
        }
        uint256 rest = capacity - router.pendingRelayGas();
        if (rest >= perMax - maxCb) {
            capacityFees += _expectedCapacityFee(rest, router.pendingRelayGas());
            held.push(_aimedRequest(atk, uint32(rest - (perMax - maxCb))));
        }
        assertEq(router.pendingRelayGas(), capacity, "capacity held");
    }

    /// @dev The attacker's workers answer at the deadline and it relays: returns what came back to it
    /// (its relayer earnings and its pools' worker fees).
    function _answerAtDeadlineAndCollect() internal returns (uint256 back) {
        vm.warp(held[0].deadline);
        for (uint256 i; i < held.length; ++i) {
            vm.prank(ATTACKER);
            router.fulfill(_fulfillment(held[i], "ok"));
        }
        back = router.earnings(ATTACKER);
        for (uint256 i; i < attackerWorkers.length; ++i) back += router.workerFees(attackerWorkers[i]);
    }

    /// An honest request at 10 % utilisation answered in 5 s: its capacity fee is a few ten-thousandths
    /// of a PHA, under 0.3 % of its estimate, paid with the answer; the rest of its reservation comes
    /// back as before.
    function test_HonestRequestAtLowUtilisationPaysLittle() public {
        _setup(8, 0);
        uint256 honestAgent = _registerAgent(agentOwner, 0.01 ether, new bytes32[](0));
        uint64 honest = _openAccount(HONEST, HONEST, 100 ether);
        uint256 capacity = uint256(router.relayGasPerSecond()) * router.feeConfig().requestTimeout;
        // Other users' requests fill the router to ~10 %.
        uint96 fill = uint96(router.estimateFee(honestAgent, 0) * 2);
        while (router.pendingRelayGas() + _relayGasOf(0) <= capacity / 10) _requestAs(HONEST, honest, honestAgent, fill);
        emit Measured("utilisation before (ppm)", router.pendingRelayGas() * 1e6 / capacity);

        uint256 pendingBefore = router.pendingRelayGas();
        uint256 estimate = router.estimateFee(honestAgent, 0);
        uint256 capacityFee = _expectedCapacityFee(_relayGasOf(0), pendingBefore);
        uint256 balanceBefore = router.accountOf(honest).balance;
        IAgentRouter.AgentRequest memory r = _requestAs(HONEST, honest, honestAgent, uint96(estimate));
        assertEq(router.accountOf(honest).balance, balanceBefore, "nothing charged before the answer");
        assertEq(r.maxFee, estimate, "the whole max fee is reserved");
        assertEq(r.capacityFee, capacityFee, "priced at request");

        vm.warp(block.timestamp + 5);
        uint256 protocolBefore = router.protocolFees();
        vm.prank(relayer);
        router.fulfill(_fulfillment(r, "ok"));
        uint256 paid = balanceBefore - router.accountOf(honest).balance;
        uint256 share = (0.01 ether + router.feeConfig().workerFee) * router.feeConfig().protocolFeeBps / 10_000;
        assertEq(router.protocolFees() - protocolBefore, share + capacityFee, "the capacity fee paid with the answer");
        emit Measured("capacity fee at 10% utilisation (wei)", capacityFee);
        emit Measured("estimate (wei)", estimate);
        emit Measured("paid in all, answered in 5 s (wei)", paid);
        assertLe(capacityFee, 0.0003 ether, "a few ten-thousandths of a PHA");
        assertLe(capacityFee * 1_000, estimate * 3, "under 0.3 % of the estimate");
        assertGe(paid, capacityFee + 0.11 ether, "price, worker fee, protocol share and gas paid as before");
    }

    /// The minimum is exact (one wei less is refused, before anything is charged) and includes the
    /// capacity fee, which rises with the utilisation. Review s25 C1: a timeout refunds the request in
    /// full, capacity fee included; the worker that missed is slashed the penalty plus that fee.
    function test_ATimeoutRefundsTheCapacityFeeAndSlashesItFromTheWorker() public {
        _setup(4, 0);
        uint64 honest = _openAccount(HONEST, HONEST, 100 ether);
        uint256 agent = _registerAgent(agentOwner, 0, new bytes32[](0));
        uint256 required = _expectedMinimumFee(0, 0, router.feeConfig());
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.MaxFeeTooLow.selector, required - 1, required));
        vm.prank(HONEST);
        router.request(honest, agent, "x", 0, 0, uint96(required - 1));

        uint256 balanceBefore = router.accountOf(honest).balance;
        uint256 capacityFee = _expectedCapacityFee(_relayGasOf(0), router.pendingRelayGas());
        IAgentRouter.AgentRequest memory r = _requestAs(HONEST, honest, agent, uint96(required));
        assertEq(r.capacityFee, capacityFee, "priced at request");
        assertTrue(capacityFee != 0, "not free");
        assertTrue(_expectedMinimumFee(0, 0, router.feeConfig()) > required, "dearer once the router holds more");
        uint256 stakeBefore = _totalStake(honestPoolIds);
        vm.warp(r.deadline + 1);
        router.timeout(r);
        assertEq(router.accountOf(honest).balance, balanceBefore, "refunded in full, the capacity fee too");
        assertEq(router.accountOf(honest).reserved, 0, "nothing left reserved");
        uint256 penalty = uint256(router.feeConfig().workerFee) * router.feeConfig().timeoutPenaltyBps / 10_000;
        assertEq(stakeBefore - _totalStake(honestPoolIds), penalty + capacityFee, "the worker pays the penalty and the capacity fee");
    }

    /// A batch pays each answer's capacity fee, as priced when its request was opened.
    function test_ABatchPaysEachRequestsCapacityFee() public {
        _setup(4, 0);
        uint64 honest = _openAccount(HONEST, HONEST, 100 ether);
        uint256 agent = _registerAgent(agentOwner, 0, new bytes32[](0));
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(_requestAs(HONEST, honest, agent, uint96(router.estimateFee(agent, 0))), "a");
        batch[1] = _fulfillment(_requestAs(HONEST, honest, agent, uint96(router.estimateFee(agent, 0))), "b");
        assertTrue(batch[1].request.capacityFee > batch[0].request.capacityFee, "the second was priced fuller");
        uint256 protocolBefore = router.protocolFees();
        vm.prank(relayer);
        router.fulfillBatch(batch);
        uint256 share = uint256(router.feeConfig().workerFee) * router.feeConfig().protocolFeeBps / 10_000;
        assertEq(
            router.protocolFees() - protocolBefore,
            2 * share + batch[0].request.capacityFee + batch[1].request.capacityFee,
            "each answer's share and capacity fee"
        );
    }

    /// Review s25 C2: a request quoted at the fee now reverts once another lands first; one quoted with
    /// estimateFee (headroom of an eighth of the capacity) survives others holding that much landing first.
    function test_AQuoteSurvivesRequestsLandingFirst() public {
        _setup(8, 0);
        uint64 honest = _openAccount(HONEST, HONEST, 100 ether);
        uint64 others = _openAccount(address(0x07E), address(0x07E), 100 ether);
        uint256 agent = _registerAgent(agentOwner, 0, new bytes32[](0));
        uint256 capacity = uint256(router.relayGasPerSecond()) * router.feeConfig().requestTimeout;
        // Others already hold a third of the capacity: the fee rises steeply from here.
        _holdUntil(others, agent, capacity / 3);
        uint256 feeNow = _expectedMinimumFee(0, 0, router.feeConfig());
        uint96 quote = uint96(router.estimateFee(agent, 0));
        assertTrue(quote > feeNow, "the quote has headroom");

        // Others land first, up to an eighth of the capacity more.
        _holdUntil(others, agent, router.pendingRelayGas() + capacity / 8 - _relayGasOf(0));
        uint256 required = _expectedMinimumFee(0, 0, router.feeConfig());
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.MaxFeeTooLow.selector, feeNow, required));
        vm.prank(HONEST);
        router.request(honest, agent, "x", 0, 0, uint96(feeNow));
        IAgentRouter.AgentRequest memory r = _requestAs(HONEST, honest, agent, quote);
        assertEq(r.maxFee, quote, "the quoted request went through");

        vm.recordLogs();
        vm.prank(relayer);
        router.fulfill(_fulfillment(r, "ok"));
        (uint256 paid,,) = _settlementFromLogs();
        emit Measured("fee now when quoted (wei)", feeNow);
        emit Measured("quote with headroom (wei)", quote);
        emit Measured("paid when answered, the rest refunded (wei)", paid);
        assertLe(paid, required, "the headroom was refunded");
    }

    /// @dev Requests of `account` (price-0 agent, no callback, twice the estimate) until `pending` relay gas is held.
    function _holdUntil(uint64 account, uint256 agent, uint256 pending) internal {
        address owner = address(0x07E);
        for (uint256 i; router.pendingRelayGas() + _relayGasOf(0) <= pending; ++i) {
            assertLe(i, 200, "bounded fill");
            _requestAs(owner, account, agent, uint96(router.estimateFee(agent, 0)));
        }
    }

    function test_GovernanceSetsCapacityPriceWithinBounds() public {
        assertEq(router.capacityPrice(), router.DEFAULT_CAPACITY_PRICE(), "default");
        uint64 rate = router.relayGasPerSecond();
        router.setCapacityPrice(5e9);
        assertEq(router.capacityPrice(), 5e9, "set");
        assertEq(router.relayGasPerSecond(), rate, "rate kept");
        router.setRelayGasPerSecond(2_000_000);
        assertEq(router.capacityPrice(), 5e9, "price kept");
        uint64 tooHigh = router.MAX_CAPACITY_PRICE() + 1;
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setCapacityPrice(tooHigh);
        vm.prank(ATTACKER);
        vm.expectRevert();
        router.setCapacityPrice(0);

        // Zero makes holding capacity free again: the estimate is the settlement's minimum alone.
        _setup(2, 0);
        uint256 agent = _registerAgent(agentOwner, 0, new bytes32[](0));
        uint256 withPrice = router.estimateFee(agent, 2_000_000);
        router.setCapacityPrice(0);
        assertTrue(router.estimateFee(agent, 2_000_000) < withPrice, "cheaper");
        assertEq(router.estimateFee(agent, 2_000_000), _expectedMinimumFee(0, 2_000_000, deployedConfig()), "no capacity fee");
    }
}
