// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorStorage} from "@openzeppelin/contracts/governance/extensions/GovernorStorage.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IPhalaGovernor} from "./IPhalaGovernor.sol";

/// @title PhalaGovernor
/// @notice PHA holders' governor: OpenZeppelin's Governor with settings, simple counting (for,
/// against, abstain), proposal storage (queue and execute by id), a quorum fraction of PHA's supply
/// and a timelock (PhalaTimelock, the owner of the protocol's contracts).
/// A voter's weight at a proposal's snapshot is its PHA votes (ERC20Votes) plus its staked PHA
/// votes (StakedPhaVotes: hub stake and vault shares, which the PHA token cannot see because the
/// hub and the vault hold the tokens). Both are timestamp-checkpointed and never count the same
/// PHA twice; the quorum is a fraction of PHA's total supply, which already includes staked PHA.
/// @dev Every setting has hard bounds, checked at deployment and at every change (a proposal that
/// sets one outside them passes the vote and reverts when executed).
contract PhalaGovernor is
    IPhalaGovernor,
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorStorage,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    uint48 public constant MIN_VOTING_DELAY = 1 hours;
    uint48 public constant MAX_VOTING_DELAY = 14 days;
    uint32 public constant MIN_VOTING_PERIOD = 1 days;
    uint32 public constant MAX_VOTING_PERIOD = 30 days;
    uint256 public constant MIN_PROPOSAL_THRESHOLD = 1_000 ether;
    /// @notice 1% of PHA's supply.
    uint256 public constant MAX_PROPOSAL_THRESHOLD = 10_000_000 ether;
    /// @notice Quorum bounds, in percent of PHA's supply (the quorum denominator is 100).
    uint256 public constant MIN_QUORUM_NUMERATOR = 1;
    uint256 public constant MAX_QUORUM_NUMERATOR = 10;

    /// @notice Initial settings, in seconds (the clock is timestamps) and PHA wei.
    struct Settings {
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 proposalThreshold;
        uint256 quorumNumerator;
    }

    /// @notice Votes of staked PHA, added to PHA's.
    IERC5805 public immutable stakeVotes;

    /// @param pha PHA (ERC20Votes, timestamp clock).
    /// @param stakeVotes_ Votes of staked PHA (same clock).
    /// @param timelock_ The timelock that owns the protocol.
    /// @param settings Initial settings, within the bounds.
    constructor(IVotes pha, IERC5805 stakeVotes_, TimelockController timelock_, Settings memory settings)
        Governor("PhalaGovernor")
        GovernorSettings(settings.votingDelay, settings.votingPeriod, settings.proposalThreshold)
        GovernorVotes(pha)
        GovernorVotesQuorumFraction(settings.quorumNumerator)
        GovernorTimelockControl(timelock_)
    {
        if (keccak256(bytes(stakeVotes_.CLOCK_MODE())) != keccak256(bytes(CLOCK_MODE()))) revert ClockMismatch();
        stakeVotes = stakeVotes_;
    }

    // ---------------------------------------------------------------- votes

    /// @dev PHA votes plus staked PHA votes at `timepoint`.
    function _getVotes(address account, uint256 timepoint, bytes memory params)
        internal
        view
        override(Governor, GovernorVotes)
        returns (uint256)
    {
        return super._getVotes(account, timepoint, params) + stakeVotes.getPastVotes(account, timepoint);
    }

    // ---------------------------------------------------------------- bounded settings

    function _setVotingDelay(uint48 newVotingDelay) internal override {
        if (newVotingDelay < MIN_VOTING_DELAY || newVotingDelay > MAX_VOTING_DELAY) {
            revert VotingDelayOutOfBounds(newVotingDelay, MIN_VOTING_DELAY, MAX_VOTING_DELAY);
        }
        super._setVotingDelay(newVotingDelay);
    }

    function _setVotingPeriod(uint32 newVotingPeriod) internal override {
        if (newVotingPeriod < MIN_VOTING_PERIOD || newVotingPeriod > MAX_VOTING_PERIOD) {
            revert VotingPeriodOutOfBounds(newVotingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        }
        super._setVotingPeriod(newVotingPeriod);
    }

    function _setProposalThreshold(uint256 newProposalThreshold) internal override {
        if (newProposalThreshold < MIN_PROPOSAL_THRESHOLD || newProposalThreshold > MAX_PROPOSAL_THRESHOLD) {
            revert ProposalThresholdOutOfBounds(newProposalThreshold, MIN_PROPOSAL_THRESHOLD, MAX_PROPOSAL_THRESHOLD);
        }
        super._setProposalThreshold(newProposalThreshold);
    }

    function _updateQuorumNumerator(uint256 newQuorumNumerator) internal override {
        if (newQuorumNumerator < MIN_QUORUM_NUMERATOR || newQuorumNumerator > MAX_QUORUM_NUMERATOR) {
            revert QuorumNumeratorOutOfBounds(newQuorumNumerator, MIN_QUORUM_NUMERATOR, MAX_QUORUM_NUMERATOR);
        }
        super._updateQuorumNumerator(newQuorumNumerator);
    }

    // ---------------------------------------------------------------- overrides required by Solidity

    /// @notice Seconds between a proposal and the start of its vote.
    /// @return Seconds.
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @notice Seconds a vote lasts.
    /// @return Seconds.
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    /// @notice Votes needed to propose.
    /// @return Votes.
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @notice Votes needed at `timepoint` for a vote to count (for plus abstain).
    /// @param timepoint A timestamp.
    /// @return Votes.
    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    /// @notice Where proposal `proposalId` stands.
    /// @param proposalId The proposal.
    /// @return Its state.
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @notice Whether the proposal must wait in the timelock (always: every proposal does).
    /// @param proposalId The proposal.
    /// @return True.
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override(Governor, GovernorStorage) returns (uint256) {
        return super._propose(targets, values, calldatas, description, proposer);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
