// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../../utils/Test.sol";
import {FulfillmentHash} from "../../../contracts/core/lib/FulfillmentHash.sol";

contract FulfillmentHashHarness {
    function structHash(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        uint256[] calldata subAgentIds,
        uint96[] calldata subAgentPrices,
        address worker
    ) external pure returns (bytes32 result, uint256 grew) {
        uint256 before = _freePointer();
        result = FulfillmentHash.structHash(
            requestId,
            requestHash,
            outputHash,
            status,
            FulfillmentHash.wordsHash(subAgentIds),
            FulfillmentHash.wordsHash(subAgentPrices),
            worker
        );
        grew = _freePointer() - before;
    }

    /// @dev structHash with `status` and `worker` carrying garbage above their widths, as assembly
    /// upstream could leave them on the stack.
    function structHashDirty(uint256 statusWord, uint256 workerWord, bytes32 idsHash, bytes32 pricesHash)
        external
        pure
        returns (bytes32)
    {
        uint16 status;
        address worker;
        assembly ("memory-safe") {
            status := statusWord
            worker := workerWord
        }
        return FulfillmentHash.structHash(1, bytes32(uint256(2)), bytes32(uint256(3)), status, idsHash, pricesHash, worker);
    }

    function calldataHash(bytes calldata data) external pure returns (bytes32 result, uint256 grew) {
        uint256 before = _freePointer();
        result = FulfillmentHash.calldataHash(data);
        grew = _freePointer() - before;
    }

    function _freePointer() private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }
}

/// @notice FulfillmentHash against the EIP-712 encoding written with abi.encode.
contract FulfillmentHashTest is Test {
    FulfillmentHashHarness internal harness = new FulfillmentHashHarness();

    function test_TypeHashIsTheSignedType() public pure {
        assertEq(
            FulfillmentHash.TYPEHASH,
            keccak256(
                "Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker)"
            ),
            "EIP-712 type string"
        );
    }

    function testFuzz_StructHashIsAbiEncodeOfTheMembers(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        uint256[] memory subAgentIds,
        uint96[] memory subAgentPrices,
        address worker
    ) public view {
        bytes32 expected = keccak256(
            abi.encode(
                FulfillmentHash.TYPEHASH,
                requestId,
                requestHash,
                outputHash,
                status,
                keccak256(abi.encodePacked(subAgentIds)),
                keccak256(abi.encodePacked(subAgentPrices)),
                worker
            )
        );
        (bytes32 result, uint256 grew) =
            harness.structHash(requestId, requestHash, outputHash, status, subAgentIds, subAgentPrices, worker);
        assertEq(result, expected, "hashStruct(Fulfillment)");
        assertEq(grew, 0, "nothing allocated");
    }

    function testFuzz_DirtyStatusAndWorkerAreMasked(uint16 status, address worker, uint256 statusDirt, uint256 workerDirt)
        public
        view
    {
        uint256 statusWord = uint256(status) | (statusDirt << 16);
        uint256 workerWord = uint256(uint160(worker)) | (workerDirt << 160);
        bytes32 expected = keccak256(
            abi.encode(
                FulfillmentHash.TYPEHASH, 1, bytes32(uint256(2)), bytes32(uint256(3)), status, bytes32(0), bytes32(0), worker
            )
        );
        assertEq(harness.structHashDirty(statusWord, workerWord, 0, 0), expected, "only the member's own bits count");
    }

    function testFuzz_CalldataHashIsKeccak(bytes memory data) public view {
        (bytes32 result, uint256 grew) = harness.calldataHash(data);
        assertEq(result, keccak256(data), "keccak256 of the bytes");
        assertEq(grew, 0, "nothing allocated");
    }
}
