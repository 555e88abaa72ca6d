// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentConsumer} from "../../interfaces/IAgentConsumer.sol";

/// @title CallbackCodec
/// @notice The consumer callbacks' calldata, built in one copy.
library CallbackCodec {
    /// @notice abi.encodeCall(IAgentConsumer.onAgentResponse, (requestId, status, output)), with
    /// `output` copied once from calldata (abi.encodeCall copies it twice).
    function onAgentResponse(uint256 requestId, uint16 status, bytes calldata output)
        internal
        pure
        returns (bytes memory data)
    {
        bytes4 selector = IAgentConsumer.onAgentResponse.selector;
        assembly ("memory-safe") {
            data := mload(0x40)
            let length := output.length
            // length rounded up to whole words (ABI pads bytes to 32); `length` is a calldata
            // length, far below 2^256 - 31, so the addition cannot wrap.
            let padded := and(add(length, 31), not(31))
            // Layout from data + 0x20: selector (4 bytes) | requestId | status | offset of output
            // (0x60: three head words) | output length | output bytes, zero-padded to `padded`.
            // Word at data: the bytes' length, 4 + 4 words + padded = 0x84 + padded.
            mstore(data, add(0x84, padded))
            // The selector is left-aligned in its bytes4: this word's first 4 bytes are it, the
            // other 28 are zero and overwritten by the next mstore.
            mstore(add(data, 0x20), selector)
            // requestId, a full word, right after the selector.
            mstore(add(data, 0x24), requestId)
            // status zero-extended; the mask clears bits above 16 a caller's assembly could leave.
            mstore(add(data, 0x44), and(status, 0xffff))
            // Offset of output from the start of the arguments: three head words.
            mstore(add(data, 0x64), 0x60)
            // Zero the last word of the padded output before the copy fills its first bytes: the
            // padding is then zero whatever the memory held (mstore of the length below comes
            // after because, for an empty output, this word is the length's own).
            mstore(add(data, add(0x84, padded)), 0)
            mstore(add(data, 0x84), length)
            calldatacopy(add(data, 0xa4), output.offset, length)
            // Allocate: the length word plus 0x84 + padded bytes.
            mstore(0x40, add(data, add(0xa4, padded)))
        }
    }
}
