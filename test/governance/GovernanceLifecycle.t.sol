// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernanceFixture} from "./GovernanceFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {PhalaGovernor} from "../../contracts/governance/PhalaGovernor.sol";
import {PhalaTimelock} from "../../contracts/governance/PhalaTimelock.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IPhalaGovernor} from "../../contracts/governance/IPhalaGovernor.sol";
import {IPhalaTimelock} from "../../contracts/governance/IPhalaTimelock.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice A router parameter changed through the whole governance path, proposals outside the
/// contracts' hard bounds reverting at execution, and the hand-over leaving nobody else in charge.
contract GovernanceLifecycleTest is GovernanceFixture {
    function test_FullLifecycle_ChangesARouterParameter() public {
        uint32 before = router.maxInputBytes();
        uint32 wanted = before * 2;
        uint256 id = _propose(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (wanted)), "Double maxInputBytes");
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Pending), "pending");

        // No vote before the snapshot: the voting delay lets holders delegate and see it coming.
        vm.prank(WHALE);
        vm.expectRevert();
        governor.castVote(id, 1);

        _advance(VOTING_DELAY + 1);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Active), "active");
        vm.prank(WHALE);
        governor.castVote(id, 1);
        (uint256 against, uint256 forVotes,) = governor.proposalVotes(id);
        assertEq(forVotes, WHALE_PHA, "whale's weight");
        assertEq(against, 0, "no against");

        // Succeeded only after the voting period: queueing early reverts.
        vm.expectRevert();
        governor.queue(id);
        _advance(VOTING_PERIOD);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "succeeded");
        governor.queue(id);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Queued), "queued");
        assertEq(governor.proposalEta(id), block.timestamp + timelock.getMinDelay(), "eta = now + delay");

        // The timelock holds it for the full delay; nobody can run the call around it.
        vm.expectRevert();
        governor.execute(id);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, WHALE));
        vm.prank(WHALE);
        router.setMaxInputBytes(wanted);
        assertEq(router.maxInputBytes(), before, "unchanged while queued");

        vm.warp(governor.proposalEta(id));
        vm.expectEmit(address(router));
        emit IAgentRouter.MaxInputBytesUpdated(wanted);
        governor.execute(id);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Executed), "executed");
        assertEq(router.maxInputBytes(), wanted, "changed");
    }

    function test_OutOfBoundsRouterConfig_RevertsAtExecution() public {
        AgentRouterState.Config memory config = router.feeConfig();
        config.protocolFeeBps = router.MAX_PROTOCOL_FEE_BPS() + 1;
        uint256 id = _passAndQueue(address(router), abi.encodeCall(AgentRouter.setConfig, (config)), "Protocol fee above the cap");
        vm.warp(governor.proposalEta(id));
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        governor.execute(id);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Queued), "not executed");
        assertEq(router.feeConfig().protocolFeeBps, 500, "fee unchanged");
    }

    function test_OutOfBoundsStakingParams_RevertAtExecution() public {
        IStakingHub.Params memory p = _params();
        p.unbondingPeriod = uint64(stakingHub.MAX_UNBONDING_PERIOD() + 1);
        uint256 id = _passAndQueue(address(stakingHub), abi.encodeCall(stakingHub.setParams, (p)), "Unbond for ever");
        vm.warp(governor.proposalEta(id));
        vm.expectRevert(IStakingHub.InvalidParams.selector);
        governor.execute(id);
        assertEq(_unbondingPeriod(), 1 days, "unbonding unchanged");
    }

    function test_OutOfBoundsGovernorSetting_RevertsAtExecution() public {
        uint256 id = _passAndQueue(address(governor), abi.encodeCall(governor.setVotingPeriod, (1)), "One-second votes");
        vm.warp(governor.proposalEta(id));
        vm.expectRevert(
            abi.encodeWithSelector(
                IPhalaGovernor.VotingPeriodOutOfBounds.selector, 1, governor.MIN_VOTING_PERIOD(), governor.MAX_VOTING_PERIOD()
            )
        );
        governor.execute(id);
        assertEq(governor.votingPeriod(), VOTING_PERIOD, "period unchanged");
    }

    function test_OutOfBoundsQuorum_RevertsAtExecution() public {
        uint256 id = _passAndQueue(address(governor), abi.encodeCall(governor.updateQuorumNumerator, (0)), "No quorum");
        vm.warp(governor.proposalEta(id));
        vm.expectRevert(abi.encodeWithSelector(IPhalaGovernor.QuorumNumeratorOutOfBounds.selector, 0, 1, 10));
        governor.execute(id);
    }

    function test_TimelockDelayOutsideBounds_RevertsAtExecution() public {
        uint256 id = _passAndQueue(address(timelock), abi.encodeCall(TimelockController.updateDelay, (0)), "No delay");
        vm.warp(governor.proposalEta(id));
        vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.DelayOutOfBounds.selector, 0, 1 days, 30 days));
        governor.execute(id);
        assertEq(timelock.configuredDelay(), TIMELOCK_DELAY, "delay unchanged");
    }

    function test_GovernorSettingsWithinBounds_ChangeAndEmit() public {
        uint256 id = _passAndQueue(address(governor), abi.encodeCall(governor.setVotingPeriod, (2 days)), "Two-day votes");
        vm.warp(governor.proposalEta(id));
        vm.expectEmit(address(governor));
        emit GovernorSettings.VotingPeriodSet(VOTING_PERIOD, 2 days);
        governor.execute(id);
        assertEq(governor.votingPeriod(), 2 days, "period");
    }

    function test_Constructor_RefusesSettingsOutsideBounds() public {
        PhalaGovernor.Settings memory s = PhalaGovernor.Settings(VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, 4);
        s.votingDelay = 0;
        vm.expectRevert(abi.encodeWithSelector(IPhalaGovernor.VotingDelayOutOfBounds.selector, 0, 1 hours, 14 days));
        new PhalaGovernor(pha, stakeVotes, timelock, s);
        s.votingDelay = VOTING_DELAY;
        s.proposalThreshold = 0;
        vm.expectRevert(
            abi.encodeWithSelector(IPhalaGovernor.ProposalThresholdOutOfBounds.selector, 0, 1_000 ether, 10_000_000 ether)
        );
        new PhalaGovernor(pha, stakeVotes, timelock, s);
        vm.expectRevert(abi.encodeWithSelector(IPhalaTimelock.DelayOutOfBounds.selector, 1 hours, 1 days, 30 days));
        new PhalaTimelock(1 hours, new address[](0), new address[](0), address(0), stakingHub);
    }

    /// Votes on another clock would be read at the wrong timepoints.
    function test_Constructor_RefusesVoteSourcesOnDifferentClocks() public {
        BlockClockVotes blockVotes = new BlockClockVotes();
        PhalaGovernor.Settings memory s = PhalaGovernor.Settings(VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, 4);
        vm.expectRevert(IPhalaGovernor.ClockMismatch.selector);
        new PhalaGovernor(pha, IERC5805(address(blockVotes)), timelock, s);
    }

    function test_WithoutQuorum_ProposalIsDefeated() public {
        _give(ALICE, 1_000_000 ether); // 0.1% of supply, below the 4% quorum
        vm.prank(ALICE);
        pha.delegate(ALICE);
        _advance(1);
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) =
            _single(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)));
        vm.prank(ALICE);
        uint256 id = governor.propose(targets, values, calldatas, "Small holder's proposal");
        _advance(VOTING_DELAY + 1);
        vm.prank(ALICE);
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Defeated), "defeated");
        vm.expectRevert();
        governor.queue(id);
    }

    function test_BelowThreshold_CannotPropose() public {
        _give(ALICE, PROPOSAL_THRESHOLD - 1);
        vm.prank(ALICE);
        pha.delegate(ALICE);
        _advance(1);
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) =
            _single(address(router), abi.encodeCall(AgentRouter.setMaxInputBytes, (1)));
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, ALICE, PROPOSAL_THRESHOLD - 1, PROPOSAL_THRESHOLD
            )
        );
        governor.propose(targets, values, calldatas, "Spam");
    }

    // ---------------------------------------------------------------- the hand-over

    function test_HandOver_TimelockOwnsEverythingAndTheDeployerHoldsNothing() public view {
        Ownable2Step[] memory owned = ownedContracts();
        for (uint256 i; i < owned.length; ++i) {
            assertEq(owned[i].owner(), address(timelock), "owner");
            assertEq(owned[i].pendingOwner(), address(0), "no pending owner");
        }
        bytes32[5] memory roles = [
            timelock.DEFAULT_ADMIN_ROLE(),
            timelock.PROPOSER_ROLE(),
            timelock.CANCELLER_ROLE(),
            timelock.EXECUTOR_ROLE(),
            timelock.GUARDIAN_ROLE()
        ];
        for (uint256 i; i < roles.length; ++i) {
            assertFalse(timelock.hasRole(roles[i], address(this)), "deployer holds no role");
            assertFalse(timelock.hasRole(roles[i], address(0)), "no open role");
        }
        assertTrue(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), address(timelock)), "self-administered");
        assertTrue(timelock.hasRole(timelock.PROPOSER_ROLE(), address(governor)), "governor proposes");
        assertTrue(timelock.hasRole(timelock.EXECUTOR_ROLE(), address(governor)), "governor executes");
        assertEq(governor.timelock(), address(timelock), "governor's timelock");
    }

    function test_HandOver_FormerDeployerCanChangeNothing() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        router.setMaxInputBytes(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        stakingHub.setTreasury(address(this));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        vault.setManager(address(this));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        workerRegistry.setMeasurementApproved(bytes32(uint256(1)), true);
        bytes32 admin = timelock.DEFAULT_ADMIN_ROLE();
        bytes32 proposer = timelock.PROPOSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), admin));
        timelock.grantRole(proposer, address(this));
        address[] memory targets = new address[](1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), timelock.PROPOSER_ROLE())
        );
        timelock.scheduleBatch(targets, new uint256[](1), new bytes[](1), 0, 0, 30 days);
    }

    /// Accepting ownership is part of the deployment only; afterwards it is a proposal like any other.
    function test_AcceptOwnerships_IsAdminOnly() public {
        Ownable2Step[] memory none = new Ownable2Step[](0);
        bytes32 admin = timelock.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, BOB, admin));
        vm.prank(BOB);
        timelock.acceptOwnerships(none);
    }

    /// Ownable2Step: until the timelock accepts, nobody but the deployer is in charge, and only the
    /// timelock can take over.
    function test_HandOver_PendingOwnershipCanOnlyBeAcceptedByTheTimelock() public {
        StakingVault fresh = new StakingVault(pha, stakingHub, MANAGER, address(this));
        fresh.transferOwnership(address(timelock));
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, BOB));
        fresh.acceptOwnership();
        assertEq(fresh.owner(), address(this), "deployer until accepted");
        // Later hand-overs go through a proposal.
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) =
            _single(address(fresh), abi.encodeCall(Ownable2Step.acceptOwnership, ()));
        vm.prank(WHALE);
        uint256 id = governor.propose(targets, values, calldatas, "Take the new vault");
        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        governor.queue(id);
        vm.warp(governor.proposalEta(id));
        governor.execute(id);
        assertEq(fresh.owner(), address(timelock), "timelock owns it");
    }
}

/// @notice An IERC5805 source checkpointed by block number.
contract BlockClockVotes {
    function clock() external view returns (uint48) {
        return uint48(block.number);
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=blocknumber&from=default";
    }
}
