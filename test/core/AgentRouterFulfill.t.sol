// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {RecordingConsumer} from "./TestDoubles.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {ExactGasCall} from "../../contracts/core/ExactGasCall.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

contract AgentRouterFulfillTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";

    // ---------------------------------------------------------------- success and error results

    function test_FulfillPaysEveryPartyExactlyAndRefundsTheRest() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 routerTokens = token.balanceOf(address(router));

        vm.recordLogs();
        IAgentRouter.Fulfillment memory signed = _fulfillment(req, OUTPUT);
        vm.prank(relayer);
        router.fulfill(signed);
        (uint256 totalFee, uint256 refund, bool callbackSucceeded) = _settlementFromLogs();

        assertTrue(callbackSucceeded, "callback ok");
        assertEq(consumer.responses(), 1, "one response");
        assertEq(consumer.lastRequestId(), req.id, "request id");
        assertEq(consumer.lastOutput(), OUTPUT, "output delivered");

        uint256 protocolFee = (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000;
        uint256 relayerFee = router.earnings(relayer);
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "agent owner paid its price");
        assertEq(router.workerFees(req.worker), WORKER_FEE, "worker fee");
        assertEq(router.protocolFees(), protocolFee, "protocol fee");
        assertGe(relayerFee, uint256(OVERHEAD_GAS) * PHA_PER_GAS, "relayer reimbursed at least the overhead");
        assertLe(relayerFee, uint256(OVERHEAD_GAS + CALLBACK_GAS + 150_000) * PHA_PER_GAS, "relayer fee plausible");
        assertEq(totalFee, AGENT_PRICE + WORKER_FEE + protocolFee + relayerFee, "total = sum of parts");
        assertEq(refund, MAX_FEE - totalFee, "refund");

        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS - totalFee, "account charged the total");
        assertEq(_reservedOf(accountId), 0, "reservation released");
        assertEq(router.accountOf(accountId).pendingRequests, 0, "no pending");
        assertFalse(router.isPending(req.id), "settled");
        assertEq(router.commitmentOf(req.id), keccak256(abi.encode(req)), "commitment kept on record");
        assertEq(token.balanceOf(address(router)), routerTokens, "no token moved on settlement");
    }

    function test_FulfillEmitsRequestFulfilled() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vmx.expectEmit(true, true, false, false, address(router));
        emit IAgentRouter.RequestFulfilled(req.id, req.worker, 0, true, keccak256(OUTPUT), 0, 0);
        router.fulfill(f);
    }

    function test_ErrorResultPaysNoAgentOwnerAndCallsOnAgentError() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory message = "agent threw: boom";
        vm.recordLogs();
        IAgentRouter.Fulfillment memory signed = _fulfillment(req, message, AgentStatus.AGENT_ERROR, new uint256[](0));
        vm.prank(relayer);
        router.fulfill(signed);
        (uint256 totalFee,,) = _settlementFromLogs();

        assertEq(consumer.errors(), 1, "error callback");
        assertEq(consumer.responses(), 0, "no success callback");
        assertEq(consumer.lastStatus(), AgentStatus.AGENT_ERROR, "status");
        assertEq(consumer.lastOutput(), message, "message");
        assertEq(router.earnings(agentOwner), 0, "agent owner unpaid");
        assertEq(router.workerFees(req.worker), WORKER_FEE, "worker still paid");
        uint256 protocolFee = uint256(WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000;
        assertEq(router.protocolFees(), protocolFee, "protocol share of the worker fee only");
        assertEq(totalFee, WORKER_FEE + protocolFee + router.earnings(relayer), "total");
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS - totalFee, "charged");
    }

    function test_FulfillAtTheDeadlineIsAccepted() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline);
        router.fulfill(_fulfillment(req, OUTPUT));
        assertFalse(router.isPending(req.id), "settled");
    }

    function test_FulfillWorksWhileRouterPaused() public {
        IAgentRouter.AgentRequest memory req = _request();
        router.pause();
        router.fulfill(_fulfillment(req, OUTPUT));
        assertEq(consumer.responses(), 1, "settled while paused");
    }

    function test_DigestIsStandardEip712() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256[] memory subs = _ids(7, 8);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("AgentRouter"),
                keccak256("1"),
                block.chainid,
                address(router)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker)"
                ),
                req.id,
                keccak256(abi.encode(req)),
                keccak256(OUTPUT),
                uint16(3),
                keccak256(abi.encodePacked(subs)),
                keccak256(abi.encodePacked(uint256(5 ether), uint256(0))),
                req.worker
            )
        );
        uint96[] memory prices = new uint96[](2);
        prices[0] = 5 ether;
        assertEq(
            _digest(req, OUTPUT, 3, subs, prices),
            keccak256(abi.encodePacked("\x19\x01", domain, structHash)),
            "EIP-712 digest"
        );
    }

    // ---------------------------------------------------------------- signature checks

    function test_RevertWhen_SignedByAStrangerKey() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.signature = _sign(0xBAD, req, OUTPUT, 0, f.subAgentIds);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(0xBAD), req.worker));
        router.fulfill(f);
    }

    function test_RevertWhen_SignedByAnotherRegisteredWorker() public {
        IAgentRouter.AgentRequest memory req = _request();
        address other = workerAddrs[0] == req.worker ? workerAddrs[1] : workerAddrs[0];
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.signature = _sign(workerKeyOf[other], req, OUTPUT, 0, f.subAgentIds);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, other, req.worker));
        router.fulfill(f);
    }

    function test_RevertWhen_SignatureIsHighS() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(workerKeyOf[req.worker], _digest(req, OUTPUT, 0, f.subAgentIds));
        // The malleated twin (r, n - s, v flipped) recovers the same key with plain ecrecover...
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flipped = v == 27 ? 28 : 27;
        assertEq(ecrecover(_digest(req, OUTPUT, 0, f.subAgentIds), flipped, r, highS), req.worker, "twin recovers");
        // ...but the router accepts only the canonical low-s form.
        f.signature = abi.encodePacked(r, highS, flipped);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, address(0), req.worker));
        router.fulfill(f);
    }

    function test_RevertWhen_SignatureLengthIsWrong() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        bytes memory sig = f.signature;
        // The 64-byte compact (EIP-2098) form and a truncated one are both refused.
        (bytes32 r, bytes32 s) = abi.decode(sig, (bytes32, bytes32));
        f.signature = abi.encodePacked(r, s);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, address(0), req.worker));
        router.fulfill(f);
        f.signature = "";
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, address(0), req.worker));
        router.fulfill(f);
        f.signature = abi.encodePacked(sig, uint8(0));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, address(0), req.worker));
        router.fulfill(f);
    }

    function test_RevertWhen_OutputTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.output = "negative";
        _expectWrongSigner(f);
        router.fulfill(f);
    }

    function test_RevertWhen_StatusTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT, AgentStatus.AGENT_ERROR, new uint256[](0));
        f.status = AgentStatus.OK;
        _expectWrongSigner(f);
        router.fulfill(f);
    }

    function test_RevertWhen_SubAgentIdsTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT, 0, _ids(1));
        f.subAgentIds = _ids(2);
        _expectWrongSigner(f);
        router.fulfill(f);
    }

    function test_RevertWhen_SubAgentPricesTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT, 0, _ids(1));
        f.subAgentPrices[0] += 1;
        _expectWrongSigner(f);
        router.fulfill(f);
    }

    function test_RevertWhen_SubAgentPricesDoNotMatchTheIds() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f =
            _fulfillment(req, OUTPUT, 0, _ids(1, 1), new uint96[](1));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.SubCallPricesMismatch.selector, 2, 1));
        router.fulfill(f);
    }

    function test_RevertWhen_RequestStructTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.request.agentPrice = 0;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.fulfill(f);
        f.request.agentPrice = req.agentPrice;
        f.request.maxFee = req.maxFee + 1;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.fulfill(f);
    }

    /// @dev The router hashes the request straight from calldata: dirty padding in an address word
    /// must make the hash mismatch, never let a different request through.
    function test_RevertWhen_RequestCalldataHasDirtyPadding() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory data = abi.encodeCall(router.fulfill, (_fulfillment(req, OUTPUT)));
        // selector, offset of the Fulfillment tuple, then id, agentId, consumer (its top byte is padding).
        uint256 consumerWord = 4 + 32 + 2 * 32;
        data[consumerWord] = 0x01;
        (bool ok, bytes memory reason) = address(router).call(data);
        assertFalse(ok, "rejected");
        assertEq(reason, abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id), "mismatch");

        vm.warp(req.deadline + 1);
        data = abi.encodeCall(router.timeout, (req));
        data[4 + 2 * 32] = 0x01;
        (ok, reason) = address(router).call(data);
        assertFalse(ok, "timeout rejected");
        assertEq(reason, abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id), "timeout mismatch");
        router.timeout(req);
    }

    function test_RevertWhen_RequestUnknown() public {
        IAgentRouter.AgentRequest memory req = _request();
        req.id = 42;
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, uint256(42)));
        router.fulfill(f);
    }

    function test_RevertWhen_AlreadyFulfilled() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        router.fulfill(f);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfill(f);
    }

    function test_RevertWhen_Late() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.DeadlinePassed.selector, req.id, req.deadline));
        router.fulfill(f);
    }

    function test_RevertWhen_WorkerRevokedAfterAssignment() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        workers.revokeWorker(req.worker);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkerBanned.selector, req.id, req.worker));
        router.fulfill(f);
        vm.warp(req.deadline + 1);
        router.timeout(req);
        assertEq(_reservedOf(accountId), 0, "refunded by timeout instead");
    }

    function test_RevertWhen_WorkerJailedAfterAssignment() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.prank(address(router));
        workers.jail(req.worker);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkerBanned.selector, req.id, req.worker));
        router.fulfill(f);
    }

    function test_RevertWhen_EstimatingUnknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.UnknownAgent.selector, 999));
        router.estimateFee(999, CALLBACK_GAS);
    }

    // ---------------------------------------------------------------- consumer callback

    function test_RevertingConsumerStillSettles() public {
        consumer.setMode(RecordingConsumer.Mode.Revert);
        _assertSettlesWithFailedCallback(_request());
    }

    function test_GasHungryConsumerStillSettles() public {
        consumer.setMode(RecordingConsumer.Mode.BurnGas);
        IAgentRouter.AgentRequest memory req = _request();
        _assertSettlesWithFailedCallback(req);
        // The relayer is reimbursed the callback gas it paid for.
        assertGe(router.earnings(relayer), uint256(CALLBACK_GAS) * PHA_PER_GAS, "relayer paid for the burnt gas");
    }

    function test_ConsumerWithoutCodeStillSettles() public {
        vm.prank(payer);
        router.addConsumer(accountId, payer);
        vm.recordLogs();
        vm.prank(payer);
        router.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
        _assertSettlesWithFailedCallback(_requestFromLogs());
    }

    function test_RevertWhen_RelayerGivesTooLittleGasForTheCallback() public {
        uint32 callbackGas = 1_000_000;
        IAgentRouter.AgentRequest memory req = _request("x", callbackGas, MAX_FEE);
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ExactGasCall.InsufficientGasForCallback.selector, uint256(callbackGas)));
        router.fulfill{gas: 600_000}(f);
        assertTrue(router.isPending(req.id), "still pending");
        router.fulfill{gas: 1_300_000}(f);
        assertEq(consumer.responses(), 1, "answered with enough gas");
    }

    // ---------------------------------------------------------------- sub-agents

    function test_SubAgentOwnersArePaidTheirPrice() public {
        address subOwner = address(0x5B0);
        uint256 sub = _registerAgent(subOwner, 1 ether, new bytes32[](0));
        IAgentRouter.AgentRequest memory req = _request();
        vmx.expectEmit(true, true, true, true, address(router));
        emit IAgentRouter.SubAgentPaid(req.id, sub, subOwner, 1 ether);
        vm.recordLogs();
        IAgentRouter.Fulfillment memory signed = _fulfillment(req, OUTPUT, 0, _ids(sub, sub));
        vm.prank(relayer);
        router.fulfill(signed);
        (uint256 totalFee,,) = _settlementFromLogs();
        assertEq(router.earnings(subOwner), 2 ether, "paid per call");
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "main agent paid");
        assertEq(
            totalFee,
            AGENT_PRICE + WORKER_FEE + router.protocolFees() + 2 ether + router.earnings(relayer),
            "sub-agent prices are part of the total"
        );
    }

    function test_SubAgentPaymentsAreCappedByTheReservation() public {
        address subOwner = address(0x5B0);
        uint256 sub = _registerAgent(subOwner, 100 ether, new bytes32[](0));
        uint96 maxFee = uint96(router.estimateFee(agentId, CALLBACK_GAS));
        IAgentRouter.AgentRequest memory req = _request("x", CALLBACK_GAS, maxFee);
        vm.recordLogs();
        IAgentRouter.Fulfillment memory signed = _fulfillment(req, OUTPUT, 0, _ids(sub));
        vm.prank(relayer);
        router.fulfill(signed);
        (uint256 totalFee, uint256 refund,) = _settlementFromLogs();
        uint256 gasPart = (
            uint256(CALLBACK_GAS + OVERHEAD_GAS) + router.ESTIMATED_FULFIL_EXECUTION_GAS()
                + router.MAX_OUTPUT_BYTES() * router.OUTPUT_GAS_PER_BYTE()
        ) * PHA_PER_GAS;
        assertEq(router.earnings(subOwner), gasPart, "sub-agent gets what is left");
        assertEq(router.earnings(relayer), 0, "nothing left for gas");
        assertEq(totalFee, maxFee, "whole reservation used");
        assertEq(refund, 0, "no refund");
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS - maxFee, "never more than maxFee");
    }

    function test_UnknownSubAgentIsSkipped() public {
        address subOwner = address(0x5B0);
        uint256 sub = _registerAgent(subOwner, 1 ether, new bytes32[](0));
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, OUTPUT, 0, _ids(999, sub)));
        assertEq(router.earnings(subOwner), 1 ether, "known one paid");
        assertEq(router.earnings(address(0)), 0, "nobody paid for the unknown id");
    }

    /// @dev Issue 12 item 8: the calling agent failing after it used a paid callee's output must not
    /// leave the callee unpaid. The failed caller's own owner still gets nothing.
    function test_SubAgentsArePaidEvenWhenTheCallerFails() public {
        address subOwner = address(0x5B0);
        uint256 sub = _registerAgent(subOwner, 1 ether, new bytes32[](0));
        IAgentRouter.AgentRequest memory req = _request();
        vmx.expectEmit(true, true, true, true, address(router));
        emit IAgentRouter.SubAgentPaid(req.id, sub, subOwner, 1 ether);
        router.fulfill(_fulfillment(req, "agent threw after its sub-call", AgentStatus.AGENT_ERROR, _ids(sub)));
        assertEq(router.earnings(subOwner), 1 ether, "callee paid for its work");
        assertEq(router.earnings(agentOwner), 0, "failed caller unpaid");
        assertEq(consumer.errors(), 1, "consumer got the error");
    }

    function test_RevertWhen_TooManySubCalls() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 max = router.MAX_SUB_CALLS();
        router.fulfill(_fulfillment(req, OUTPUT, 0, new uint256[](max)));

        req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT, 0, new uint256[](max + 1));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.TooManySubCalls.selector, max + 1));
        router.fulfill(f);
    }

    // ---------------------------------------------------------------- governance changes in flight

    function test_PriceChangeAfterRequestDoesNotAffectIt() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.prank(agentOwner);
        agents.setPrice(agentId, 5 ether);
        router.fulfill(_fulfillment(req, OUTPUT));
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "snapshotted price");
    }

    // ---------------------------------------------------------------- batches

    function test_BatchOfOne() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](1);
        batch[0] = _fulfillment(req, OUTPUT);
        vm.prank(relayer);
        router.fulfillBatch(batch);
        assertFalse(router.isPending(req.id), "settled");
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "paid");
        assertGe(router.earnings(relayer), uint256(OVERHEAD_GAS) * PHA_PER_GAS, "relayer paid");
    }

    function test_BatchOfSeveral() public {
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](3);
        for (uint256 i; i < batch.length; ++i) {
            batch[i] = _fulfillment(_request(abi.encode(i), CALLBACK_GAS, MAX_FEE), abi.encode("answer", i));
        }
        uint256 balanceBefore = _balanceOf(accountId);
        vm.prank(relayer);
        router.fulfillBatch(batch);
        assertEq(consumer.responses(), 3, "three callbacks");
        assertEq(_reservedOf(accountId), 0, "all released");
        uint256 relayerFee = router.earnings(relayer);
        uint256 perRequest = uint256(AGENT_PRICE) + WORKER_FEE + (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000;
        assertEq(balanceBefore - _balanceOf(accountId), 3 * perRequest + relayerFee, "charged");
        assertEq(router.earnings(agentOwner), 3 * uint256(AGENT_PRICE), "agent owner paid thrice");
    }

    function test_BatchSkipsSettledRequests() public {
        IAgentRouter.AgentRequest memory first = _request();
        IAgentRouter.AgentRequest memory second = _request();
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(first, OUTPUT);
        batch[1] = _fulfillment(second, OUTPUT);
        router.fulfill(batch[0]);

        vmx.expectEmit(true, false, false, false, address(router));
        emit IAgentRouter.FulfillmentSkipped(first.id);
        router.fulfillBatch(batch);
        assertFalse(router.isPending(second.id), "second settled");
        assertEq(consumer.responses(), 2, "each answered once");
        assertEq(router.earnings(agentOwner), 2 * uint256(AGENT_PRICE), "no double payment");
    }

    function test_BatchWithABadEntryRevertsEntirely() public {
        IAgentRouter.AgentRequest memory first = _request();
        IAgentRouter.AgentRequest memory second = _request();
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(first, OUTPUT);
        batch[1] = _fulfillment(second, OUTPUT);
        batch[1].output = "tampered";
        _expectWrongSigner(batch[1]);
        router.fulfillBatch(batch);
        assertTrue(router.isPending(first.id), "first untouched");
        assertEq(consumer.responses(), 0, "no callback survived");
    }

    function test_EmptyBatchChangesNothing() public {
        vm.recordLogs();
        vm.prank(relayer);
        router.fulfillBatch(new IAgentRouter.Fulfillment[](0));
        assertEq(vm.getRecordedLogs().length, 0, "no events");
        assertEq(router.earnings(relayer), 0, "no relayer fee");
        assertEq(router.protocolFees(), 0, "no protocol fee");
    }

    // ---------------------------------------------------------------- helpers

    function _expectWrongSigner(IAgentRouter.Fulfillment memory f) internal {
        bytes32 digest = _digest(f.request, f.output, f.status, f.subAgentIds, f.subAgentPrices);
        (address signer,,) = ECDSA.tryRecover(digest, f.signature);
        assertTrue(signer != f.request.worker, "tampering must change the signer");
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, f.request.id, signer, f.request.worker));
    }

    function _assertSettlesWithFailedCallback(IAgentRouter.AgentRequest memory req) internal {
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.CallbackFailed(req.id, keccak256(OUTPUT));
        vm.recordLogs();
        vm.prank(relayer);
        router.fulfill(f);
        (uint256 totalFee, uint256 refund, bool callbackSucceeded) = _settlementFromLogs();
        assertFalse(callbackSucceeded, "callback failed");
        assertFalse(router.isPending(req.id), "settled anyway");
        assertEq(consumer.responses(), 0, "nothing recorded");
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "agent owner paid");
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS - totalFee, "charged");
        assertEq(refund, MAX_FEE - totalFee, "refund");
        assertEq(_reservedOf(accountId), 0, "released");
    }
}
