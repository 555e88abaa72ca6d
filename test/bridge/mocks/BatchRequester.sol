// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRouter} from "../../../contracts/interfaces/IAgentRouter.sol";
import {AgentConsumer} from "../../../contracts/consumer/AgentConsumer.sol";

/// @title BatchRequester
/// @notice Test/benchmark consumer: opens many requests in one transaction so a local chain can
/// produce hundreds of requests per second, and counts callbacks per request id so tests can
/// prove that no request was answered twice.
contract BatchRequester is AgentConsumer {
    uint64 public immutable accountId;
    uint256 public immutable agentId;
    uint32 public immutable callbackGasLimit;
    uint96 public immutable maxFee;

    mapping(uint256 requestId => uint256) public callbacks;
    uint256 public answered;

    event Answered(uint256 indexed requestId, uint16 status, bytes output);

    constructor(IAgentRouter router, uint64 accountId_, uint256 agentId_, uint32 callbackGasLimit_, uint96 maxFee_)
        AgentConsumer(router)
    {
        accountId = accountId_;
        agentId = agentId_;
        callbackGasLimit = callbackGasLimit_;
        maxFee = maxFee_;
    }

    /// @notice Opens `count` requests whose inputs are `prefix` followed by their index.
    function requestMany(string calldata prefix, uint256 count) external returns (uint256 firstId) {
        for (uint256 i; i < count; ++i) {
            uint256 id = _requestAgent(accountId, agentId, abi.encodePacked(prefix, _decimal(i)), callbackGasLimit, maxFee);
            if (i == 0) firstId = id;
        }
    }

    function _onAgentResponse(uint256 requestId, bytes calldata output) internal override {
        _count(requestId, 0, output);
    }

    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal override {
        _count(requestId, status, message);
    }

    function _count(uint256 requestId, uint16 status, bytes calldata output) private {
        callbacks[requestId] += 1;
        answered += 1;
        emit Answered(requestId, status, output);
    }

    function _decimal(uint256 value) private pure returns (bytes memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) ++digits;
        bytes memory out = new bytes(digits);
        for (; value != 0; value /= 10) out[--digits] = bytes1(uint8(48 + (value % 10)));
        return out;
    }
}
