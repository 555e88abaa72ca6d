// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IKeyRegistry
/// @notice What the router needs from the gatekeepers' key registry: whether inputs encrypted to a
/// cluster-key epoch may still be submitted.
interface IKeyRegistry {
    /// @notice True when `epoch` is the active epoch or a previous one still inside its grace window.
    function isEpochUsable(uint32 epoch) external view returns (bool);
}
