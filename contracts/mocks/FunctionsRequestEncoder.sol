// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";

/// @title FunctionsRequestEncoder
/// @notice Test helper: Chainlink's own FunctionsRequest encoding, so off-chain tests of the
/// functions runtime read exactly the CBOR a client contract sends.
contract FunctionsRequestEncoder {
    using FunctionsRequest for FunctionsRequest.Request;

    /// @param secretsLocation 0: no secrets; 1: `secrets` as a Remote reference; 2: DON-hosted slot `secrets[0]`, version 1.
    function encode(string calldata source, string[] calldata args, bytes[] calldata bytesArgs, uint8 secretsLocation, bytes calldata secrets)
        external
        pure
        returns (bytes memory)
    {
        FunctionsRequest.Request memory req;
        req.initializeRequestForInlineJavaScript(source);
        if (args.length > 0) req.setArgs(args);
        if (bytesArgs.length > 0) req.setBytesArgs(bytesArgs);
        if (secretsLocation == 1) req.addSecretsReference(secrets);
        if (secretsLocation == 2) req.addDONHostedSecrets(uint8(secrets[0]), 1);
        return req.encodeCBOR();
    }

    /// @notice A request with another code location (Remote: `source` is a URL).
    function encodeWithLocation(FunctionsRequest.Location codeLocation, string calldata source) external pure returns (bytes memory) {
        FunctionsRequest.Request memory req;
        req.initializeRequest(codeLocation, FunctionsRequest.CodeLanguage.JavaScript, source);
        return req.encodeCBOR();
    }
}
