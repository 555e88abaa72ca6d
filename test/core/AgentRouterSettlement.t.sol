// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {BillingAccounts} from "../../contracts/core/BillingAccounts.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {MockWorkerStaking} from "../../contracts/mocks/MockWorkerStaking.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IWorkerStaking} from "../../contracts/interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../../contracts/interfaces/IKeyRegistry.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";

/// @notice Timeouts, equivocation reports, withdrawals of earnings and fees, governance.
contract AgentRouterSettlementTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";
    address internal constant REPORTER = address(0x4E9);
    /// @dev The fixture's timeout penalty and reward: 2 worker fees, 30,000 gas at 1 gwei.
    uint256 internal constant PENALTY = uint256(WORKER_FEE) * TIMEOUT_PENALTY_BPS / 10_000;
    uint256 internal constant TIMEOUT_REWARD = 30_000 * PHA_PER_GAS;

    // ---------------------------------------------------------------- timeout

    function test_RevertWhen_TimeoutBeforeDeadline() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.DeadlineNotPassed.selector, req.id, req.deadline));
        router.timeout(req);
    }

    function test_TimeoutRefundsInFullAndSlashesTheWorker() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline + 1);
        vmx.expectEmit(true, true, true, true, address(router));
        emit IAgentRouter.RequestTimedOut(req.id, req.worker, REPORTER, MAX_FEE);
        vmx.expectEmit(true, true, false, true, address(staking));
        emit MockWorkerStaking.TimeoutSlashed(req.worker, req.id, PENALTY, REPORTER, TIMEOUT_REWARD);
        vm.prank(REPORTER);
        router.timeout(req);

        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS, "nothing charged");
        assertEq(_reservedOf(accountId), 0, "released");
        assertEq(router.accountOf(accountId).pendingRequests, 0, "not pending");
        assertFalse(router.isPending(req.id), "closed");
        assertEq(staking.timeoutSlashes(req.worker), 1, "slashed once");
        assertEq(consumer.responses() + consumer.errors(), 0, "no callback");
    }

    function test_TimeoutRefundsEvenWhenTheSlashReverts() public {
        IAgentRouter.AgentRequest memory req = _request();
        staking.setRevertOnSlash(true);
        vm.warp(req.deadline + 1);
        vmx.expectEmit(true, true, false, false, address(router));
        emit IAgentRouter.SlashFailed(req.id, req.worker);
        router.timeout(req);
        assertEq(_reservedOf(accountId), 0, "released");
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS, "refunded");
    }

    function test_RevertWhen_TimedOutTwice() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline + 1);
        router.timeout(req);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.timeout(req);
        assertEq(staking.timeoutSlashes(req.worker), 1, "slashed once");
    }

    function test_RevertWhen_TimeoutOfATamperedRequest() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.warp(req.deadline + 1);
        req.maxFee = MAX_FEE * 2;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestMismatch.selector, req.id));
        router.timeout(req);
    }

    function test_RevertWhen_TimeoutOfAFulfilledRequest() public {
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, OUTPUT));
        vm.warp(req.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.timeout(req);
    }

    function test_FulfilAfterTimeoutReverts() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.warp(req.deadline + 1);
        router.timeout(req);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, req.id));
        router.fulfill(f);
    }

    // ---------------------------------------------------------------- equivocation

    function test_EquivocationJailsAndSlashes() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 key = workerKeyOf[req.worker];
        staking.setSlashAmount(7 ether);
        vmx.expectEmit(true, true, true, true, address(router));
        emit IAgentRouter.EquivocationReported(req.id, req.worker, REPORTER, 7 ether);
        _report(req, _answer(key, req, "positive", 0), _answer(key, req, "negative", 0));

        assertTrue(workers.workerOf(req.worker).jailed, "jailed");
        assertFalse(workers.isActive(req.worker), "inactive");
        assertEq(staking.equivocationSlashes(req.worker), 1, "slashed");
        assertTrue(router.equivocationReported(req.id), "recorded");
    }

    function test_EquivocationByStatusAlone() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 key = workerKeyOf[req.worker];
        _report(req, _answer(key, req, OUTPUT, 0), _answer(key, req, OUTPUT, 1));
        assertTrue(workers.workerOf(req.worker).jailed, "jailed");
    }

    function test_RevertWhen_SameAnswerTwice() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.SignedAnswer memory a = _answer(workerKeyOf[req.worker], req, OUTPUT, 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NotEquivocation.selector, req.id));
        router.reportEquivocation(req, a, a);
    }

    function test_RevertWhen_AnswerNotSignedByTheWorker() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.SignedAnswer memory a = _answer(workerKeyOf[req.worker], req, "positive", 0);
        IAgentRouter.SignedAnswer memory forged = _answer(0xBAD, req, "negative", 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(0xBAD), req.worker));
        router.reportEquivocation(req, a, forged);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(0xBAD), req.worker));
        router.reportEquivocation(req, forged, a);
        assertFalse(workers.workerOf(req.worker).jailed, "not jailed");
    }

    function test_RevertWhen_ReportedTwice() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 key = workerKeyOf[req.worker];
        IAgentRouter.SignedAnswer memory a = _answer(key, req, "positive", 0);
        IAgentRouter.SignedAnswer memory b = _answer(key, req, "negative", 0);
        router.reportEquivocation(req, a, b);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.EquivocationAlreadyReported.selector, req.id));
        router.reportEquivocation(req, b, a);
    }

    function test_EquivocationReportableAfterSettlement() public {
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, "positive"));
        uint256 key = workerKeyOf[req.worker];
        _report(req, _answer(key, req, "positive", 0), _answer(key, req, "negative", 0));
        assertTrue(workers.workerOf(req.worker).jailed, "jailed after the fact");
    }

    function test_EquivocationJailsEvenWhenTheSlashReverts() public {
        IAgentRouter.AgentRequest memory req = _request();
        staking.setRevertOnSlash(true);
        uint256 key = workerKeyOf[req.worker];
        vmx.expectEmit(true, true, false, false, address(router));
        emit IAgentRouter.SlashFailed(req.id, req.worker);
        _report(req, _answer(key, req, "positive", 0), _answer(key, req, "negative", 0));
        assertTrue(workers.workerOf(req.worker).jailed, "jailed");
    }

    /// @dev An operator who sees its worker's equivocation coming must not escape by deregistering
    /// the key first: the proof should still be accepted and the pool slashed.
    function test_EquivocationCannotBeDodgedByDeregistering() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 key = workerKeyOf[req.worker];
        IAgentRouter.SignedAnswer memory a = _answer(key, req, "positive", 0);
        IAgentRouter.SignedAnswer memory b = _answer(key, req, "negative", 0);
        vm.prank(operator);
        workers.deregisterWorker(req.worker);

        _report(req, a, b);
        assertEq(staking.equivocationSlashes(req.worker), 1, "slashed");
        assertTrue(workers.workerOf(req.worker).jailed, "key banned");
        // The banned key cannot come back.
        _registerKey(key, operator, MEASUREMENT, abi.encodeWithSelector(IWorkerRegistry.WorkerIsJailed.selector, req.worker));
    }

    // ---------------------------------------------------------------- earnings and fees

    function test_WithdrawEarnings() public {
        _settleOne();
        address to = address(0x70);
        vmx.expectEmit(true, true, false, true, address(router));
        emit IAgentRouter.EarningsWithdrawn(agentOwner, to, AGENT_PRICE);
        vm.prank(agentOwner);
        router.withdrawEarnings(to);
        assertEq(token.balanceOf(to), AGENT_PRICE, "received");
        assertEq(router.earnings(agentOwner), 0, "cleared");

        vm.expectRevert(IAgentRouter.NothingToWithdraw.selector);
        vm.prank(agentOwner);
        router.withdrawEarnings(to);
    }

    function test_RelayerWithdrawsGasReimbursement() public {
        _settleOne();
        uint256 fee = router.earnings(relayer);
        assertGe(fee, 1, "relayer earned");
        vm.prank(relayer);
        router.withdrawEarnings(relayer);
        assertEq(token.balanceOf(relayer), fee, "paid");
    }

    function test_RevertWhen_WithdrawEarningsToZero() public {
        _settleOne();
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        vm.prank(agentOwner);
        router.withdrawEarnings(address(0));
    }

    function test_RevertWhen_CollectWorkerFeesNotByStaking() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NotStaking.selector, stranger));
        vm.prank(stranger);
        router.collectWorkerFees(workerAddrs[0]);
    }

    function test_StakingCollectsWorkerFees() public {
        address worker = _settleOne();
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.WorkerFeesCollected(worker, WORKER_FEE);
        uint256 amount = staking.collect(router, worker);
        assertEq(amount, WORKER_FEE, "returned");
        assertEq(token.balanceOf(address(staking)), WORKER_FEE, "transferred to staking");
        assertEq(router.workerFees(worker), 0, "cleared");
        assertEq(staking.collect(router, worker), 0, "nothing twice");
    }

    function test_WithdrawProtocolFeesToTreasury() public {
        _settleOne();
        uint256 fees = router.protocolFees();
        assertGe(fees, 1, "accrued");
        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.ProtocolFeesWithdrawn(treasury, fees);
        vm.prank(stranger);
        router.withdrawProtocolFees();
        assertEq(token.balanceOf(treasury), fees, "treasury paid");
        assertEq(router.protocolFees(), 0, "cleared");
        vm.expectRevert(IAgentRouter.NothingToWithdraw.selector);
        router.withdrawProtocolFees();
    }

    function test_ProtocolFeesFollowTheTreasury() public {
        _settleOne();
        address newTreasury = address(0x7EA6);
        router.setTreasury(newTreasury);
        router.withdrawProtocolFees();
        assertEq(token.balanceOf(newTreasury), (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000, "paid");
    }

    // ---------------------------------------------------------------- governance

    function test_SetConfigWithinBounds() public {
        AgentRouterState.Config memory config = AgentRouterState.Config({
            workerFee: 1 ether,
            phaPerGas: 2 gwei,
            protocolFeeBps: router.MAX_PROTOCOL_FEE_BPS(),
            timeoutPenaltyBps: router.MAX_TIMEOUT_PENALTY_BPS(),
            fulfillOverheadGas: 70_000,
            maxCallbackGasLimit: uint24(router.MAX_CALLBACK_GAS_LIMIT()),
            requestTimeout: uint24(router.MAX_REQUEST_TIMEOUT()),
            maxPendingPerWorker: router.MAX_PENDING_PER_WORKER_LIMIT()
        });
        vm.expectEmit();
        emit AgentRouterState.ConfigUpdated(2, config);
        router.setConfig(config);
        assertEq(router.configVersion(), 2, "new version");
        AgentRouterState.Config memory stored = router.feeConfig();
        assertEq(keccak256(abi.encode(stored)), keccak256(abi.encode(config)), "stored");
        config.requestTimeout = router.MIN_REQUEST_TIMEOUT();
        router.setConfig(config);
        assertEq(router.feeConfig().requestTimeout, router.MIN_REQUEST_TIMEOUT(), "lower bound accepted");
        assertEq(router.estimateFee(agentId, 0), _expectedEstimate(AGENT_PRICE, 0, config), "estimate follows");
    }

    function test_RevertWhen_ConfigOutOfBounds() public {
        AgentRouterState.Config memory config = _defaultConfig();
        config.protocolFeeBps = router.MAX_PROTOCOL_FEE_BPS() + 1;
        _expectInvalidConfig(config);
        config = _defaultConfig();
        config.requestTimeout = router.MIN_REQUEST_TIMEOUT() - 1;
        _expectInvalidConfig(config);
        config = _defaultConfig();
        config.requestTimeout = router.MAX_REQUEST_TIMEOUT() + 1;
        _expectInvalidConfig(config);
        config = _defaultConfig();
        config.maxCallbackGasLimit = uint24(router.MAX_CALLBACK_GAS_LIMIT() + 1);
        _expectInvalidConfig(config);
    }

    function test_SetMaxInputBytes() public {
        vm.expectEmit();
        emit IAgentRouter.MaxInputBytesUpdated(8);
        router.setMaxInputBytes(8);
        assertEq(router.maxInputBytes(), 8, "stored");
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.InputTooLarge.selector, uint256(9), uint256(8)));
        consumer.request(accountId, agentId, "123456789", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_SetStakingKeyRegistryTreasuryEmit() public {
        AgentRouter fresh = new AgentRouter(
            IERC20(address(token)), agents, workers, address(this), treasury, _defaultConfig(), MAX_INPUT_BYTES
        );
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        fresh.setStaking(IWorkerStaking(address(0)));
        vm.expectEmit();
        emit IAgentRouter.StakingUpdated(address(0x51));
        fresh.setStaking(IWorkerStaking(address(0x51)));
        assertEq(address(fresh.staking()), address(0x51), "staking");
        vm.expectEmit();
        emit IAgentRouter.KeyRegistryUpdated(address(0x52));
        router.setKeyRegistry(IKeyRegistry(address(0x52)));
        assertEq(address(router.keyRegistry()), address(0x52), "keys");
        vm.expectEmit();
        emit IAgentRouter.TreasuryUpdated(address(0x53));
        router.setTreasury(address(0x53));
        assertEq(router.treasury(), address(0x53), "treasury");
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        router.setTreasury(address(0));
    }

    function test_RevertWhen_GovernanceCalledByStranger() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        router.setConfig(_defaultConfig());
        vm.expectRevert(unauthorized);
        router.setMaxInputBytes(1);
        vm.expectRevert(unauthorized);
        router.setStaking(IWorkerStaking(address(0x51)));
        vm.expectRevert(unauthorized);
        router.setKeyRegistry(IKeyRegistry(address(0x52)));
        vm.expectRevert(unauthorized);
        router.setTreasury(stranger);
        vm.expectRevert(unauthorized);
        router.pause();
        vm.expectRevert(unauthorized);
        router.unpause();
        vm.expectRevert(unauthorized);
        router.transferOwnership(stranger);
        vm.stopPrank();
    }

    function test_OwnershipIsTwoStep() public {
        router.transferOwnership(stranger);
        assertEq(router.owner(), address(this), "unchanged until accepted");
        vm.prank(stranger);
        router.acceptOwnership();
        assertEq(router.owner(), stranger, "handed over");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        router.pause();
    }

    function test_PausedRouterStillTimesOutAndWithdraws() public {
        IAgentRouter.AgentRequest memory req = _request();
        router.pause();
        vm.warp(req.deadline + 1);
        router.timeout(req);
        vm.prank(payer);
        router.withdraw(accountId, payer, ACCOUNT_FUNDS);
        assertEq(token.balanceOf(payer), ACCOUNT_FUNDS, "withdrawn while paused");
    }

    // ---------------------------------------------------------------- helpers

    function _settleOne() internal returns (address worker) {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        vm.prank(relayer);
        router.fulfill(f);
        return req.worker;
    }

    function _report(
        IAgentRouter.AgentRequest memory req,
        IAgentRouter.SignedAnswer memory a,
        IAgentRouter.SignedAnswer memory b
    ) internal {
        vm.prank(REPORTER);
        router.reportEquivocation(req, a, b);
    }

    function _expectInvalidConfig(AgentRouterState.Config memory config) internal {
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setConfig(config);
    }
}
