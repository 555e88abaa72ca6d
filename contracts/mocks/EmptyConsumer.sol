// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {AgentConsumer} from "../consumer/AgentConsumer.sol";

/// @title EmptyConsumer
/// @notice Benchmark and test consumer whose callback does nothing, so measured gas is the router's own.
contract EmptyConsumer is AgentConsumer {
    constructor(IAgentRouter router) AgentConsumer(router) {}

    function requestAgent(uint64 accountId, uint256 agentId, bytes calldata input, uint32 callbackGasLimit, uint96 maxFee)
        external
        returns (uint256)
    {
        return _requestAgent(accountId, agentId, input, callbackGasLimit, maxFee);
    }

    function _onAgentResponse(uint256, bytes calldata) internal override {}
}
