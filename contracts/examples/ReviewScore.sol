// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AgentConsumer} from "../consumer/AgentConsumer.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";

/// @notice Asks an agent to score a review and keeps its answer on-chain. Anyone may ask and the
/// billing account pays: a real contract would charge or restrict its callers.
contract ReviewScore is AgentConsumer {
    struct Review {
        int256 score;
        string label;
    }

    uint32 public constant CALLBACK_GAS_LIMIT = 150_000;
    uint64 public immutable accountId;
    uint256 public immutable agentId;
    mapping(uint256 requestId => Review) public reviews;

    event ReviewScored(uint256 indexed requestId, int256 score, string label);
    event ReviewFailed(uint256 indexed requestId, uint16 status, string message);

    constructor(IAgentRouter router, uint64 accountId_, uint256 agentId_) AgentConsumer(router) {
        accountId = accountId_;
        agentId = agentId_;
    }

    /// @notice Asks the agent to score `text`, paying the least fee the router accepts.
    /// @param text The review to score.
    /// @return requestId The router's request id.
    function ask(string calldata text) external returns (uint256 requestId) {
        uint96 maxFee = SafeCast.toUint96(agentRouter.estimateFee(agentId, CALLBACK_GAS_LIMIT));
        requestId = _requestAgent(accountId, agentId, abi.encode(text), CALLBACK_GAS_LIMIT, maxFee);
    }

    function _onAgentResponse(uint256 requestId, bytes calldata output) internal override {
        (int256 score, string memory label) = abi.decode(output, (int256, string));
        reviews[requestId] = Review(score, label);
        emit ReviewScored(requestId, score, label);
    }

    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal override {
        emit ReviewFailed(requestId, status, string(message));
    }
}
