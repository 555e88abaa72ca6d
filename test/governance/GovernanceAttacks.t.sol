// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {GovernanceFixture} from "./GovernanceFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";

/// @notice Attacks on governance itself, each performed and refused: voting power that arrives after
/// a proposal's snapshot (flash-loaned or just bought), a proposal that takes stake before stakers
/// can leave, a guardian doing more than pausing, executing a defeated or cancelled proposal, and
/// voting twice with the same PHA.
contract GovernanceAttacksTest is GovernanceFixture {
    address internal constant ATTACKER = address(0xBAD);
    address internal constant ACCOMPLICE = address(0xBAD2);
    /// More than the whale: enough to win any vote it could weigh in.
    uint256 internal constant WAR_CHEST = 300_000_000 ether;
    uint256 internal constant STAKE = 1_000_000 ether;

    IGovernor.ProposalState internal constant ACTIVE = IGovernor.ProposalState.Active;
    IGovernor.ProposalState internal constant CANCELED = IGovernor.ProposalState.Canceled;
    IGovernor.ProposalState internal constant DEFEATED = IGovernor.ProposalState.Defeated;
    IGovernor.ProposalState internal constant SUCCEEDED = IGovernor.ProposalState.Succeeded;
    IGovernor.ProposalState internal constant QUEUED = IGovernor.ProposalState.Queued;
    IGovernor.ProposalState internal constant EXECUTED = IGovernor.ProposalState.Executed;

    // ---------------------------------------------------------------- voting power after the snapshot

    /// The attacker (holding just the proposal threshold) proposes to send the protocol's fees to
    /// itself, then borrows PHA in the very second of the snapshot: delegates it, votes... and repays
    /// in the same transaction. Checkpoints are per second and the last write of that second wins, so
    /// the snapshot sees the repaid balance: the loan weighs nothing and the proposal is defeated.
    function test_FlashLoanedVotes_CannotPassAProposal() public {
        uint256 id = _attackerProposes();
        uint256 snapshot = governor.proposalSnapshot(id);
        vm.warp(snapshot);
        vm.roll(block.number + 1);
        // One transaction: borrow (this contract stands in for the lending pool), hold it delegated,
        // repay. A flash loan cannot be staked at all: staked PHA only comes back after unbonding.
        pha.transfer(ATTACKER, WAR_CHEST);
        assertEq(pha.getVotes(ATTACKER), WAR_CHEST + PROPOSAL_THRESHOLD, "votes while holding the loan");
        vm.prank(ATTACKER);
        pha.transfer(address(this), WAR_CHEST);

        _advance(1);
        vm.prank(ATTACKER);
        assertEq(governor.castVote(id, 1), PROPOSAL_THRESHOLD, "only what it held before the loan");
        _advance(VOTING_PERIOD);
        _assertState(id, DEFEATED);
        _assertCannotQueueOrExecute(id, DEFEATED);
        assertEq(router.treasury(), address(this), "fees still go to the treasury");
    }

    /// PHA bought after the snapshot (liquid, delegated, or staked in the hub or the vault) weighs
    /// nothing in the proposal, however much of it: the attacker's own proposal is defeated.
    function test_JustBoughtVotes_CannotPassAProposal() public {
        uint256 id = _attackerProposes();
        _advance(VOTING_DELAY + 1);
        _give(ATTACKER, WAR_CHEST);
        vm.startPrank(ATTACKER);
        pha.approve(address(stakingHub), WAR_CHEST / 3);
        stakingHub.stake(workerPool, WAR_CHEST / 3);
        pha.approve(address(vault), WAR_CHEST / 3);
        vault.deposit(WAR_CHEST / 3, ATTACKER);
        vm.stopPrank();
        _advance(1);
        uint256 inVault = vault.convertToAssets(vault.balanceOf(ATTACKER));
        assertEq(governor.getVotes(ATTACKER, block.timestamp - 1), 2 * (WAR_CHEST / 3) + inVault + PROPOSAL_THRESHOLD, "votes now");

        vm.prank(ATTACKER);
        assertEq(governor.castVote(id, 1), PROPOSAL_THRESHOLD, "weight at the snapshot");
        (, uint256 forVotes,) = governor.proposalVotes(id);
        assertEq(forVotes, PROPOSAL_THRESHOLD, "nothing bought was counted");
        _advance(VOTING_PERIOD);
        _assertState(id, DEFEATED);
    }

    // ---------------------------------------------------------------- exit window

    /// The worst a passed proposal can do to stakers: make itself the hub's slasher and treasury, raise
    /// the equivocation slash to the 50% bound and slash a pool again and again. A staker who starts
    /// leaving when it is queued has all its PHA back before it can run (unbonding 7 days, longer than
    /// the 1-day configured delay), while a staker who stayed is drained.
    function test_ExitWindow_StakeTakingProposalCannotRunBeforeStakersAreOut() public {
        _setUnbonding(7 days);
        uint256 aliceShares = _stake(ALICE, workerPool, STAKE);
        _stake(BOB, workerPool, STAKE);

        IStakingHub.Params memory p = _params();
        p.equivocationSlashBps = 5_000;
        address[] memory targets = new address[](3);
        uint256[] memory values = new uint256[](3);
        bytes[] memory calldatas = new bytes[](3);
        (targets[0], targets[1], targets[2]) = (address(stakingHub), address(stakingHub), address(stakingHub));
        calldatas[0] = abi.encodeCall(stakingHub.setParams, (p));
        calldatas[1] = abi.encodeCall(stakingHub.setTreasury, (ATTACKER));
        calldatas[2] = abi.encodeCall(stakingHub.setRouter, (ATTACKER));
        vm.prank(WHALE);
        uint256 id = governor.propose(targets, values, calldatas, "Take the stake");
        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        governor.queue(id);

        // Alice sees it queued and leaves in the same block.
        vm.prank(ALICE);
        uint256 requestId = stakingHub.requestWithdrawal(workerPool, aliceShares);
        uint256 unlockAt = stakingHub.withdrawalRequest(requestId).unlockAt;
        uint256 eta = governor.proposalEta(id);
        assertGe(eta, unlockAt, "the proposal waits for the exit");
        assertGe(eta - block.timestamp, 7 days, "the exit window, not the 1-day configured delay");

        // Nobody can run it sooner: not the governor, not the timelock's executor path.
        vm.warp(unlockAt - 1);
        bytes32 operation = timelock.hashOperationBatch(targets, values, calldatas, 0, _salt("Take the stake"));
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                operation,
                bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        governor.execute(id);

        vm.warp(unlockAt);
        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        stakingHub.withdraw(requestId);
        assertEq(pha.balanceOf(ALICE) - before, STAKE, "Alice has all her PHA back");

        vm.warp(eta);
        governor.execute(id);
        uint256 bobStake = stakingHub.stakeOf(workerPool, BOB);
        vm.startPrank(ATTACKER);
        for (uint256 i; i < 5; ++i) {
            stakingHub.slashForEquivocation(worker, i, ATTACKER, 0);
        }
        vm.stopPrank();
        assertLe(stakingHub.stakeOf(workerPool, BOB), bobStake / 2, "Bob, who stayed, lost at least half");
        assertEq(pha.balanceOf(ALICE) - before, STAKE, "Alice was out");
    }

    // ---------------------------------------------------------------- guardian

    /// The guardian's one power is pausing the router's new requests. Pausing moves no PHA and traps
    /// none: open requests still settle and time out, accounts still withdraw.
    function test_Guardian_PauseMovesNoFundsAndTrapsNone() public {
        uint256 agentId = _registerAgent(0);
        _addConsumer(address(this));
        uint256 answered = router.request(accountId, agentId, "a", 0, 100_000, 100 ether);
        uint256 late = router.request(accountId, agentId, "b", 0, 100_000, 100 ether);

        uint256[4] memory balances = _balances();
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));
        assertTrue(router.paused(), "paused");
        uint256[4] memory afterPause = _balances();
        for (uint256 i; i < 4; ++i) {
            assertEq(afterPause[i], balances[i], "pausing moved no PHA");
        }

        _fulfill(answered, "ok");
        _timeOut(late);
        uint256 free = router.accountOf(accountId).balance - router.accountOf(accountId).reserved;
        router.withdraw(accountId, address(this), free);
        assertEq(router.accountOf(accountId).balance, router.accountOf(accountId).reserved, "withdrawn while paused");
    }

    /// Every other path is refused to the guardian: owner-only functions that move funds or replace
    /// a contract's counterpart or owner, and the governance machinery (executing or cancelling a
    /// queued change, granting roles, accepting ownerships, relaying through the governor, replacing
    /// the governor's timelock).
    function test_Guardian_CannotMoveFundsUpgradeOrRunGovernance() public {
        uint256 id = _passAndQueue(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)), "Queued change");
        vm.prank(GUARDIAN);
        timelock.guardianPause(address(router));

        bytes memory notOwner = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, GUARDIAN);
        vm.startPrank(GUARDIAN);
        vm.expectRevert(notOwner);
        router.setTreasury(GUARDIAN);
        vm.expectRevert(notOwner);
        router.transferOwnership(GUARDIAN);
        vm.expectRevert(notOwner);
        stakingHub.setRouter(GUARDIAN);
        vm.expectRevert(notOwner);
        stakingHub.setTreasury(GUARDIAN);
        vm.expectRevert(notOwner);
        vault.setManager(GUARDIAN);
        vm.expectRevert(notOwner);
        workerRegistry.setRouter(GUARDIAN);
        vm.stopPrank();

        bytes32 operation = _guardianTriesTheTimelock(id);
        vm.startPrank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, GUARDIAN));
        governor.relay(address(pha), 0, abi.encodeCall(pha.transfer, (GUARDIAN, 1)));
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, GUARDIAN));
        governor.updateTimelock(TimelockController(payable(GUARDIAN)));
        vm.stopPrank();

        assertTrue(timelock.isOperationReady(operation), "the queued change is intact");
        governor.execute(id);
        _assertState(id, EXECUTED);
        assertTrue(router.paused(), "still paused: only a proposal unpauses");
    }

    // ---------------------------------------------------------------- defeated and cancelled proposals

    /// Voted down: it can be neither queued nor executed, not even through the timelock directly, and
    /// proposing the same actions again does not revive it.
    function test_DefeatedProposal_CannotBeExecuted() public {
        bytes memory data = abi.encodeCall(AgentRouter.setMaxInputBytes, (1));
        uint256 id = _propose(address(router), data, "Shrink inputs");
        _stake(ALICE, workerPool, 100_000_000 ether); // more than the whale, staked
        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        governor.castVote(id, 1);
        vm.prank(ALICE);
        governor.castVote(id, 0);
        _advance(VOTING_PERIOD);
        _assertState(id, DEFEATED);
        _assertCannotQueueOrExecute(id, DEFEATED);

        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) = _single(address(router), data);
        vm.prank(WHALE);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnexpectedProposalState.selector, id, DEFEATED, bytes32(0)));
        governor.propose(targets, values, calldatas, "Shrink inputs");
        bytes32 operation = timelock.hashOperationBatch(targets, values, calldatas, 0, _salt("Shrink inputs"));
        assertFalse(timelock.isOperation(operation), "never scheduled");
        vm.prank(address(governor)); // even the executor cannot run it
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                operation,
                bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        timelock.executeBatch(targets, values, calldatas, 0, _salt("Shrink inputs"));
        assertEq(router.maxInputBytes(), 16_384, "unchanged");
    }

    /// Cancelled by its proposer before voting: no votes, no queue, no execution; only the proposer
    /// can cancel, and only while it is pending.
    function test_CancelledProposal_CannotBeExecuted() public {
        bytes memory data = abi.encodeCall(AgentRouter.setMaxInputBytes, (1));
        uint256 id = _propose(address(router), data, "Shrink inputs");
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) = _single(address(router), data);
        bytes32 descriptionHash = keccak256("Shrink inputs");
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, ATTACKER));
        governor.cancel(targets, values, calldatas, descriptionHash);
        vm.prank(WHALE);
        governor.cancel(targets, values, calldatas, descriptionHash);
        _assertState(id, CANCELED);

        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector, id, CANCELED, bytes32(1 << uint8(ACTIVE))
            )
        );
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        _assertState(id, CANCELED);
        _assertCannotQueueOrExecute(id, CANCELED);
        assertEq(router.maxInputBytes(), 16_384, "unchanged");

        // Once voting started, not even the proposer can cancel it.
        uint256 other = _propose(address(router), data, "Shrink inputs again");
        _advance(VOTING_DELAY + 1);
        (targets, values, calldatas) = _single(address(router), data);
        vm.prank(WHALE);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, other, WHALE));
        governor.cancel(targets, values, calldatas, keccak256("Shrink inputs again"));
        _assertState(other, ACTIVE);
    }

    /// An executed proposal runs once.
    function test_ExecutedProposal_CannotRunTwice() public {
        uint256 id = _govern(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)), "Shrink inputs");
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                id,
                EXECUTED,
                bytes32(1 << uint8(QUEUED))
            )
        );
        governor.execute(id);
    }

    // ---------------------------------------------------------------- double voting

    /// The same PHA votes once per proposal: a second ballot is refused, and moving the PHA, the stake
    /// votes or vault shares to an accomplice after voting gives the accomplice no weight.
    function test_DoubleVoting_IsRefused() public {
        _give(ALICE, STAKE);
        vm.prank(ALICE);
        pha.delegate(ALICE);
        _stake(ALICE, workerPool, STAKE);
        uint256 vaultShares = _deposit(ALICE, STAKE);
        _advance(1);
        uint256 id = _propose(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)), "Vote once");
        _advance(VOTING_DELAY + 1);

        uint256 weight = 2 * STAKE + vault.convertToAssets(vaultShares);
        assertLe(3 * STAKE - weight, 1, "the vault share is worth its PHA");
        vm.startPrank(ALICE);
        assertEq(governor.castVote(id, 0), weight, "liquid + staked + vault");
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, ALICE));
        governor.castVote(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, ALICE));
        governor.castVoteWithReason(id, 1, "changed my mind");
        pha.transfer(ACCOMPLICE, STAKE);
        stakeVotes.delegate(ACCOMPLICE);
        vault.transfer(ACCOMPLICE, vaultShares);
        vm.stopPrank();
        vm.prank(ACCOMPLICE);
        pha.delegate(ACCOMPLICE);
        _advance(1);
        assertEq(governor.getVotes(ACCOMPLICE, block.timestamp - 1), weight, "the accomplice holds it all now");

        vm.prank(ACCOMPLICE);
        assertEq(governor.castVote(id, 0), 0, "but had none at the snapshot");
        (uint256 against,,) = governor.proposalVotes(id);
        assertEq(against, weight, "counted once");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The attacker gets the proposal threshold, delegates it and proposes to take the fees.
    function _attackerProposes() internal returns (uint256 id) {
        _give(ATTACKER, PROPOSAL_THRESHOLD);
        vm.prank(ATTACKER);
        pha.delegate(ATTACKER);
        _advance(1);
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) =
            _single(address(router), abi.encodeCall(AgentRouter.setTreasury, (ATTACKER)));
        vm.prank(ATTACKER);
        id = governor.propose(targets, values, calldatas, "Fees to me");
    }

    function _setUnbonding(uint64 period) internal {
        IStakingHub.Params memory p = _params();
        p.unbondingPeriod = period;
        _govern(address(stakingHub), abi.encodeCall(stakingHub.setParams, (p)), "Set the unbonding period");
    }

    function _assertState(uint256 id, IGovernor.ProposalState expected) internal view {
        assertEq(uint256(governor.state(id)), uint256(expected), "proposal state");
    }

    function _assertCannotQueueOrExecute(uint256 id, IGovernor.ProposalState current) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector, id, current, bytes32(1 << uint8(SUCCEEDED))
            )
        );
        governor.queue(id);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorUnexpectedProposalState.selector, id, current, bytes32(1 << uint8(QUEUED)))
        );
        governor.execute(id);
    }

    /// @dev The timelock salt GovernorTimelockControl uses for a proposal.
    function _salt(string memory description) internal view returns (bytes32) {
        return bytes20(address(governor)) ^ keccak256(bytes(description));
    }

    /// @dev At the queued change's eta, the guardian tries to execute, cancel or re-role it.
    function _guardianTriesTheTimelock(uint256 id) internal returns (bytes32 operation) {
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) =
            _single(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)));
        bytes32 salt = _salt("Queued change");
        operation = timelock.hashOperationBatch(targets, values, calldatas, 0, salt);
        bytes32 executor = timelock.EXECUTOR_ROLE();
        bytes32 admin = timelock.DEFAULT_ADMIN_ROLE();
        vm.warp(governor.proposalEta(id));
        vm.startPrank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, executor));
        timelock.executeBatch(targets, values, calldatas, 0, salt);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, timelock.CANCELLER_ROLE())
        );
        timelock.cancel(operation);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, GUARDIAN));
        governor.cancel(targets, values, calldatas, keccak256("Queued change"));
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, admin));
        timelock.grantRole(executor, GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, GUARDIAN, admin));
        timelock.acceptOwnerships(new Ownable2Step[](0));
        vm.stopPrank();
    }

    function _balances() internal view returns (uint256[4] memory b) {
        b[0] = pha.balanceOf(address(router));
        b[1] = pha.balanceOf(address(stakingHub));
        b[2] = pha.balanceOf(address(vault));
        b[3] = pha.balanceOf(GUARDIAN) + pha.balanceOf(address(timelock));
    }
}
