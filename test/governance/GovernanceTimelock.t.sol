// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernanceFixture} from "./GovernanceFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {PhalaTimelock} from "../../contracts/governance/PhalaTimelock.sol";

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

    function test_MinDelay_IsTheLongerOfTheConfiguredDelayAndTheUnbondingPeriod() public {
        assertEq(timelock.exitWindow(), 1 days, "exit window = unbonding");
        assertEq(timelock.getMinDelay(), TIMELOCK_DELAY, "configured delay in force");
        _setUnbonding(LONG_UNBONDING);
        assertEq(timelock.exitWindow(), LONG_UNBONDING, "exit window follows the hub");
        assertEq(timelock.configuredDelay(), TIMELOCK_DELAY, "configured delay unchanged");
        assertEq(timelock.getMinDelay(), LONG_UNBONDING, "the exit window is in force");
    }

    /// The documented exit window: a staker who asks to leave in the block a change is queued has
    /// its PHA back no later than the moment the change can run, even with a configured delay
    /// shorter than the unbonding period.
    function test_ExitWindow_StakerLeavingAtQueueIsOutBeforeTheChangeRuns() public {
        _setUnbonding(LONG_UNBONDING);
        uint256 shares = _stake(ALICE, workerPool, 1_000_000 ether);
        AgentRouter.Config memory config = router.feeConfig();
        config.protocolFeeBps = router.MAX_PROTOCOL_FEE_BPS();
        uint256 id = _passAndQueue(address(router), abi.encodeCall(AgentRouter.setConfig, (config)), "Raise the protocol fee");

        vm.prank(ALICE);
        uint256 requestId = stakingHub.requestWithdrawal(workerPool, shares);
        uint256 unlockAt = stakingHub.withdrawalRequest(requestId).unlockAt;
        uint256 eta = governor.proposalEta(id);
        assertGe(eta, unlockAt, "the change waits for the staker's exit");
        assertGe(eta - block.timestamp, timelock.configuredDelay() + (LONG_UNBONDING - TIMELOCK_DELAY), "7 days, not 1");

        vm.warp(eta - 1);
        vm.expectRevert();
        governor.execute(id);
        vm.warp(unlockAt);
        vm.prank(ALICE);
        assertEq(stakingHub.withdraw(requestId), 1_000_000 ether, "all PHA back");
        vm.warp(eta);
        governor.execute(id);
        assertEq(router.feeConfig().protocolFeeBps, router.MAX_PROTOCOL_FEE_BPS(), "changed after the exit");
    }

    /// Not even the proposer role can schedule inside the exit window.
    function test_ExitWindow_ScheduleBelowItIsRefused() public {
        _setUnbonding(LONG_UNBONDING);
        address[] memory targets = new address[](1);
        targets[0] = address(router);
        bytes[] memory payloads = new bytes[](1);
        payloads[0] = abi.encodeCall(AgentRouter.setMaxInputBytes, (1));
        vm.prank(address(governor));
        vm.expectRevert(
            abi.encodeWithSelector(TimelockController.TimelockInsufficientDelay.selector, TIMELOCK_DELAY, LONG_UNBONDING)
        );
        timelock.scheduleBatch(targets, new uint256[](1), payloads, 0, 0, TIMELOCK_DELAY);
    }

    function test_UpdateDelay_OnlyByTheTimelockItselfWithinBounds() public {
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockUnauthorizedCaller.selector, address(this)));
        timelock.updateDelay(2 days);
        vm.expectEmit(address(timelock));
        emit TimelockController.MinDelayChange(TIMELOCK_DELAY, 2 days);
        vm.prank(address(timelock));
        timelock.updateDelay(2 days);
        vm.prank(address(timelock));
        vm.expectRevert(abi.encodeWithSelector(PhalaTimelock.DelayOutOfBounds.selector, 31 days, 1 days, 30 days));
        timelock.updateDelay(31 days);
    }

    // ---------------------------------------------------------------- guardian

    function test_Guardian_PausesTheRouterAtOnce() public {
        vm.expectEmit(address(timelock));
        emit PhalaTimelock.GuardianPaused(GUARDIAN, address(router));
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));
        assertTrue(router.paused(), "paused in one transaction");

        uint256 agentId = _registerAgent(0);
        _addConsumer(address(this));
        vm.expectRevert(AgentRouter.EnforcedPause.selector);
        router.request(accountId, agentId, "hello", 0, 100_000, 100 ether);
    }

    /// Only governance unpauses: the guardian has no path to it, directly or through the timelock.
    function test_Guardian_CannotUnpauseOrDoAnythingElse() public {
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));

        vm.startPrank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, GUARDIAN));
        router.unpause();
        vm.expectRevert(abi.encodeWithSelector(PhalaTimelock.NotGuardianPausable.selector, address(stakingHub)));
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
