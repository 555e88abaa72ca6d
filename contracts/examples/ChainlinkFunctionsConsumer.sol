// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

// Chainlink's example as published: its `s_` names and memory arguments are kept.
// solhint-disable var-name-mixedcase, gas-calldata-parameters

import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {ConfirmedOwner} from "@chainlink/contracts/src/v0.8/shared/access/ConfirmedOwner.sol";
import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";

/// @title ChainlinkFunctionsConsumer
/// @notice A Chainlink Functions consumer as Chainlink documents it (the "FunctionsConsumerExample"
/// of its getting-started guide), written against Chainlink's own FunctionsClient, ConfirmedOwner
/// and FunctionsRequest from the Chainlink contracts package. Nothing in it knows about the agent network:
/// constructed with a FunctionsRouterAdapter's address instead of Chainlink's router, it runs there.
contract ChainlinkFunctionsConsumer is FunctionsClient, ConfirmedOwner {
    using FunctionsRequest for FunctionsRequest.Request;

    bytes32 public s_lastRequestId;
    bytes public s_lastResponse;
    bytes public s_lastError;

    error UnexpectedRequestID(bytes32 requestId);

    event Response(bytes32 indexed requestId, bytes response, bytes err);

    constructor(address router) FunctionsClient(router) ConfirmedOwner(msg.sender) {}

    /// @notice Sends a request with inline JavaScript `source`.
    /// @param source The JavaScript to run.
    /// @param encryptedSecretsUrls Encrypted secrets URLs (empty for none).
    /// @param donHostedSecretsSlotID Slot of DON-hosted secrets (used when no URLs are given).
    /// @param donHostedSecretsVersion Version of DON-hosted secrets (0 for none).
    /// @param args String arguments.
    /// @param bytesArgs Bytes arguments.
    /// @param subscriptionId The subscription that pays.
    /// @param gasLimit Gas for the fulfilment callback.
    /// @param donID The DON (route) to send to.
    /// @return requestId The request id.
    function sendRequest(
        string memory source,
        bytes memory encryptedSecretsUrls,
        uint8 donHostedSecretsSlotID,
        uint64 donHostedSecretsVersion,
        string[] memory args,
        bytes[] memory bytesArgs,
        uint64 subscriptionId,
        uint32 gasLimit,
        bytes32 donID
    ) external onlyOwner returns (bytes32 requestId) {
        FunctionsRequest.Request memory req;
        req.initializeRequestForInlineJavaScript(source);
        if (encryptedSecretsUrls.length > 0) {
            req.addSecretsReference(encryptedSecretsUrls);
        } else if (donHostedSecretsVersion > 0) {
            req.addDONHostedSecrets(donHostedSecretsSlotID, donHostedSecretsVersion);
        }
        if (args.length > 0) req.setArgs(args);
        if (bytesArgs.length > 0) req.setBytesArgs(bytesArgs);
        s_lastRequestId = _sendRequest(req.encodeCBOR(), subscriptionId, gasLimit, donID);
        return s_lastRequestId;
    }

    /// @notice Sends a request already CBOR-encoded off-chain.
    /// @param request The CBOR-encoded request.
    /// @param subscriptionId The subscription that pays.
    /// @param gasLimit Gas for the fulfilment callback.
    /// @param donID The DON (route) to send to.
    /// @return requestId The request id.
    function sendRequestCBOR(bytes memory request, uint64 subscriptionId, uint32 gasLimit, bytes32 donID)
        external
        onlyOwner
        returns (bytes32 requestId)
    {
        s_lastRequestId = _sendRequest(request, subscriptionId, gasLimit, donID);
        return s_lastRequestId;
    }

    function fulfillRequest(bytes32 requestId, bytes memory response, bytes memory err) internal override {
        if (s_lastRequestId != requestId) {
            revert UnexpectedRequestID(requestId);
        }
        s_lastResponse = response;
        s_lastError = err;
        emit Response(requestId, s_lastResponse, s_lastError);
    }
}
