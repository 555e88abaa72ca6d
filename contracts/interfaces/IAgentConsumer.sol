// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAgentConsumer
/// @notice The calls the router makes into a consumer contract: the answer when a request is
/// fulfilled, a notice when it timed out.
interface IAgentConsumer {
    /// @notice A callback came from somewhere other than the router.
    error OnlyAgentRouter(address caller);

    /// @notice Delivers the worker's answer; called by the router with the request's callback gas limit.
    /// @param requestId The id returned by {IAgentRouter-request}.
    /// @param status 0 on success; otherwise an {AgentStatus} error code and `output` is its message.
    /// @param output The agent's output (or the error message).
    function onAgentResponse(uint256 requestId, uint16 status, bytes calldata output) external;

    /// @notice Tells the consumer that `requestId` timed out unanswered and its reservation was
    /// refunded. Called by the router with exactly `TIMEOUT_CALLBACK_GAS` gas after the refund and the
    /// slash; its failure (revert, out of gas, no such function) changes nothing.
    /// @param requestId The id returned by {IAgentRouter-request}.
    function onAgentTimeout(uint256 requestId) external;
}
