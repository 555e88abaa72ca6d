// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {MockWorkerStaking} from "../../contracts/mocks/MockWorkerStaking.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice timeoutBatch: every expired entry is timed out exactly as {timeout} does it; entries no
/// longer pending are skipped with an event; a caller error reverts the whole batch.
contract AgentRouterTimeoutBatchTest is RouterFixture {
    address internal constant SWEEPER = address(0x5EE9);

    function test_TimesOutEveryExpiredEntry() public {
        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](3);
        for (uint256 i; i < batch.length; ++i) {
            batch[i] = _request();
        }
        vm.warp(batch[2].deadline + 1);
        for (uint256 i; i < batch.length; ++i) {
            vmx.expectEmit(true, true, true, true, address(router));
            emit IAgentRouter.RequestTimedOut(batch[i].id, batch[i].worker, SWEEPER, MAX_FEE);
            vmx.expectEmit(true, true, false, true, address(staking));
            emit MockWorkerStaking.TimeoutSlashed(
                batch[i].worker, batch[i].id, uint256(WORKER_FEE) * TIMEOUT_PENALTY_BPS / 10_000, SWEEPER, 30_000 * PHA_PER_GAS
            );
        }
        vm.prank(SWEEPER);
        router.timeoutBatch(batch);

        for (uint256 i; i < batch.length; ++i) {
            assertFalse(router.isPending(batch[i].id), "closed");
        }
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS, "nothing charged");
        assertEq(_reservedOf(accountId), 0, "all released");
        assertEq(router.accountOf(accountId).pendingRequests, 0, "none pending");
        uint256 slashes;
        for (uint256 i; i < WORKER_COUNT; ++i) {
            slashes += staking.timeoutSlashes(workerAddrs[i]);
        }
        assertEq(slashes, batch.length, "one slash per entry");
    }

    function test_SkipsEntriesNoLongerPending() public {
        IAgentRouter.AgentRequest memory fulfilled = _request();
        IAgentRouter.AgentRequest memory timedOut = _request();
        IAgentRouter.AgentRequest memory open = _request();
        router.fulfill(_fulfillment(fulfilled, "positive"));
        vm.warp(open.deadline + 1);
        router.timeout(timedOut);

        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](4);
        batch[0] = fulfilled;
        batch[1] = timedOut;
        batch[2] = open;
        batch[3] = open; // the same request twice: the second copy finds it settled
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.TimeoutSkipped(fulfilled.id);
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.TimeoutSkipped(timedOut.id);
        vmx.expectEmit(true, true, true, true, address(router));
        emit IAgentRouter.RequestTimedOut(open.id, open.worker, SWEEPER, MAX_FEE);
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.TimeoutSkipped(open.id);
        vm.prank(SWEEPER);
        router.timeoutBatch(batch);

        assertEq(_reservedOf(accountId), 0, "released");
        assertEq(router.accountOf(accountId).pendingRequests, 0, "none pending");
        uint256 slashes;
        for (uint256 i; i < WORKER_COUNT; ++i) {
            slashes += staking.timeoutSlashes(workerAddrs[i]);
        }
        assertEq(slashes, 2, "the single timeout and the batch's one entry, nothing for skipped ones");
    }

    function test_RevertWhen_AnEntryIsNotYetDue() public {
        IAgentRouter.AgentRequest memory due = _request();
        vm.warp(due.deadline + 1);
        IAgentRouter.AgentRequest memory early = _request();
        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](2);
        batch[0] = due;
        batch[1] = early;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.DeadlineNotPassed.selector, early.id, early.deadline));
        router.timeoutBatch(batch);
        assertTrue(router.isPending(due.id), "the due entry was rolled back too");
    }

    function test_RevertWhen_AnEntryIsTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline + 1);
        req.maxFee = MAX_FEE * 2;
        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](1);
        batch[0] = req;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.timeoutBatch(batch);
    }

    function test_EmptyBatchChangesNothing() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline + 1);
        router.timeoutBatch(new IAgentRouter.AgentRequest[](0));
        assertTrue(router.isPending(req.id), "untouched");
    }

    function test_FulfilAfterBatchTimeoutReverts() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, "positive");
        vm.warp(req.deadline + 1);
        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](1);
        batch[0] = req;
        router.timeoutBatch(batch);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfill(f);
    }
}
