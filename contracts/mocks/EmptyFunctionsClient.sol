// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";

/// @title EmptyFunctionsClient
/// @notice Benchmark client on Chainlink's own FunctionsClient whose `fulfillRequest` does nothing,
/// so the measured gas is the adapter's and the router's (the Chainlink counterpart of EmptyConsumer).
contract EmptyFunctionsClient is FunctionsClient {
    constructor(address router) FunctionsClient(router) {}

    function send(bytes calldata data, uint64 subscriptionId, uint32 callbackGasLimit, bytes32 donId) external returns (bytes32) {
        return _sendRequest(data, subscriptionId, callbackGasLimit, donId);
    }

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal override {}
}
