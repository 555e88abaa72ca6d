// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAgentConsumer
/// @notice The callback the router makes into a consumer contract when a request is fulfilled.
interface IAgentConsumer {
    /// @notice Delivers the worker's answer; called by the router with the request's callback gas limit.
    /// @param requestId The id returned by {IAgentRouter-request}.
    /// @param status 0 on success; otherwise an {AgentStatus} error code and `output` is its message.
    /// @param output The agent's output (or the error message).
    function onAgentResponse(uint256 requestId, uint16 status, bytes calldata output) external;
}
