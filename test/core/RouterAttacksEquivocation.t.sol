// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Pre-empting an equivocation proof (issue 10, item 1). On the old code anyone could report
/// a fabricated request under a real (or future) id, signed twice by a throwaway key; "already
/// reported" was keyed by id, so the genuine proof against the real worker was then refused and the
/// equivocating worker was never jailed or slashed. A report must now be about a request the router
/// really opened, with that worker, and that stays provable after settlement.
contract RouterAttacksEquivocationTest is RouterFixture {
    uint256 internal constant THROWAWAY_KEY = 0x7A7;
    address internal constant ATTACKER = address(0xA77AC);
    address internal constant REPORTER = address(0x4E9);

    function test_FabricatedRequestCannotPreemptTheRealProof() public {
        IAgentRouter.AgentRequest memory real = _request();
        uint256 realKey = workerKeyOf[real.worker];
        IAgentRouter.SignedAnswer memory a = _answer(realKey, real, "positive", 0);
        IAgentRouter.SignedAnswer memory b = _answer(realKey, real, "negative", 0);

        // The attacker copies the request, names its own throwaway key as the worker and signs twice.
        IAgentRouter.AgentRequest memory fake = _copy(real);
        fake.worker = vm.addr(THROWAWAY_KEY);
        IAgentRouter.SignedAnswer memory fakeA = _answer(THROWAWAY_KEY, fake, "x", 0);
        IAgentRouter.SignedAnswer memory fakeB = _answer(THROWAWAY_KEY, fake, "y", 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, real.id));
        vm.prank(ATTACKER);
        router.reportEquivocation(fake, fakeA, fakeB);

        vm.prank(REPORTER);
        router.reportEquivocation(real, a, b);
        assertTrue(workers.workerOf(real.worker).jailed, "the real worker is jailed");
        assertEq(staking.equivocationSlashes(real.worker), 1, "and slashed");
        assertTrue(router.equivocationReported(real.id), "recorded");
    }

    function test_FutureIdsCannotBeBlocked() public {
        IAgentRouter.AgentRequest memory fake = _copy(_request()); // the shape of a real request
        uint256 futureId = router.requestCount() + 1;
        fake.id = futureId;
        fake.worker = vm.addr(THROWAWAY_KEY);
        IAgentRouter.SignedAnswer memory fakeA = _answer(THROWAWAY_KEY, fake, "x", 0);
        IAgentRouter.SignedAnswer memory fakeB = _answer(THROWAWAY_KEY, fake, "y", 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.UnknownRequest.selector, futureId));
        vm.prank(ATTACKER);
        router.reportEquivocation(fake, fakeA, fakeB);

        // The id is issued later, to a real worker that equivocates: the proof is accepted.
        IAgentRouter.AgentRequest memory real = _request();
        assertEq(real.id, futureId, "the id the attacker aimed at");
        uint256 key = workerKeyOf[real.worker];
        IAgentRouter.SignedAnswer memory a = _answer(key, real, "positive", 0);
        IAgentRouter.SignedAnswer memory b = _answer(key, real, "negative", 0);
        vm.prank(REPORTER);
        router.reportEquivocation(real, a, b);
        assertTrue(workers.workerOf(real.worker).jailed, "jailed");
    }

    function test_ProofStaysValidAfterSettlementButFakesDoNot() public {
        IAgentRouter.AgentRequest memory real = _request();
        uint256 key = workerKeyOf[real.worker];
        router.fulfill(_fulfillment(real, "positive"));
        vm.warp(real.deadline + 30 days);

        IAgentRouter.AgentRequest memory fake = _copy(real);
        fake.worker = vm.addr(THROWAWAY_KEY);
        IAgentRouter.SignedAnswer memory fakeA = _answer(THROWAWAY_KEY, fake, "x", 0);
        IAgentRouter.SignedAnswer memory fakeB = _answer(THROWAWAY_KEY, fake, "y", 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, real.id));
        router.reportEquivocation(fake, fakeA, fakeB);

        IAgentRouter.SignedAnswer memory a = _answer(key, real, "positive", 0);
        IAgentRouter.SignedAnswer memory b = _answer(key, real, "negative", 0);
        vm.prank(REPORTER);
        router.reportEquivocation(real, a, b);
        assertTrue(workers.workerOf(real.worker).jailed, "jailed a month after settlement");
    }

    function test_ProofStaysValidAfterATimeout() public {
        IAgentRouter.AgentRequest memory real = _request();
        uint256 key = workerKeyOf[real.worker];
        vm.warp(real.deadline + 1);
        router.timeout(real);
        router.reportEquivocation(real, _answer(key, real, "positive", 0), _answer(key, real, "negative", 0));
        assertTrue(workers.workerOf(real.worker).jailed, "jailed");
    }

    function test_SettledRequestsStayRecordedButNotPending() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, "positive");
        router.fulfill(f);
        assertFalse(router.isPending(req.id), "settled");
        assertEq(router.commitmentOf(req.id), keccak256(abi.encode(req)), "still on record");
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfill(f);
    }

    function _copy(IAgentRouter.AgentRequest memory req) internal pure returns (IAgentRouter.AgentRequest memory) {
        return abi.decode(abi.encode(req), (IAgentRouter.AgentRequest));
    }
}
