// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernanceFixture} from "./GovernanceFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {PhalaTimelock} from "../../contracts/governance/PhalaTimelock.sol";
import {IPhalaTimelock} from "../../contracts/governance/IPhalaTimelock.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice The timelock's exit window (no change runs before a staker who starts leaving when it is
/// queued has its PHA back) and the guardian's pause-only power.
contract GovernanceTimelockTest is GovernanceFixture {
    uint64 internal constant LONG_UNBONDING = 7 days;

    function _setUnbonding(uint64 period) internal {
        IStakingHub.Params memory p = _params();
        p.unbondingPeriod = period;
        _govern(address(stakingHub), abi.encodeCall(stakingHub.setParams, (p)), "Set the unbonding period");
        assertEq(_unbondingPeriod(), period, "unbonding period");
    }

    // ---------------------------------------------------------------- exit window

    function test_MinDelay_IsTheLongerOfTheConfiguredDelayAndTheUnbondingPeriodPlusTheMargin() public {
        assertEq(timelock.exitWindow(), 1 days, "exit window = unbonding");
        assertEq(timelock.getMinDelay(), TIMELOCK_DELAY, "configured delay in force");
        _setUnbonding(LONG_UNBONDING);
        assertEq(timelock.exitWindow(), LONG_UNBONDING, "exit window follows the hub");
        assertEq(timelock.configuredDelay(), TIMELOCK_DELAY, "configured delay unchanged");
        assertEq(timelock.getMinDelay(), LONG_UNBONDING + timelock.EXIT_MARGIN(), "the exit window plus the margin");
    }

    /// The exit window is strict at the queue itself: a staker who asks to leave in the very block a
    /// change is queued has its PHA back EXIT_MARGIN before the change can run, with the configured
    /// delay (unbonding + margin) as with a raised unbonding period.
    function test_ExitWindow_StakerLeavingAtQueueIsOutBeforeTheChangeRuns() public {
        _assertStakerLeavingAtQueueIsOutFirst();
        _setUnbonding(LONG_UNBONDING);
        _assertStakerLeavingAtQueueIsOutFirst();
    }

    function _assertStakerLeavingAtQueueIsOutFirst() internal {
        uint256 shares = _stake(ALICE, workerPool, 1_000_000 ether);
        AgentRouterState.Config memory config = router.feeConfig();
        config.protocolFeeBps = config.protocolFeeBps + 1;
        uint256 id = _passAndQueue(address(router), abi.encodeCall(AgentRouter.setConfig, (config)), "Raise the protocol fee");

        vm.prank(ALICE);
        uint256 requestId = stakingHub.requestWithdrawal(workerPool, shares);
        uint256 unlockAt = stakingHub.withdrawalRequest(requestId).unlockAt;
        uint256 eta = governor.proposalEta(id);
        assertEq(eta, unlockAt + timelock.EXIT_MARGIN(), "the change runs a margin after the staker's exit");

        vm.warp(unlockAt);
        vm.expectRevert();
        governor.execute(id);
        vm.prank(ALICE);
        assertEq(stakingHub.withdraw(requestId), 1_000_000 ether, "all PHA back while the change still waits");
        vm.warp(eta);
        governor.execute(id);
        assertEq(router.feeConfig().protocolFeeBps, config.protocolFeeBps, "changed after the exit");
    }

    /// The same for a vault depositor whose PHA the manager has staked in full (review s23, F4: the
    /// queue waited up to QUEUE_GRACE_PERIOD, 3 days, for the manager before anyone could unbond, so
    /// a depositor asking to leave when a change was queued was still unpaid when it ran). Redeeming
    /// unbonds the shortfall at once: paid at the redemption's claimableAt, EXIT_MARGIN before the
    /// change can run, whether or not the manager ever acts.
    function test_ExitWindow_VaultDepositorLeavingAtQueueIsPaidBeforeTheChangeRuns() public {
        _assertDepositorLeavingAtQueueIsPaidFirst();
        _setUnbonding(LONG_UNBONDING);
        _assertDepositorLeavingAtQueueIsPaidFirst();
    }

    function _assertDepositorLeavingAtQueueIsPaidFirst() internal {
        uint256 shares = _deposit(BOB, 100_000 ether);
        uint256 staked = vault.idleAssets();
        vm.prank(MANAGER);
        vault.allocate(workerPool, staked);
        assertEq(vault.idleAssets(), 0, "everything staked");
        AgentRouter.Config memory config = router.feeConfig();
        config.protocolFeeBps = config.protocolFeeBps + 1;
        uint256 id = _passAndQueue(address(router), abi.encodeCall(AgentRouter.setConfig, (config)), "Raise the protocol fee");
        uint256 eta = governor.proposalEta(id);

        // The depositor asks to leave in the queueing block; nobody else does anything for it.
        uint256 before = pha.balanceOf(BOB);
        vm.prank(BOB);
        uint256 requestId = vault.requestRedeem(shares, BOB);
        uint256 claimableAt = vault.redeemRequest(requestId).claimableAt;
        assertEq(eta, claimableAt + timelock.EXIT_MARGIN(), "the change runs a margin after the redemption is claimable");

        vm.warp(claimableAt);
        vm.expectRevert();
        governor.execute(id);
        vm.startPrank(BOB);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        assertEq(vault.processRedeemQueue(1), 1, "paid");
        vm.stopPrank();
        assertApproxEq(pha.balanceOf(BOB) - before, 100_000 ether, 2, "all PHA back while the change still waits");
        vm.warp(eta);
        governor.execute(id);
        assertEq(router.feeConfig().protocolFeeBps, config.protocolFeeBps, "changed after the exit");
    }

    /// Not even the proposer role can schedule inside the exit window.
    function test_ExitWindow_ScheduleBelowItIsRefused() public {
        _setUnbonding(LONG_UNBONDING);
        address[] memory targets = new address[](1);
        targets[0] = address(router);
        bytes[] memory payloads = new bytes[](1);
        payloads[0] = abi.encodeCall(AgentRouter.setMaxInputBytes, (1));
        uint256 minimum = LONG_UNBONDING + timelock.EXIT_MARGIN();
        vm.prank(address(governor));
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockInsufficientDelay.selector, LONG_UNBONDING, minimum));
        timelock.scheduleBatch(targets, new uint256[](1), payloads, 0, 0, LONG_UNBONDING);
    }

    function test_UpdateDelay_OnlyByTheTimelockItselfWithinBounds() public {
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockUnauthorizedCaller.selector, address(this)));
        timelock.updateDelay(2 days);
        vm.expectEmit(address(timelock));
        emit TimelockController.MinDelayChange(TIMELOCK_DELAY, 2 days);
        vm.prank(address(timelock));
        timelock.updateDelay(2 days);
        vm.prank(address(timelock));
        vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.DelayOutOfBounds.selector, 31 days, 1 days, 30 days));
        timelock.updateDelay(31 days);
    }

    /// A configured delay of at most the unbonding period (or within the margin above it) is refused,
    /// at deployment and by a proposal: the queue alone would not be a strict exit window.
    function test_DelayNotAboveTheUnbondingPeriodPlusMargin_IsRefused() public {
        uint256 minimum = 1 days + timelock.EXIT_MARGIN();
        uint256[3] memory tooShort = [uint256(1 days), 1 days + 1, minimum - 1];
        for (uint256 i; i < tooShort.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.DelayWithinExitWindow.selector, tooShort[i], minimum));
            new PhalaTimelock(tooShort[i], new address[](0), new address[](0), address(0), stakingHub);
            vm.prank(address(timelock));
            vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.DelayWithinExitWindow.selector, tooShort[i], minimum));
            timelock.updateDelay(tooShort[i]);
        }
        PhalaTimelock shortest = new PhalaTimelock(minimum, new address[](0), new address[](0), address(0), stakingHub);
        assertEq(shortest.getMinDelay(), minimum, "unbonding + margin is accepted");
    }

    // ---------------------------------------------------------------- guardian

    function test_Guardian_PausesTheRouterAtOnce() public {
        vm.expectEmit(address(timelock));
        emit IPhalaTimelock.GuardianPaused(GUARDIAN, address(router));
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));
        assertTrue(router.paused(), "paused in one transaction");

        uint256 agentId = _registerAgent(0);
        _addConsumer(address(this));
        vm.expectRevert(IAgentRouter.EnforcedPause.selector);
        router.request(accountId, agentId, "hello", 0, 100_000, 100 ether);
    }

    /// Only governance unpauses: the guardian has no path to it, directly or through the timelock.
    function test_Guardian_CannotUnpauseOrDoAnythingElse() public {
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));

        vm.startPrank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, GUARDIAN));
        router.unpause();
        vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.NotGuardianPausable.selector, address(stakingHub)));
        timelock.guardianPause(address(stakingHub));
        bytes32 proposer = timelock.PROPOSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, proposer));
        timelock.schedule(address(router), 0, abi.encodeCall(AgentRouter.unpause, ()), 0, 0, 30 days);
        bytes32 admin = timelock.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, admin));
        timelock.setGuardianPausable(address(stakingHub), true);
        vm.stopPrank();
        assertTrue(router.paused(), "still paused");
    }

    function test_NonGuardian_CannotPause() public {
        bytes32 guardian = timelock.GUARDIAN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, WHALE, guardian));
        vm.prank(WHALE);
        timelock.guardianPause(address(router));
    }

    /// Governance unpauses and, in the same proposal, replaces a guardian that abused its power.
    function test_Governance_UnpausesAndRevokesTheGuardian() public {
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));
        address[] memory targets = new address[](2);
        uint256[] memory values = new uint256[](2);
        bytes[] memory calldatas = new bytes[](2);
        targets[0] = address(router);
        calldatas[0] = abi.encodeCall(AgentRouter.unpause, ());
        targets[1] = address(timelock);
        calldatas[1] = abi.encodeCall(timelock.revokeRole, (timelock.GUARDIAN_ROLE(), GUARDIAN));
        vm.prank(WHALE);
        uint256 id = governor.propose(targets, values, calldatas, "Unpause and replace the guardian");
        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        governor.queue(id);
        vm.warp(governor.proposalEta(id));
        governor.execute(id);
        assertFalse(router.paused(), "unpaused by governance");
        bytes32 guardian = timelock.GUARDIAN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, guardian));
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));
    }
}
