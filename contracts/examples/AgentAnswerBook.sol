// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {AgentConsumer} from "../consumer/AgentConsumer.sol";

/// @title AgentAnswerBook
/// @notice Example consumer: anyone asks an LLM agent a question; the answer is written back and
/// kept per asker. Shows request fan-out from many users through one billing account, and an
/// error path that records why an answer failed.
contract AgentAnswerBook is AgentConsumer {
    struct Entry {
        address asker;
        bool answered;
        uint16 status;
        bytes answer;
    }

    /// @notice Gas the router gives our callback (answers may be long).
    uint32 public constant CALLBACK_GAS_LIMIT = 300_000;
    /// @notice Longest question accepted, in bytes.
    uint256 public constant MAX_QUESTION_BYTES = 2_048;

    uint64 public immutable accountId;
    uint256 public immutable agentId;
    uint96 public immutable maxFee;

    mapping(uint256 requestId => Entry) private _entries;

    event QuestionAsked(uint256 indexed requestId, address indexed asker, string question);
    event QuestionAnswered(uint256 indexed requestId, address indexed asker, uint16 status);

    error QuestionTooLong(uint256 length);
    error EmptyQuestion();

    constructor(IAgentRouter router, uint64 accountId_, uint256 agentId_, uint96 maxFee_) AgentConsumer(router) {
        accountId = accountId_;
        agentId = agentId_;
        maxFee = maxFee_;
    }

    /// @notice Asks the agent `question`; the answer arrives in a later transaction.
    /// @param question The question, at most MAX_QUESTION_BYTES long.
    /// @return requestId The router's request id.
    function ask(string calldata question) external returns (uint256 requestId) {
        uint256 length = bytes(question).length;
        if (length == 0) revert EmptyQuestion();
        if (length > MAX_QUESTION_BYTES) revert QuestionTooLong(length);
        requestId = _requestAgent(accountId, agentId, bytes(question), CALLBACK_GAS_LIMIT, maxFee);
        _entries[requestId].asker = msg.sender;
        emit QuestionAsked(requestId, msg.sender, question);
    }

    /// @notice The entry of a question (answer is the error message when status != 0).
    /// @param requestId The router's request id.
    /// @return The entry.
    function entryOf(uint256 requestId) external view returns (Entry memory) {
        return _entries[requestId];
    }

    function _onAgentResponse(uint256 requestId, bytes calldata output) internal override {
        _record(requestId, 0, output);
    }

    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal override {
        _record(requestId, status, message);
    }

    function _record(uint256 requestId, uint16 status, bytes calldata answer) private {
        Entry storage entry = _entries[requestId];
        entry.answered = true;
        entry.status = status;
        entry.answer = answer;
        emit QuestionAnswered(requestId, entry.asker, status);
    }
}
