// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice One bad entry must not sink a batch (issue 10, item 9). On the old code an entry whose
/// worker had been revoked, or whose deadline had passed by the time the batch was mined, reverted
/// the whole fulfillBatch, so one such entry (a key governance revoked while the batch was in
/// flight, a block landing after one deadline) cost every other consumer in the batch its answer.
/// Such entries are now skipped with FulfillmentRejected(requestId, reason) and stay pending (to be
/// timed out and refunded); the rest settle.
contract RouterAttacksBatchTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";

    function test_RevokedWorkerEntryIsSkippedAndTheRestSettle() public {
        IAgentRouter.AgentRequest[] memory reqs = _requests(4);
        address revoked = reqs[1].worker;
        assertGe(_countNotBy(reqs, revoked), 1, "the batch mixes workers");
        IAgentRouter.Fulfillment[] memory batch = _answers(reqs);
        workers.revokeWorker(revoked); // after the relayer built and simulated its batch

        for (uint256 i; i < reqs.length; ++i) {
            if (reqs[i].worker == revoked) {
                vmx.expectEmit(true, false, false, true, address(router));
                emit IAgentRouter.FulfillmentRejected(reqs[i].id, IAgentRouter.WorkerBanned.selector);
            }
        }
        vm.prank(relayer);
        router.fulfillBatch(batch);

        for (uint256 i; i < reqs.length; ++i) {
            bool byRevoked = reqs[i].worker == revoked;
            assertEq(router.isPending(reqs[i].id), byRevoked, "only the revoked worker's entries stay pending");
        }
        assertEq(consumer.responses(), _countNotBy(reqs, revoked), "every other consumer answered");
    }

    function test_ExpiredEntryIsSkippedAndTheRestSettle() public {
        IAgentRouter.AgentRequest memory early = _request();
        vm.warp(block.timestamp + REQUEST_TIMEOUT / 2);
        IAgentRouter.AgentRequest memory late = _request();
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(early, OUTPUT);
        batch[1] = _fulfillment(late, OUTPUT);
        vm.warp(early.deadline + 1); // the batch lands one block too late for the early request

        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.FulfillmentRejected(early.id, IAgentRouter.DeadlinePassed.selector);
        vm.prank(relayer);
        router.fulfillBatch(batch);

        assertTrue(router.isPending(early.id), "expired entry left for timeout");
        assertFalse(router.isPending(late.id), "the other one settled");
        assertEq(consumer.responses(), 1, "one answer delivered");
        router.timeout(early);
        assertEq(_reservedOf(accountId), 0, "and the expired one is refunded by its timeout");
    }

    function test_SingleFulfilStillRevertsWithTheReason() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        workers.revokeWorker(req.worker);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkerBanned.selector, req.id, req.worker));
        router.fulfill(f);
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.DeadlinePassed.selector, req.id, req.deadline));
        router.fulfill(f);
    }

    function test_RejectedEntriesCostTheirConsumersNothing() public {
        IAgentRouter.AgentRequest[] memory reqs = _requests(3);
        IAgentRouter.Fulfillment[] memory batch = _answers(reqs);
        vm.warp(reqs[2].deadline + 1);
        uint256 balanceBefore = _balanceOf(accountId);
        vm.prank(relayer);
        router.fulfillBatch(batch);
        assertEq(_balanceOf(accountId), balanceBefore, "nothing charged for rejected entries");
        assertEq(router.earnings(relayer), 0, "and nothing paid for them");
    }

    function _requests(uint256 count) internal returns (IAgentRouter.AgentRequest[] memory reqs) {
        reqs = new IAgentRouter.AgentRequest[](count);
        for (uint256 i; i < count; ++i) {
            reqs[i] = _request();
        }
    }

    function _answers(IAgentRouter.AgentRequest[] memory reqs)
        internal
        view
        returns (IAgentRouter.Fulfillment[] memory batch)
    {
        batch = new IAgentRouter.Fulfillment[](reqs.length);
        for (uint256 i; i < reqs.length; ++i) {
            batch[i] = _fulfillment(reqs[i], OUTPUT);
        }
    }

    function _countNotBy(IAgentRouter.AgentRequest[] memory reqs, address worker) internal pure returns (uint256 n) {
        for (uint256 i; i < reqs.length; ++i) {
            if (reqs[i].worker != worker) ++n;
        }
    }
}
