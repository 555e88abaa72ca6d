// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {AgentConsumer} from "../../contracts/consumer/AgentConsumer.sol";
import {ExactGasCall} from "../../contracts/core/ExactGasCall.sol";
import {MockWorkerStaking} from "../../contracts/mocks/MockWorkerStaking.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IAgentConsumer} from "../../contracts/interfaces/IAgentConsumer.sol";

/// @notice Consumer whose timeout hook records what it saw, or attacks the router in one of the ways
/// a hostile consumer could: revert, burn every unit of gas it is given, or return a huge payload.
contract TimeoutHookConsumer is AgentConsumer {
    enum Mode {
        Record,
        Revert,
        BurnGas,
        ReturnBomb
    }

    Mode public mode;
    // One slot, so that recording costs one storage write (the hook has 50,000 gas).
    uint32 public notices;
    uint64 public lastTimedOut;
    /// @dev gasleft() on entering the hook: shows it ran with its whole budget.
    uint64 public gasAtEntry;
    IAgentRouter.RequestStatus public statusSeen;

    error HookRefuses();

    constructor(IAgentRouter router) AgentConsumer(router) {}

    function setMode(Mode newMode) external {
        mode = newMode;
    }

    function request(uint64 accountId, uint256 agentId, uint32 callbackGasLimit, uint96 maxFee) external returns (uint256) {
        return _requestAgent(accountId, agentId, "will time out", callbackGasLimit, maxFee);
    }

    function _onAgentResponse(uint256, bytes calldata) internal override {}

    function _onAgentTimeout(uint256 requestId) internal override {
        uint256 entry = gasleft();
        if (mode == Mode.Revert) revert HookRefuses();
        if (mode == Mode.BurnGas) {
            uint256 counter;
            while (gasleft() > 0) {
                counter = uint256(keccak256(abi.encode(counter)));
            }
        }
        if (mode == Mode.ReturnBomb) {
            assembly {
                return(0, 100000)
            }
        }
        IAgentRouter.RequestStatus status = agentRouter.requestStatus(requestId);
        (gasAtEntry, lastTimedOut, statusSeen, notices) = (uint64(entry), uint64(requestId), status, notices + 1);
    }
}

/// @notice issue 16, item 4: the router tells a consumer contract that its request timed out, through
/// a hook that can neither block the refund and the slash nor be skipped by the caller's gas limit;
/// and `requestStatus` tells any contract where a request stands.
contract RouterTimeoutHookTest is RouterFixture {
    address internal constant CALLER = address(0xCA11E2);

    TimeoutHookConsumer internal hooked;
    uint64 internal hookedAccount;

    function setUp() public override {
        super.setUp();
        hooked = new TimeoutHookConsumer(router);
        hookedAccount = _openAccount(payer, address(hooked), ACCOUNT_FUNDS);
    }

    function test_TimeoutNotifiesTheConsumerAfterTheRefund() public {
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        vm.warp(req.deadline + 1);
        vm.prank(CALLER);
        router.timeout(req);

        assertEq(hooked.notices(), 1, "notified once");
        assertEq(hooked.lastTimedOut(), req.id, "its request");
        assertEq(uint256(hooked.statusSeen()), uint256(IAgentRouter.RequestStatus.TimedOut), "saw the final state");
        assertGe(hooked.gasAtEntry(), router.TIMEOUT_CALLBACK_GAS() - 1_000, "with its whole budget");
        assertEq(_balanceOf(hookedAccount), ACCOUNT_FUNDS, "refunded in full");
        assertEq(_reservedOf(hookedAccount), 0, "released");
    }

    function test_Attack_RevertingHookCannotBlockTheTimeout() public {
        hooked.setMode(TimeoutHookConsumer.Mode.Revert);
        _expectRefundedSlashedAndPaid();
    }

    function test_Attack_GasBurningHookCannotBlockTheTimeout() public {
        hooked.setMode(TimeoutHookConsumer.Mode.BurnGas);
        _expectRefundedSlashedAndPaid();
    }

    /// @dev The caller's cost is bounded: a burning hook takes its 50,000 and not more, against a hook
    /// that reverts at once (same state, measured from one snapshot).
    function test_HookCostsTheCallerAtMostTimeoutCallbackGas() public {
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        vm.warp(req.deadline + 1);
        uint256 snapshot = vm.snapshotState();
        hooked.setMode(TimeoutHookConsumer.Mode.BurnGas);
        uint256 burning = _timeoutGas(req);
        vm.revertToState(snapshot);
        hooked.setMode(TimeoutHookConsumer.Mode.Revert);
        uint256 reverting = _timeoutGas(req);
        assertGe(burning, reverting + router.TIMEOUT_CALLBACK_GAS() - 5_000, "the burner used its budget");
        assertLe(burning - reverting, router.TIMEOUT_CALLBACK_GAS(), "bounded by TIMEOUT_CALLBACK_GAS");
    }

    function test_Attack_ReturnDataBombCannotBlockTheTimeout() public {
        hooked.setMode(TimeoutHookConsumer.Mode.ReturnBomb);
        uint256 used = _expectRefundedSlashedAndPaid();
        // The router copies none of the 100 KB back (copying alone would cost more than this bound).
        assertLe(used, 200_000, "return data never copied");
    }

    /// @dev The 63/64 rule: with a limit chosen so that the hook's call runs short while the 1/64 kept
    /// back finishes the timeout, a caller could skip (or starve) the hook and still collect. Whatever
    /// the gas limit, a timeout that succeeds ran the hook with its whole budget.
    function test_Attack_NoGasLimitSkipsOrStarvesTheHook() public {
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        vm.warp(req.deadline + 1);
        bytes memory call = abi.encodeCall(AgentRouter.timeout, (req));
        uint256 least = _leastGasThatSucceeds(call);
        for (uint256 gasLimit = least; gasLimit < least + 60_000; gasLimit += 397) {
            (bool ok, uint256 entryGas) = _run(call, gasLimit);
            assertTrue(ok, "more gas than the least succeeds");
            assertGe(entryGas, router.TIMEOUT_CALLBACK_GAS() - 1_000, "the hook ran with its whole budget");
        }
        (bool okShort,) = _run(call, least - 1);
        assertFalse(okShort, "one unit less reverts: nothing is skipped");
    }

    /// @dev With a penalty the slash's own gas guard (SLASH_GAS, 300,000) binds first and leaves the
    /// hook plenty; with none (governance may set 0) the hook's guard is what a starving caller meets.
    function test_RevertWhen_TooLittleGasForTheHook() public {
        AgentRouterState.Config memory noPenalty = _defaultConfig();
        noPenalty.timeoutPenaltyBps = 0;
        router.setConfig(noPenalty);
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        vm.warp(req.deadline + 1);
        uint256 least = _leastGasThatSucceeds(abi.encodeCall(AgentRouter.timeout, (req)));
        vm.expectRevert(
            abi.encodeWithSelector(ExactGasCall.InsufficientGasForCallback.selector, router.TIMEOUT_CALLBACK_GAS())
        );
        vm.prank(CALLER);
        router.timeout{gas: least - 500}(req);
        (bool ok, uint256 entryGas) = _run(abi.encodeCall(AgentRouter.timeout, (req)), least);
        assertTrue(ok && entryGas >= router.TIMEOUT_CALLBACK_GAS() - 1_000, "the least that succeeds ran the hook in full");
    }

    function test_Attack_NoGasLimitSkipsOrStarvesTheHookWithoutASlash() public {
        AgentRouterState.Config memory noPenalty = _defaultConfig();
        noPenalty.timeoutPenaltyBps = 0;
        router.setConfig(noPenalty);
        test_Attack_NoGasLimitSkipsOrStarvesTheHook();
    }

    function test_TimeoutBatchNotifiesEachConsumerAndAFailingHookStopsNoOther() public {
        IAgentRouter.AgentRequest[] memory batch = new IAgentRouter.AgentRequest[](3);
        batch[0] = _hookedRequest();
        batch[1] = _request(); // RecordingConsumer: the base contract's default hook, which ignores it
        batch[2] = _hookedRequest();
        vm.warp(batch[2].deadline + 1);
        hooked.setMode(TimeoutHookConsumer.Mode.Revert);
        vm.prank(CALLER);
        router.timeoutBatch(batch);
        for (uint256 i; i < batch.length; ++i) {
            assertEq(uint256(router.requestStatus(batch[i].id)), uint256(IAgentRouter.RequestStatus.TimedOut), "timed out");
        }
        assertEq(_reservedOf(hookedAccount), 0, "hooked account released");
        assertEq(_reservedOf(accountId), 0, "other account released");

        IAgentRouter.AgentRequest memory next = _hookedRequest();
        hooked.setMode(TimeoutHookConsumer.Mode.Record);
        vm.warp(next.deadline + 1);
        IAgentRouter.AgentRequest[] memory single = new IAgentRouter.AgentRequest[](1);
        single[0] = next;
        router.timeoutBatch(single);
        assertEq(hooked.lastTimedOut(), next.id, "batch entries are notified");
    }

    function test_AnsweredRequestsAreNotNotified() public {
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        router.fulfill(_fulfillment(req, "on time"));
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.timeout(req);
        assertEq(hooked.notices(), 0, "no notice");
    }

    function test_Attack_ForgedTimeoutNoticeIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, stranger));
        vm.prank(stranger);
        hooked.onAgentTimeout(1);
        assertEq(hooked.notices(), 0, "nothing recorded");
    }

    // ---------------------------------------------------------------- requestStatus

    function test_RequestStatusFollowsTheLifecycle() public {
        assertEq(uint256(router.requestStatus(0)), uint256(IAgentRouter.RequestStatus.Unknown), "id 0");
        assertEq(uint256(router.requestStatus(1)), uint256(IAgentRouter.RequestStatus.Unknown), "not yet issued");
        IAgentRouter.AgentRequest memory answered = _request();
        IAgentRouter.AgentRequest memory failed = _request();
        IAgentRouter.AgentRequest memory late = _request();
        assertEq(uint256(router.requestStatus(answered.id)), uint256(IAgentRouter.RequestStatus.Pending), "pending");
        router.fulfill(_fulfillment(answered, "positive"));
        router.fulfill(_fulfillment(failed, "agent error", 3, new uint256[](0)));
        vm.warp(late.deadline + 1);
        router.timeout(late);
        assertEq(uint256(router.requestStatus(answered.id)), uint256(IAgentRouter.RequestStatus.Answered), "answered");
        assertEq(uint256(router.requestStatus(failed.id)), uint256(IAgentRouter.RequestStatus.Answered), "error answer");
        assertEq(uint256(router.requestStatus(late.id)), uint256(IAgentRouter.RequestStatus.TimedOut), "timed out");
        assertEq(uint256(router.requestStatus(late.id + 1)), uint256(IAgentRouter.RequestStatus.Unknown), "next id");
    }

    /// @dev Two bits per id, 128 ids per word: settle ids across a word boundary alternately and check
    /// no request's state leaks into its neighbours'.
    function test_RequestStatusAcrossAWordBoundary() public {
        _fund(accountId, 1_000 ether);
        IAgentRouter.AgentRequest[] memory reqs = new IAgentRouter.AgentRequest[](131);
        for (uint256 i; i < reqs.length; ++i) {
            reqs[i] = _request();
        }
        vm.warp(reqs[130].deadline + 1);
        for (uint256 i = 124; i < reqs.length; ++i) {
            if (i % 3 == 1) router.timeout(reqs[i]);
        }
        for (uint256 i; i < reqs.length; ++i) {
            IAgentRouter.RequestStatus expected =
                i >= 124 && i % 3 == 1 ? IAgentRouter.RequestStatus.TimedOut : IAgentRouter.RequestStatus.Pending;
            assertEq(uint256(router.requestStatus(reqs[i].id)), uint256(expected), "own state only");
            assertEq(router.isPending(reqs[i].id), expected == IAgentRouter.RequestStatus.Pending, "isPending agrees");
        }
    }

    // ---------------------------------------------------------------- helpers

    function _hookedRequest() internal returns (IAgentRouter.AgentRequest memory) {
        vm.recordLogs();
        hooked.request(hookedAccount, agentId, CALLBACK_GAS, MAX_FEE);
        return _requestFromLogs();
    }

    /// @dev Times a fresh hooked request out from CALLER; checks refund, slash and the caller's reward;
    /// returns the gas the timeout used.
    function _expectRefundedSlashedAndPaid() internal returns (uint256 used) {
        IAgentRouter.AgentRequest memory req = _hookedRequest();
        vm.warp(req.deadline + 1);
        uint256 slashesBefore = staking.timeoutSlashes(req.worker);
        vmx.expectEmit(true, true, false, true, address(staking));
        emit MockWorkerStaking.TimeoutSlashed(
            req.worker, req.id, uint256(WORKER_FEE) * TIMEOUT_PENALTY_BPS / 10_000, CALLER, 30_000 * PHA_PER_GAS
        );
        vm.prank(CALLER);
        uint256 before = gasleft();
        router.timeout(req);
        used = before - gasleft();
        assertEq(staking.timeoutSlashes(req.worker), slashesBefore + 1, "slashed, caller rewarded");
        assertEq(_balanceOf(hookedAccount), ACCOUNT_FUNDS, "refunded in full");
        assertEq(_reservedOf(hookedAccount), 0, "released");
        assertEq(uint256(router.requestStatus(req.id)), uint256(IAgentRouter.RequestStatus.TimedOut), "timed out");
    }

    function _timeoutGas(IAgentRouter.AgentRequest memory req) internal returns (uint256 used) {
        vm.prank(CALLER);
        uint256 before = gasleft();
        router.timeout(req);
        used = before - gasleft();
    }

    /// @dev Outcome of `call` from CALLER with exactly `gasLimit` gas and the gas the hook saw, then rolled back.
    function _run(bytes memory call, uint256 gasLimit) internal returns (bool ok, uint256 entryGas) {
        uint256 snapshot = vm.snapshotState();
        vm.prank(CALLER);
        (ok,) = address(router).call{gas: gasLimit}(call);
        entryGas = hooked.gasAtEntry();
        vm.revertToState(snapshot);
    }

    function _leastGasThatSucceeds(bytes memory call) internal returns (uint256 high) {
        uint256 low = 21_000;
        high = 3_000_000;
        (bool ok,) = _run(call, high);
        assertTrue(ok, "succeeds with plenty of gas");
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            (ok,) = _run(call, mid);
            if (ok) high = mid;
            else low = mid;
        }
    }
}
