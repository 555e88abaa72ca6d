// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {AgentRouterExtension} from "../../contracts/core/AgentRouterExtension.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Failover (issue 15): backups of a request answer once their window opens, exactly one
/// answer settles, the backup earns the worker fee, the primary loses its slot and is slashed.
contract RouterFailoverTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";
    address internal constant REPORTER = address(0x4E9);

    /// @dev The fixture's workers share one operator, and a backup is never run by its primary's
    /// operator: the draw here is among three workers of three operators.
    function setUp() public override {
        super.setUp();
        staking.clearWorkers();
        for (uint256 i; i < WORKER_COUNT; ++i) {
            staking.addWorker(_registerWorker(FIRST_WORKER_KEY + 100 + i, address(uint160(0x0E00 + i)), MEASUREMENT));
        }
    }

    // ---------------------------------------------------------------- the draw and the windows

    function test_BackupsAreDistinctEligibleAndOpenAtTheirShareOfTheTimeout() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address first, uint64 firstOpens) = router.backupWorker(req, 1);
        (address second, uint64 secondOpens) = router.backupWorker(req, 2);
        assertTrue(first != address(0) && second != address(0), "both drawn");
        assertTrue(first != req.worker && second != req.worker && first != second, "distinct workers");
        uint64 openedAt = req.deadline - REQUEST_TIMEOUT;
        assertEq(firstOpens, openedAt + REQUEST_TIMEOUT / 2, "rank 1 opens at 50 %");
        assertEq(secondOpens, openedAt + REQUEST_TIMEOUT * 3 / 4, "rank 2 opens at 75 %");
        // Fixed by the request: the same answer later, at any time.
        vm.warp(block.timestamp + 100);
        (address again,) = router.backupWorker(req, 1);
        assertEq(again, first, "the draw depends on the request only");
    }

    function test_RevertWhen_RankIsOutOfRange() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoBackup.selector, req.id, 0));
        router.backupWorker(req, 0);
        uint256 tooHigh = router.MAX_BACKUPS() + 1;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoBackup.selector, req.id, tooHigh));
        router.backupWorker(req, tooHigh);
    }

    function test_RevertWhen_NoWorkerButThePrimaryCanServe() public {
        IAgentRouter.AgentRequest memory req = _request();
        staking.clearWorkers();
        staking.addWorker(req.worker);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoBackup.selector, req.id, 1));
        router.backupWorker(req, 1);
    }

    function test_BannedAndIneligibleWorkersAreNeverDrawn() public {
        // An agent allowing MEASUREMENT only, a fourth worker on another runtime, one worker revoked.
        bytes32[] memory allowed = new bytes32[](1);
        allowed[0] = MEASUREMENT;
        agentId = _registerAgent(agentOwner, AGENT_PRICE, allowed);
        workers.setMeasurementApproved(OTHER_MEASUREMENT, true);
        address otherRuntime = _registerWorker(FIRST_WORKER_KEY + 10, address(0x0E10), OTHER_MEASUREMENT);
        staking.addWorker(otherRuntime);
        address fifth = _registerWorker(FIRST_WORKER_KEY + 11, address(0x0E11), MEASUREMENT);
        staking.addWorker(fifth);
        for (uint256 i; i < 20; ++i) {
            IAgentRouter.AgentRequest memory req = _request();
            // Revoke one worker that is not the primary; the draw must skip it.
            address revoked = req.worker == fifth ? staking.workers(0) : fifth;
            uint256 snapshot = vm.snapshotState();
            workers.revokeWorker(revoked);
            for (uint256 rank = 1; rank <= 2; ++rank) {
                try router.backupWorker(req, rank) returns (address backup, uint64) {
                    assertTrue(backup != otherRuntime, "a worker the agent does not allow is never a backup");
                    assertTrue(backup != revoked, "a banned worker is never a backup");
                } catch (bytes memory reason) {
                    assertEq(bytes4(reason), IAgentRouter.NoBackup.selector, "only NoBackup when none fits");
                }
            }
            vm.revertToState(snapshot);
        }
    }

    // ---------------------------------------------------------------- the backup answers

    function test_BackupAnswersOnceItsWindowOpensAndEarnsTheWorkerFee() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        assertEq(router.pendingOf(req.worker), 1, "primary holds the request");
        vm.warp(opensAt);

        IAgentRouter.Fulfillment memory answer = _backupFulfillment(req, backup, OUTPUT);
        vm.recordLogs();
        vm.prank(relayer);
        router.fulfillAsBackup(answer, 1);
        _expectSettledBy(backup, req.worker, 1);

        assertEq(uint256(router.requestStatus(req.id)), uint256(IAgentRouter.RequestStatus.Answered), "unexpected value");
        assertEq(router.workerFees(backup), WORKER_FEE, "the backup's pool gets the worker fee");
        assertEq(router.workerFees(req.worker), 0, "the primary gets nothing");
        assertEq(router.pendingOf(req.worker), 0, "the primary's slot is released");
        assertEq(router.pendingOf(backup), 0, "nothing is counted on the backup");
        assertEq(staking.timeoutSlashes(req.worker), 1, "the primary is slashed");
        assertEq(staking.timeoutSlashes(backup), 0, "the backup is not");
        assertEq(consumer.lastRequestId(), req.id, "unexpected value");
        assertEq(consumer.lastOutput(), OUTPUT, "the consumer got the backup's answer");
        assertTrue(router.earnings(relayer) > 0, "the relayer is reimbursed its gas");
        assertEq(_reservedOf(accountId), 0, "reservation released");
    }

    /// Review s25 C1: the capacity fee, priced at request, is paid with a backup's answer as with the primary's.
    function test_ABackupsAnswerPaysTheCapacityFee() public {
        router.setCapacityPrice(router.MAX_CAPACITY_PRICE());
        IAgentRouter.AgentRequest memory req = _request();
        assertTrue(req.capacityFee != 0, "priced");
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        uint256 protocolBefore = router.protocolFees();
        router.fulfillAsBackup(_backupFulfillment(req, backup, OUTPUT), 1);
        uint256 share = (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000;
        assertEq(router.protocolFees() - protocolBefore, share + req.capacityFee, "protocol share and capacity fee");
    }

    function test_TheBackupsFeeIsCollectedLikeAPrimarys() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        router.fulfillAsBackup(_backupFulfillment(req, backup, OUTPUT), 1);
        uint256 before = token.balanceOf(address(staking));
        assertEq(staking.collect(router, backup), WORKER_FEE, "collected in full");
        assertEq(token.balanceOf(address(staking)) - before, WORKER_FEE, "unexpected value");
        assertEq(router.workerFees(backup), 0, "unexpected value");
    }

    function test_SecondBackupAnswersAfterItsWindow() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address second, uint64 opensAt) = router.backupWorker(req, 2);
        vm.warp(opensAt - 1);
        IAgentRouter.Fulfillment memory answer = _backupFulfillment(req, second, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.BackupWindowNotOpen.selector, req.id, opensAt));
        router.fulfillAsBackup(answer, 2);
        vm.warp(opensAt);
        vm.recordLogs();
        router.fulfillAsBackup(answer, 2);
        _expectSettledBy(second, req.worker, 2);
        assertEq(router.workerFees(second), WORKER_FEE, "unexpected value");
    }

    function test_FirstBackupMayStillAnswerInTheSecondsWindow() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address first,) = router.backupWorker(req, 1);
        (, uint64 secondOpens) = router.backupWorker(req, 2);
        vm.warp(secondOpens + 10);
        router.fulfillAsBackup(_backupFulfillment(req, first, OUTPUT), 1);
        assertEq(router.workerFees(first), WORKER_FEE, "unexpected value");
    }

    function test_RevertWhen_BackupAnswersBeforeItsWindow() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        IAgentRouter.Fulfillment memory answer = _backupFulfillment(req, backup, OUTPUT);
        vm.warp(opensAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.BackupWindowNotOpen.selector, req.id, opensAt));
        router.fulfillAsBackup(answer, 1);
    }

    function test_RevertWhen_SignedByAnyoneButBackupRank() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address first, uint64 opensAt) = router.backupWorker(req, 1);
        (address second,) = router.backupWorker(req, 2);
        vm.warp(opensAt);
        // Rank 2's answer claimed as rank 1's.
        IAgentRouter.Fulfillment memory answer = _signedAs(req, workerKeyOf[second], first, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, second, first));
        router.fulfillAsBackup(answer, 1);
        // The primary signing in the backup's name.
        answer = _signedAs(req, workerKeyOf[req.worker], first, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, req.worker, first));
        router.fulfillAsBackup(answer, 1);
        // A stranger's key.
        answer = _signedAs(req, 0xBAD, first, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(0xBAD), first));
        router.fulfillAsBackup(answer, 1);
        // The primary's own answer (signed as itself) is not a backup's.
        _expectRevertSelector(
            abi.encodeCall(AgentRouter.fulfillAsBackup, (_fulfillment(req, OUTPUT), 1)), IAgentRouter.WrongSigner.selector
        );
        // And a backup's answer is not the primary's.
        _expectRevertSelector(
            abi.encodeCall(AgentRouter.fulfill, (_backupFulfillment(req, first, OUTPUT))), IAgentRouter.WrongSigner.selector
        );
        assertTrue(router.isPending(req.id), "unexpected outcome");
    }

    function test_RevertWhen_BackupAnswersAfterTheDeadline() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup,) = router.backupWorker(req, 1);
        IAgentRouter.Fulfillment memory answer = _backupFulfillment(req, backup, OUTPUT);
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.DeadlinePassed.selector, req.id, req.deadline));
        router.fulfillAsBackup(answer, 1);
    }

    function test_RevertWhen_BackupIsBanned() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        IAgentRouter.Fulfillment memory answer = _backupFulfillment(req, backup, OUTPUT);
        workers.revokeWorker(backup);
        vm.warp(opensAt);
        // Revoked, it leaves the draw: another worker (or none) is rank 1 now, never the revoked one.
        try router.backupWorker(req, 1) returns (address now_, uint64) {
            assertTrue(now_ != backup, "redrawn");
        } catch {}
        _expectRevertSelector(abi.encodeCall(AgentRouter.fulfillAsBackup, (answer, 1)), IAgentRouter.WrongSigner.selector);
    }

    function test_ExactlyOneAnswerSettles_PrimaryFirst() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        IAgentRouter.Fulfillment memory backupAnswer = _backupFulfillment(req, backup, OUTPUT);
        router.fulfill(_fulfillment(req, OUTPUT));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfillAsBackup(backupAnswer, 1);
        assertEq(router.workerFees(req.worker), WORKER_FEE, "primary paid");
        assertEq(router.workerFees(backup), 0, "backup not");
        assertEq(staking.timeoutSlashes(req.worker), 0, "no slash when the primary answers");
    }

    function test_ExactlyOneAnswerSettles_BackupFirst() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address first, uint64 opensAt) = router.backupWorker(req, 1);
        (address second, uint64 secondOpens) = router.backupWorker(req, 2);
        vm.warp(secondOpens > opensAt ? secondOpens : opensAt);
        IAgentRouter.Fulfillment memory primaryAnswer = _fulfillment(req, OUTPUT);
        IAgentRouter.Fulfillment memory secondAnswer = _backupFulfillment(req, second, OUTPUT);
        router.fulfillAsBackup(_backupFulfillment(req, first, OUTPUT), 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfill(primaryAnswer);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfillAsBackup(secondAnswer, 2);
        // In a batch, the primary's late answer is skipped, not paid.
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](1);
        batch[0] = primaryAnswer;
        router.fulfillBatch(batch);
        assertEq(router.workerFees(req.worker), 0, "unexpected value");
        assertEq(router.workerFees(second), 0, "unexpected value");
        assertEq(router.workerFees(first), WORKER_FEE, "unexpected value");
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.timeout(req);
    }

    function test_FullPrimaryIsReleasedAndItsMarkClearedWhenABackupAnswers() public {
        AgentRouterState.Config memory config = _defaultConfig();
        config.maxPendingPerWorker = 1;
        router.setConfig(config);
        IAgentRouter.AgentRequest memory req = _request();
        assertTrue(staking.isFull(req.worker), "the primary filled its only slot");
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        router.fulfillAsBackup(_backupFulfillment(req, backup, OUTPUT), 1);
        assertFalse(staking.isFull(req.worker), "the staking side is told the primary has room again");
        assertEq(router.pendingOf(req.worker), 0, "unexpected value");
        assertFalse(staking.isFull(backup), "the backup's mark is untouched");
    }

    function test_AFullBackupKeepsItsMarkAndItsCount() public {
        AgentRouterState.Config memory config = _defaultConfig();
        config.maxPendingPerWorker = 1;
        router.setConfig(config);
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        // The mock staking samples full workers too: fill the backup with a request of its own.
        IAgentRouter.AgentRequest memory other;
        // The primary is full: the next requests go to the two others, at most one each.
        for (uint256 i; i < 2 && other.worker != backup; ++i) {
            other = _request();
        }
        assertEq(other.worker, backup, "backup holds a request of its own");
        assertTrue(staking.isFull(backup), "unexpected outcome");
        vm.warp(opensAt);
        router.fulfillAsBackup(_backupFulfillment(req, backup, OUTPUT), 1);
        assertTrue(staking.isFull(backup), "still full: its own request is pending");
        assertEq(router.pendingOf(backup), 1, "its own request still counted");
        assertEq(router.workerFees(backup), WORKER_FEE, "unexpected value");
    }

    function test_NoAnswerStillRefundsInFullAtTheDeadline() public {
        uint256 balanceBefore = _balanceOf(accountId);
        IAgentRouter.AgentRequest memory req = _request();
        (, uint64 opensAt) = router.backupWorker(req, 2);
        vm.warp(opensAt);
        vm.warp(req.deadline + 1);
        router.timeout(req);
        assertEq(_balanceOf(accountId), balanceBefore, "full refund");
        assertEq(_reservedOf(accountId), 0, "unexpected value");
        assertEq(uint256(router.requestStatus(req.id)), uint256(IAgentRouter.RequestStatus.TimedOut), "unexpected value");
    }

    function test_AFailingSlashNeverBlocksTheBackupsAnswer() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        staking.setRevertOnSlash(true);
        vm.warp(opensAt);
        vm.expectEmit(address(router));
        emit IAgentRouter.SlashFailed(req.id, req.worker);
        router.fulfillAsBackup(_backupFulfillment(req, backup, OUTPUT), 1);
        assertEq(router.workerFees(backup), WORKER_FEE, "unexpected value");
    }

    function test_RevertWhen_BackupCalldataIsPadded() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        bytes memory call = abi.encodeCall(AgentRouter.fulfillAsBackup, (_backupFulfillment(req, backup, OUTPUT), 1));
        (bool ok, bytes memory reason) = address(router).call(abi.encodePacked(call, bytes32(0)));
        assertFalse(ok, "unexpected outcome");
        assertEq(bytes4(reason), IAgentRouter.NonCanonicalCalldata.selector, "unexpected value");
        (ok,) = address(router).call(call);
        assertTrue(ok, "the canonical encoding settles");
    }

    function test_RevertWhen_TheRequestIsTampered() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        IAgentRouter.AgentRequest memory forged = req;
        forged.worker = backup;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.backupWorker(forged, 1);
        IAgentRouter.Fulfillment memory answer = _signedAs(forged, workerKeyOf[backup], backup, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.fulfillAsBackup(answer, 1);
    }

    function test_TheprimarysOperatorNeverRunsItsBackup() public {
        // A second worker for every operator: each could be drawn, but never for its sibling's request.
        for (uint256 i; i < WORKER_COUNT; ++i) {
            staking.addWorker(_registerWorker(FIRST_WORKER_KEY + 200 + i, address(uint160(0x0E00 + i)), MEASUREMENT));
        }
        for (uint256 i; i < 20; ++i) {
            vm.prevrandao(bytes32(i));
            IAgentRouter.AgentRequest memory req = _request();
            for (uint256 rank = 1; rank <= 2; ++rank) {
                (address backup,) = router.backupWorker(req, rank);
                assertTrue(workers.operatorOf(backup) != workers.operatorOf(req.worker), "another operator's worker");
            }
        }
    }

    /// @dev The extension's handover, called directly rather than by the router's DELEGATECALL, acts on
    /// the extension's own storage, where no request was answered: nobody can release or slash with it.
    function test_RevertWhen_TheHandoverIsCalledOnTheExtension() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        AgentRouterExtension extension = AgentRouterExtension(router.extension());
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        extension.handOver(req.id, req.worker, req.configVersion, backup, 1);
        assertEq(router.pendingOf(req.worker), 1, "the router's books are untouched");
        assertEq(staking.timeoutSlashes(req.worker), 0, "and nobody slashed");
    }

    // ---------------------------------------------------------------- equivocation by a backup key

    function test_ABackupsTwoAnswersAreProvableAndSlashed() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        IAgentRouter.SignedAnswer memory a = _answerAs(req, backup, "positive");
        IAgentRouter.SignedAnswer memory b = _answerAs(req, backup, "negative");
        // One of them settles the request; the proof stays valid after settlement.
        vm.warp(opensAt);
        router.fulfillAsBackup(_backupFulfillment(req, backup, "positive"), 1);

        // The primary's proof path names the primary: the backup's answers are not its.
        _expectRevertSelector(abi.encodeCall(AgentRouter.reportEquivocation, (req, a, b)), IAgentRouter.WrongSigner.selector);
        vm.prank(REPORTER);
        router.reportBackupEquivocation(req, backup, a, b);
        assertTrue(workers.workerOf(backup).jailed, "the backup is jailed");
        assertEq(staking.equivocationSlashes(backup), 1, "and slashed");
        assertFalse(router.equivocationReported(req.id), "the primary's record is untouched");

        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.EquivocationAlreadyReported.selector, req.id));
        router.reportBackupEquivocation(req, backup, a, b);
    }

    /// @dev Review s25 F6: the operator deregisters the backup's key when it sees the proof coming
    /// (front-running the report); the key is still jailed and its pool still slashed.
    function test_Attack_ABackupCannotEscapeItsProofByDeregisteringItsKey() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        IAgentRouter.SignedAnswer memory a = _answerAs(req, backup, "positive");
        IAgentRouter.SignedAnswer memory b = _answerAs(req, backup, "negative");
        vm.warp(opensAt);
        router.fulfillAsBackup(_backupFulfillment(req, backup, "positive"), 1);

        vm.prank(workers.operatorOf(backup));
        workers.deregisterWorker(backup);
        vm.prank(REPORTER);
        router.reportBackupEquivocation(req, backup, a, b);
        assertTrue(workers.workerOf(backup).jailed, "the deregistered key is jailed");
        assertEq(staking.equivocationSlashes(backup), 1, "and its pool slashed");
    }

    function test_RevertWhen_BackupEquivocationProofIsNotOne() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup,) = router.backupWorker(req, 1);
        IAgentRouter.SignedAnswer memory a = _answerAs(req, backup, "positive");
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NotEquivocation.selector, req.id));
        router.reportBackupEquivocation(req, backup, a, a);
        // Two answers by two different keys prove nothing about either.
        (address second,) = router.backupWorker(req, 2);
        IAgentRouter.SignedAnswer memory other = _answerAs(req, second, "negative");
        _expectRevertSelector(
            abi.encodeCall(AgentRouter.reportBackupEquivocation, (req, backup, a, other)), IAgentRouter.WrongSigner.selector
        );
    }

    /// @dev The pre-emption attack of RouterAttacksEquivocation, against a backup: a throwaway key
    /// (not a registered worker) reporting itself cannot use up the request's proof, and a proof
    /// against the primary does not block the one against a backup, or the other way round.
    function test_NoReportPreemptsTheProofAgainstABackup() public {
        IAgentRouter.AgentRequest memory req = _request();
        (address backup,) = router.backupWorker(req, 1);
        address throwaway = vm.addr(0x7A7);
        workerKeyOf[throwaway] = 0x7A7;
        IAgentRouter.SignedAnswer memory x = _answerAs(req, throwaway, "x");
        IAgentRouter.SignedAnswer memory y = _answerAs(req, throwaway, "y");
        router.reportBackupEquivocation(req, throwaway, x, y);
        assertTrue(workers.workerOf(throwaway).jailed, "the throwaway key jails only itself");

        uint256 primaryKey = workerKeyOf[req.worker];
        router.reportEquivocation(req, _answer(primaryKey, req, "x", 0), _answer(primaryKey, req, "y", 0));
        assertTrue(router.equivocationReported(req.id), "the primary's proof is recorded");
        router.reportBackupEquivocation(req, backup, _answerAs(req, backup, "x"), _answerAs(req, backup, "y"));
        assertTrue(workers.workerOf(backup).jailed, "the backup's proof is still accepted");
        assertTrue(workers.workerOf(req.worker).jailed, "and the primary's was");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev An answer to `req` signed by `worker`'s key naming `worker`.
    function _answerAs(IAgentRouter.AgentRequest memory req, address worker, bytes memory output)
        internal
        view
        returns (IAgentRouter.SignedAnswer memory)
    {
        IAgentRouter.Fulfillment memory f = _signedAs(req, workerKeyOf[worker], worker, output);
        return IAgentRouter.SignedAnswer({
            outputHash: keccak256(output),
            status: 0,
            subAgentIds: f.subAgentIds,
            subAgentPrices: f.subAgentPrices,
            signature: f.signature
        });
    }

    function _expectRevertSelector(bytes memory call, bytes4 selector) internal {
        (bool ok, bytes memory reason) = address(router).call(call);
        assertFalse(ok, "reverts");
        assertEq(bytes4(reason), selector, "with the expected error");
    }

    /// @dev An answer to `req` signed by `backup` as itself.
    function _backupFulfillment(IAgentRouter.AgentRequest memory req, address backup, bytes memory output)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        return _signedAs(req, workerKeyOf[backup], backup, output);
    }

    /// @dev The logs since vm.recordLogs() hold RequestFulfilled by `backup` and BackupAnswered(primary, backup, rank).
    function _expectSettledBy(address backup, address primary, uint256 rank) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool fulfilled;
        bool handedOver;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(router)) continue;
            if (logs[i].topics[0] == IAgentRouter.RequestFulfilled.selector) {
                assertEq(address(uint160(uint256(logs[i].topics[2]))), backup, "RequestFulfilled names the backup");
                fulfilled = true;
            }
            if (logs[i].topics[0] == IAgentRouter.BackupAnswered.selector) {
                assertEq(address(uint160(uint256(logs[i].topics[2]))), primary, "BackupAnswered names the primary");
                assertEq(address(uint160(uint256(logs[i].topics[3]))), backup, "and the backup");
                (uint256 loggedRank, uint256 penalty) = abi.decode(logs[i].data, (uint256, uint256));
                assertEq(loggedRank, rank, "and its rank");
                assertEq(penalty, uint256(WORKER_FEE) * TIMEOUT_PENALTY_BPS / 10_000, "and the penalty");
                handedOver = true;
            }
        }
        assertTrue(fulfilled && handedOver, "both events");
    }
}
