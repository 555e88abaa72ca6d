// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {AgentConsumer} from "../consumer/AgentConsumer.sol";

/// @title SentimentOracle
/// @notice Example consumer: asks a sentiment agent to label texts and keeps the labels on-chain,
/// e.g. for a market that settles on the tone of a public statement.
contract SentimentOracle is AgentConsumer, Ownable {
    enum State {
        None,
        Pending,
        Answered,
        Failed
    }

    struct Query {
        State state;
        uint16 errorStatus;
        bytes32 textHash;
        bytes label;
    }

    /// @notice Gas the router gives our callback (stores a short label).
    uint32 public constant CALLBACK_GAS_LIMIT = 120_000;

    uint64 public immutable accountId;
    uint256 public immutable agentId;
    uint96 public maxFee;

    mapping(uint256 requestId => Query) public queries;

    event SentimentRequested(uint256 indexed requestId, bytes32 indexed textHash);
    event SentimentAnswered(uint256 indexed requestId, bytes label);
    event SentimentFailed(uint256 indexed requestId, uint16 status, bytes message);
    event MaxFeeUpdated(uint96 maxFee);

    constructor(IAgentRouter router, uint64 accountId_, uint256 agentId_, uint96 maxFee_, address owner_)
        AgentConsumer(router)
        Ownable(owner_)
    {
        accountId = accountId_;
        agentId = agentId_;
        maxFee = maxFee_;
    }

    /// @notice Asks the agent for the sentiment of `text`.
    /// @param text The text to classify.
    /// @return requestId The router's request id.
    function requestSentiment(string calldata text) external returns (uint256 requestId) {
        requestId = _requestAgent(accountId, agentId, bytes(text), CALLBACK_GAS_LIMIT, maxFee);
        bytes32 textHash = keccak256(bytes(text));
        queries[requestId] = Query(State.Pending, 0, textHash, "");
        emit SentimentRequested(requestId, textHash);
    }

    /// @notice Owner: sets the most PHA one request may cost.
    /// @param newMaxFee PHA.
    function setMaxFee(uint96 newMaxFee) external onlyOwner {
        maxFee = newMaxFee;
        emit MaxFeeUpdated(newMaxFee);
    }

    /// @notice The label of an answered query (empty otherwise).
    /// @param requestId The router's request id.
    /// @return The label.
    function labelOf(uint256 requestId) external view returns (bytes memory) {
        return queries[requestId].label;
    }

    function _onAgentResponse(uint256 requestId, bytes calldata output) internal override {
        Query storage query = queries[requestId];
        query.state = State.Answered;
        query.label = output;
        emit SentimentAnswered(requestId, output);
    }

    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal override {
        Query storage query = queries[requestId];
        query.state = State.Failed;
        query.errorStatus = status;
        emit SentimentFailed(requestId, status, message);
    }
}
