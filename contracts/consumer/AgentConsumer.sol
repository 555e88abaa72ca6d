// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentConsumer} from "../interfaces/IAgentConsumer.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {AgentStatus} from "../core/AgentStatus.sol";

/// @title AgentConsumer
/// @notice Base for contracts that call AI agents the way they would call an oracle:
/// `_requestAgent(...)` now, `_onAgentResponse(requestId, output)` later, from the router only
/// (or `_onAgentTimeout(requestId)` if nobody answered by the deadline).
/// The requesting contract must be an allowed consumer of the billing account that pays.
abstract contract AgentConsumer is IAgentConsumer {
    /// @notice The router this consumer trusts for callbacks.
    IAgentRouter public immutable agentRouter;

    constructor(IAgentRouter router) {
        agentRouter = router;
    }

    /// @inheritdoc IAgentConsumer
    function onAgentResponse(uint256 requestId, uint16 status, bytes calldata output) external {
        if (msg.sender != address(agentRouter)) revert OnlyAgentRouter(msg.sender);
        if (status == AgentStatus.OK) {
            _onAgentResponse(requestId, output);
        } else {
            _onAgentError(requestId, status, output);
        }
    }

    /// @inheritdoc IAgentConsumer
    function onAgentTimeout(uint256 requestId) external {
        if (msg.sender != address(agentRouter)) revert OnlyAgentRouter(msg.sender);
        _onAgentTimeout(requestId);
    }

    /// @dev Requests `agentId` on `input` (plaintext), paid by `accountId` up to `maxFee` PHA.
    function _requestAgent(
        uint64 accountId,
        uint256 agentId,
        bytes memory input,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) internal returns (uint256 requestId) {
        return agentRouter.request(accountId, agentId, input, 0, callbackGasLimit, maxFee);
    }

    /// @dev Like {_requestAgent} with `ciphertext` encrypted to the cluster key of `keyEpoch`.
    function _requestAgentConfidential(
        uint64 accountId,
        uint256 agentId,
        bytes memory ciphertext,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) internal returns (uint256 requestId) {
        return agentRouter.request(accountId, agentId, ciphertext, keyEpoch, callbackGasLimit, maxFee);
    }

    /// @dev Receives a successful answer.
    function _onAgentResponse(uint256 requestId, bytes calldata output) internal virtual;

    /// @dev Receives an error result (`status` from {AgentStatus}, `message` UTF-8). Default: ignore.
    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal virtual {}

    /// @dev Learns that `requestId` timed out (its reservation is already refunded), e.g. to retry it
    /// or release what waited on it. Runs with `TIMEOUT_CALLBACK_GAS` (50,000) gas: keep it small. A
    /// revert or running out of gas is ignored by the router, so nothing here can block the refund.
    /// Default: ignore.
    function _onAgentTimeout(uint256 requestId) internal virtual {}
}
