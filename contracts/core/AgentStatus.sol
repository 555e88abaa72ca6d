// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title AgentStatus
/// @notice Result codes a worker signs with a fulfilment (mirrored in protocol/status.ts).
/// Any non-zero status is an error result: it is settled like a success except that the agent
/// owner is not paid (the sub-agents it called are), and the consumer receives the error message.
library AgentStatus {
    uint16 internal constant OK = 0;
    uint16 internal constant AGENT_ERROR = 1;
    uint16 internal constant TIME_LIMIT = 2;
    uint16 internal constant MEMORY_LIMIT = 3;
    uint16 internal constant OUTPUT_LIMIT = 4;
    uint16 internal constant HOST_CALL_LIMIT = 5;
    uint16 internal constant HOST_CALL_DENIED = 6;
    uint16 internal constant BUNDLE_UNAVAILABLE = 7;
    uint16 internal constant CODE_HASH_MISMATCH = 8;
    uint16 internal constant INVALID_BUNDLE = 9;
    uint16 internal constant DECRYPTION_FAILED = 10;
    uint16 internal constant SUB_AGENT_FAILED = 11;
    uint16 internal constant BUDGET_EXCEEDED = 12;
    uint16 internal constant INTERNAL_ERROR = 13;
}
