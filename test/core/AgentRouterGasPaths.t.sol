// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Behaviour of the router's gas-saving code paths: the packed pause flag, the hand-encoded
/// consumer callback, and the batch's memory reuse and cache of workers found not banned.
contract AgentRouterGasPathsTest is RouterFixture {
    /// @dev One more distinct worker than the batch remembers.
    uint256 internal constant DISTINCT_WORKERS = 17;
    uint256 internal constant EXTRA_WORKER_KEY = 0xB0B000;

    event Paused(address account);
    event Unpaused(address account);

    // ---------------------------------------------------------------- pause flag

    function test_PauseAndUnpauseEmitAndToggle() public {
        vmx.expectEmit(false, false, false, true, address(router));
        emit Paused(address(this));
        router.pause();
        assertTrue(router.paused(), "paused");
        vmx.expectEmit(false, false, false, true, address(router));
        emit Unpaused(address(this));
        router.unpause();
        assertFalse(router.paused(), "unpaused");
    }

    function test_RevertWhen_PausingTwiceOrUnpausingWhenRunning() public {
        vm.expectRevert(IAgentRouter.ExpectedPause.selector);
        router.unpause();
        router.pause();
        vm.expectRevert(IAgentRouter.EnforcedPause.selector);
        router.pause();
    }

    function test_RevertWhen_StrangerPauses() public {
        vm.prank(stranger);
        vm.expectRevert();
        router.pause();
    }

    function test_PauseFlagLeavesNeighbouringFieldsIntact() public {
        _request();
        router.pause();
        router.unpause();
        assertEq(router.requestCount(), 1, "counter kept");
        assertEq(router.maxInputBytes(), MAX_INPUT_BYTES, "input limit kept");
        assertEq(address(router.staking()), address(staking), "staking kept");
        assertEq(_request().id, 2, "counter continues");
    }

    // ---------------------------------------------------------------- callback encoding

    function testFuzz_CallbackReceivesExactOutput(bytes memory output) public {
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, output));
        assertEq(consumer.lastRequestId(), req.id, "request id");
        assertEq(consumer.lastOutput(), output, "output bytes");
        assertEq(consumer.responses(), 1, "one response");
    }

    function testFuzz_ErrorCallbackReceivesStatusAndMessage(uint16 status, bytes memory message) public {
        vm.assume(status != AgentStatus.OK);
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, message, status, new uint256[](0)));
        assertEq(consumer.lastStatus(), status, "status");
        assertEq(consumer.lastOutput(), message, "message bytes");
        assertEq(consumer.errors(), 1, "one error");
    }

    function test_BatchDeliversEachOutputDespiteMemoryReuse() public {
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](3);
        batch[0] = _fulfillment(_request(), new bytes(100));
        batch[1] = _fulfillment(_request(), "");
        bytes memory last = "a short answer after a longer one";
        batch[2] = _fulfillment(_request(), last);
        router.fulfillBatch(batch);
        assertEq(consumer.responses(), 3, "three callbacks");
        assertEq(consumer.lastOutput(), last, "last output intact");
    }

    // ---------------------------------------------------------------- batch worker cache

    function test_BatchRefusesABannedWorkerAfterACleanOne() public {
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](3);
        batch[0] = _fulfillment(_requestTo(workerAddrs[0]), "a");
        batch[1] = _fulfillment(_requestTo(workerAddrs[0]), "b");
        IAgentRouter.AgentRequest memory banned = _requestTo(workerAddrs[1]);
        batch[2] = _fulfillment(banned, "c");
        workers.revokeWorker(banned.worker);
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.FulfillmentRejected(banned.id, IAgentRouter.WorkerBanned.selector);
        router.fulfillBatch(batch);
        assertTrue(router.isPending(banned.id), "banned worker's answer refused");
        assertEq(consumer.responses(), 2, "the clean worker's answers settled");
    }

    function test_BatchChecksWorkersBeyondTheCache() public {
        (IAgentRouter.Fulfillment[] memory batch, IAgentRouter.AgentRequest memory lastReq) = _distinctWorkerBatch();
        workers.revokeWorker(lastReq.worker);
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.FulfillmentRejected(lastReq.id, IAgentRouter.WorkerBanned.selector);
        router.fulfillBatch(batch);
        assertTrue(router.isPending(lastReq.id), "refused beyond the cache too");
        assertEq(consumer.responses(), batch.length - 1, "the others settled");
    }

    function test_BatchSettlesWorkersBeyondTheCache() public {
        (IAgentRouter.Fulfillment[] memory batch,) = _distinctWorkerBatch();
        router.fulfillBatch(batch);
        assertEq(consumer.responses(), batch.length, "all settled");
        assertEq(_reservedOf(accountId), 0, "all released");
    }

    // ---------------------------------------------------------------- fee balances after payouts

    function test_FeeBalancesStartAtZero() public view {
        assertEq(router.protocolFees(), 0, "protocol");
        assertEq(router.earnings(relayer), 0, "relayer");
        assertEq(router.workerFees(workerAddrs[0]), 0, "worker");
    }

    function test_PaidOutBalancesCreditExactAmountsAgain() public {
        IAgentRouter.AgentRequest memory first = _requestTo(workerAddrs[0]);
        IAgentRouter.Fulfillment memory answer = _fulfillment(first, "a");
        vm.prank(relayer);
        router.fulfill(answer);
        _payOutEveryone(first.worker);

        IAgentRouter.AgentRequest memory second = _requestTo(workerAddrs[0]);
        answer = _fulfillment(second, "b");
        vm.prank(relayer);
        router.fulfill(answer);
        uint256 relayerFee = router.earnings(relayer);
        uint256 protocolFee = router.protocolFees();
        assertEq(router.earnings(agentOwner), AGENT_PRICE, "agent owner owed one price");
        assertEq(router.workerFees(second.worker), WORKER_FEE, "worker owed one fee");
        assertEq(protocolFee, (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000, "protocol owed one share");
        assertTrue(relayerFee > 0, "relayer owed gas");

        uint256 before = token.balanceOf(address(router));
        _payOutEveryone(second.worker);
        assertEq(
            before - token.balanceOf(address(router)),
            uint256(AGENT_PRICE) + WORKER_FEE + protocolFee + relayerFee,
            "paid out exactly what was owed"
        );
        assertEq(router.earnings(relayer) + router.earnings(agentOwner) + router.protocolFees(), 0, "nothing owed");
        assertEq(router.workerFees(second.worker), 0, "worker owed nothing");
    }

    // ---------------------------------------------------------------- helpers

    function _payOutEveryone(address worker) internal {
        vm.prank(relayer);
        router.withdrawEarnings(relayer);
        vm.prank(agentOwner);
        router.withdrawEarnings(agentOwner);
        router.withdrawProtocolFees();
        staking.collect(router, worker);
    }

    /// @dev A request assigned to `worker` (the staking mock is narrowed to it).
    function _requestTo(address worker) internal returns (IAgentRouter.AgentRequest memory req) {
        staking.clearWorkers();
        staking.addWorker(worker);
        req = _request();
        assertEq(req.worker, worker, "assigned as arranged");
    }

    /// @dev One answer per distinct worker, more workers than the batch cache holds, then a repeat.
    function _distinctWorkerBatch()
        internal
        returns (IAgentRouter.Fulfillment[] memory batch, IAgentRouter.AgentRequest memory lastReq)
    {
        batch = new IAgentRouter.Fulfillment[](DISTINCT_WORKERS + 1);
        for (uint256 i; i < DISTINCT_WORKERS; ++i) {
            address worker =
                i < WORKER_COUNT ? workerAddrs[i] : _registerWorker(EXTRA_WORKER_KEY + i, operator, MEASUREMENT);
            lastReq = _requestTo(worker);
            batch[i] = _fulfillment(lastReq, abi.encode(i));
        }
        batch[DISTINCT_WORKERS] = _fulfillment(_requestTo(workerAddrs[0]), "repeat");
    }
}
