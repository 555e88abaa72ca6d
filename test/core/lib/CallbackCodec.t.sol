// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../../utils/Test.sol";
import {IAgentConsumer} from "../../../contracts/interfaces/IAgentConsumer.sol";
import {CallbackCodec} from "../../../contracts/core/lib/CallbackCodec.sol";

contract CallbackCodecHarness {
    /// @dev Encodes over memory first filled with 0xff past the free memory pointer, so padding the
    /// library failed to clear would show in the comparison with abi.encodeCall (which pads with
    /// zeros); returns the encoding and how far the pointer moved.
    function encode(uint256 requestId, uint16 status, bytes calldata output)
        external
        pure
        returns (bytes memory data, uint256 grew)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            for { let i := 0 } lt(i, add(output.length, 0x200)) { i := add(i, 0x20) } { mstore(add(p, i), not(0)) }
        }
        uint256 before = _freePointer();
        data = CallbackCodec.onAgentResponse(requestId, status, output);
        grew = _freePointer() - before;
    }

    function _freePointer() private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }
}

/// @notice CallbackCodec against abi.encodeCall.
contract CallbackCodecTest is Test {
    CallbackCodecHarness internal harness = new CallbackCodecHarness();

    function testFuzz_IsAbiEncodeCall(uint256 requestId, uint16 status, bytes memory output) public view {
        (bytes memory data, uint256 grew) = harness.encode(requestId, status, output);
        assertEq(data, abi.encodeCall(IAgentConsumer.onAgentResponse, (requestId, status, output)), "abi.encodeCall");
        assertEq(grew, 0x20 + data.length, "the length word and the bytes allocated, no more");
    }

    function test_EveryLengthAroundAWord() public view {
        for (uint256 length; length <= 65; ++length) {
            bytes memory output = new bytes(length);
            for (uint256 i; i < length; ++i) output[i] = bytes1(uint8(i + 1));
            (bytes memory data,) = harness.encode(7, 3, output);
            assertEq(data, abi.encodeCall(IAgentConsumer.onAgentResponse, (7, 3, output)), "abi.encodeCall");
        }
    }
}
