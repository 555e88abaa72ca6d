// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IPhalaGovernor
/// @notice Errors PhalaGovernor adds to OpenZeppelin's Governor.
interface IPhalaGovernor {
    error VotingDelayOutOfBounds(uint256 value, uint256 min, uint256 max);
    error VotingPeriodOutOfBounds(uint256 value, uint256 min, uint256 max);
    error ProposalThresholdOutOfBounds(uint256 value, uint256 min, uint256 max);
    error QuorumNumeratorOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice The two vote sources must checkpoint on the same clock.
    error ClockMismatch();
}
