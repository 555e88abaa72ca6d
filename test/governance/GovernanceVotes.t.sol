// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {GovernanceFixture} from "./GovernanceFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {StakedPhaVotes} from "../../contracts/governance/StakedPhaVotes.sol";
import {IStakingVault} from "../../contracts/staking/IStakingVault.sol";

/// @notice Voting power follows PHA delegation and staking, and the attacks on it fail: counting
/// staked PHA twice, flash-staking into an open proposal, voting with unbonding stake, keeping the
/// votes of slashed stake, and a vault manager (or the vault, or the hub) voting with others' stake.
contract GovernanceVotesTest is GovernanceFixture {
    uint256 internal constant STAKE = 1_000_000 ether;

    function _votesNow(address account) internal returns (uint256) {
        _advance(1);
        return governor.getVotes(account, block.timestamp - 1);
    }

    function _openProposal() internal returns (uint256) {
        return _propose(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)), "A proposal to vote on");
    }

    // ---------------------------------------------------------------- staking and delegation

    /// Staked PHA leaves the PHA votes and arrives in the stake votes: the sum is unchanged, and the
    /// hub, holding the PHA, votes for nobody.
    function test_Staking_MovesVotesWithoutCountingThemTwice() public {
        _give(ALICE, STAKE);
        vm.prank(ALICE);
        pha.delegate(ALICE);
        assertEq(_votesNow(ALICE), STAKE, "liquid PHA votes");

        vm.startPrank(ALICE);
        pha.approve(address(stakingHub), STAKE);
        stakingHub.stake(workerPool, 400_000 ether);
        vm.stopPrank();
        assertEq(pha.getVotes(ALICE), 600_000 ether, "PHA votes left with the stake");
        assertEq(stakeVotes.getVotes(ALICE), 400_000 ether, "stake votes");
        assertEq(_votesNow(ALICE), STAKE, "governor weight unchanged");

        assertEq(pha.delegates(address(stakingHub)), address(0), "the hub never delegates");
        assertEq(pha.getVotes(address(stakingHub)), 0, "hub casts no PHA votes");
        assertEq(governor.getVotes(address(stakingHub), block.timestamp - 1), 0, "hub has no weight");
    }

    /// Stake votes count for the staker without any delegation step (PHA's own votes need one).
    function test_Stake_VotesForTheStakerByDefault() public {
        _stake(BOB, workerPool, STAKE);
        assertEq(pha.getVotes(BOB), 0, "no PHA left");
        assertEq(stakeVotes.delegates(BOB), BOB, "self by default");
        assertEq(_votesNow(BOB), STAKE, "weight = stake");
    }

    function test_Delegation_MovesBothKindsOfVotes() public {
        _give(ALICE, 2 * STAKE);
        vm.startPrank(ALICE);
        pha.approve(address(stakingHub), STAKE);
        stakingHub.stake(workerPool, STAKE);
        pha.delegate(CAROL);
        stakeVotes.delegate(CAROL);
        vm.stopPrank();
        assertEq(_votesNow(CAROL), 2 * STAKE, "Carol votes for both");
        assertEq(governor.getVotes(ALICE, block.timestamp - 1), 0, "Alice delegated everything");

        // Delegating to nobody means delegating back to oneself: the votes never vanish.
        vm.prank(ALICE);
        stakeVotes.delegate(address(0));
        assertEq(stakeVotes.delegates(ALICE), ALICE, "back to self");
        assertEq(_votesNow(ALICE), STAKE, "Alice's stake votes");
        assertEq(governor.getVotes(CAROL, block.timestamp - 1), STAKE, "Carol keeps the PHA votes");

        // Stake added later follows the delegation in force.
        vm.prank(ALICE);
        stakeVotes.delegate(CAROL);
        _stake(ALICE, workerPool, STAKE);
        assertEq(_votesNow(CAROL), 3 * STAKE, "new stake delegated too");
    }

    /// Stake alone can pass a proposal: staked PHA takes part in governance.
    function test_StakedPha_VotesOnProposals() public {
        _stake(ALICE, workerPool, 45_000_000 ether);
        _advance(1);
        uint256 id = _openProposal();
        _advance(VOTING_DELAY + 1);
        vm.prank(ALICE);
        uint256 weight = governor.castVote(id, 1);
        assertEq(weight, 45_000_000 ether, "stake weight");
        assertGe(weight, governor.quorum(governor.proposalSnapshot(id)), "stake reaches quorum");
    }

    // ---------------------------------------------------------------- attacks

    /// Flash-staking: PHA borrowed and staked after a proposal's snapshot weighs nothing in it.
    function test_FlashStake_WeighsNothingInAnOpenProposal() public {
        uint256 id = _openProposal();
        _advance(VOTING_DELAY + 1);
        // In one transaction: borrow, stake, vote, unstake (the loan would be repaid from the queue).
        uint256 shares = _stake(ALICE, workerPool, 100_000_000 ether);
        vm.startPrank(ALICE);
        uint256 weight = governor.castVote(id, 0);
        stakingHub.requestWithdrawal(workerPool, shares);
        vm.stopPrank();
        assertEq(weight, 0, "no weight");
        (uint256 against,,) = governor.proposalVotes(id);
        assertEq(against, 0, "nothing counted");
    }

    /// Stake moved to the unbonding queue votes no more, from the same transaction on.
    function test_UnbondingStake_LosesItsVotesAtOnce() public {
        uint256 shares = _stake(ALICE, workerPool, STAKE);
        _advance(1);
        uint256 id = _openProposal();
        vm.prank(ALICE);
        stakingHub.requestWithdrawal(workerPool, shares);
        assertEq(stakeVotes.getVotes(ALICE), 0, "no votes while unbonding");
        _advance(VOTING_DELAY + 1);
        vm.prank(ALICE);
        assertEq(governor.castVote(id, 1), 0, "unbonding stake weighs nothing");
    }

    /// A slash lowers the stake without touching stakers' records; anyone can mark the votes down to
    /// it, and a slashed staker who leaves keeps no vote of the position.
    function test_SlashedStake_IsMarkedDownAndLeavesNoVotesBehind() public {
        uint256 shares = _stake(ALICE, workerPool, STAKE);
        _slashWorkerPool();
        uint256 worth = stakingHub.stakeOf(workerPool, ALICE);
        assertLe(worth, STAKE - 1, "slashed");
        assertEq(stakeVotes.getVotes(ALICE), STAKE, "marked before the slash");

        vm.prank(BOB); // anyone
        stakeVotes.sync(workerPool, ALICE);
        assertEq(stakeVotes.getVotes(ALICE), worth, "marked down to what is left");
        assertEq(_votesNow(ALICE), worth, "weight in the next proposal");

        vm.prank(ALICE);
        stakingHub.requestWithdrawal(workerPool, shares);
        assertEq(stakeVotes.getVotes(ALICE), 0, "nothing left behind");
        assertEq(stakeVotes.votingUnitsOf(ALICE), 0, "no units");
        assertEq(stakeVotes.markedValue(ALICE, workerPool), 0, "position cleared");
    }

    /// Even unsynced, a slashed staker's exit removes every vote of the position, not just its value.
    function test_SlashedStake_WithdrawalWithoutSyncRemovesAllItsVotes() public {
        uint256 shares = _stake(ALICE, workerPool, STAKE);
        _slashWorkerPool();
        vm.prank(ALICE);
        stakingHub.requestWithdrawal(workerPool, shares);
        assertEq(stakeVotes.getVotes(ALICE), 0, "no residual votes");
        assertEq(_votesNow(ALICE), 0, "no weight");
    }

    /// The vault's manager allocates depositors' PHA to pools; neither it, nor the vault, nor the hub
    /// gains a vote from it, and the stake is not counted twice (vault position + depositor).
    function test_VaultManager_VotesWithNoneOfTheDepositorsStake() public {
        _deposit(ALICE, STAKE);
        vm.prank(MANAGER);
        vault.allocate(workerPool, STAKE);
        assertEq(stakingHub.stakeOf(workerPool, address(vault)), STAKE, "the vault holds the position");

        stakeVotes.sync(workerPool, address(vault)); // anyone trying to credit the vault's position
        assertEq(stakeVotes.getVotes(address(vault)), 0, "vault's position carries no votes");
        assertEq(stakeVotes.valueOf(workerPool, address(vault)), 0, "worth nothing here");
        assertEq(_votesNow(MANAGER), 0, "manager has no weight");
        assertEq(governor.getVotes(address(vault), block.timestamp - 1), 0, "vault has no weight");
        assertApproxEq(governor.getVotes(ALICE, block.timestamp - 1), STAKE, 1, "the depositor votes with it");
        assertApproxEq(stakeVotes.getPastTotalSupply(block.timestamp - 1), STAKE, 1, "counted once");
    }

    function test_VaultShares_CarryTheirVotesAlong() public {
        uint256 shares = _deposit(ALICE, STAKE);
        vm.prank(ALICE);
        vault.transfer(BOB, shares / 4);
        assertApproxEq(stakeVotes.getVotes(ALICE), STAKE * 3 / 4, 1, "Alice keeps three quarters");
        assertApproxEq(stakeVotes.getVotes(BOB), STAKE / 4, 1, "Bob gets a quarter");

        // A redemption request escrows the shares in the vault: their votes go with them.
        vm.prank(BOB);
        vault.requestRedeem(shares / 4, BOB);
        assertEq(stakeVotes.getVotes(BOB), 0, "redeeming shares do not vote");
        assertEq(stakeVotes.getVotes(address(vault)), 0, "escrowed shares vote for nobody");
    }

    /// Replacing the ledger would leave stale votes in the old one (the governor reads the old one).
    function test_StakeVotesLedger_IsWiredOnce() public {
        StakedPhaVotes other = new StakedPhaVotes(stakingHub, IERC4626(address(vault)));
        vm.startPrank(address(timelock));
        vm.expectRevert(IStakingHub.StakeVotesAlreadySet.selector);
        stakingHub.setStakeVotes(other);
        vm.expectRevert(IStakingVault.StakeVotesAlreadySet.selector);
        vault.setStakeVotes(other);
        vm.stopPrank();
        assertEq(address(stakingHub.stakeVotes()), address(stakeVotes), "hub's ledger");
        assertEq(address(vault.stakeVotes()), address(stakeVotes), "vault's ledger");
    }

    /// {sync} is open to anyone because it can only record what the hub and the vault report.
    function test_Sync_ByAnyoneRecordsOnlyTheTruth() public {
        vm.startPrank(BOB);
        stakeVotes.sync(workerPool, BOB);
        stakeVotes.sync(0, BOB);
        vm.stopPrank();
        assertEq(stakeVotes.getVotes(BOB), 0, "no position, no votes");
        _stake(ALICE, workerPool, STAKE);
        address[] memory accounts = new address[](2);
        accounts[0] = ALICE;
        accounts[1] = BOB;
        stakeVotes.syncMany(workerPool, accounts);
        assertEq(stakeVotes.getVotes(ALICE), STAKE, "unchanged");
        assertEq(stakeVotes.markedValue(ALICE, workerPool), STAKE, "marked");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev A request to the pool's worker that times out: the router slashes the pool.
    /// @dev A timeout's slash that reaches the stakers: the operator bond (slashed first) is taken out
    /// beforehand (the minimum set to 0 by the hub's owner, the timelock, then withdrawn).
    function _slashWorkerPool() internal {
        IStakingHub.Params memory p = stakingHub.params();
        p.minBondPerWorker = 0;
        vm.prank(address(timelock));
        stakingHub.setParams(p);
        uint256 bond = stakingHub.bondOf(workerPool);
        vm.prank(FIXTURE_OPERATOR);
        stakingHub.withdrawBond(workerPool, bond);
        uint256 agentId = _registerAgent(0);
        _addConsumer(address(this));
        uint256 requestId = router.request(accountId, agentId, "hello", 0, 100_000, 100 ether);
        uint256 activeBefore = stakingHub.poolState(workerPool).activeStake;
        _timeOut(requestId);
        assertLe(stakingHub.poolState(workerPool).activeStake, activeBefore - 1, "the pool was slashed");
    }
}
