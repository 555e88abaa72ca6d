// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IPausable
/// @notice A contract its owner can pause (AgentRouter: stops new requests).
interface IPausable {
    function pause() external;
}
