// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title FulfillmentHash
/// @notice EIP-712 struct hash of the answer a worker signs,
/// Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker),
/// and the EIP-712 encodings of its members, read straight from calldata. The router turns the
/// struct hash into the digest with its domain separator (OpenZeppelin's EIP712).
/// @dev Everything is hashed in unallocated memory past the free memory pointer and nothing is
/// kept, as Solady's EIP712 helpers do.
library FulfillmentHash {
    bytes32 internal constant TYPEHASH = keccak256(
        "Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker)"
    );

    /// @notice hashStruct(Fulfillment): keccak256(abi.encode(TYPEHASH, requestId, requestHash,
    /// outputHash, status, subAgentIdsHash, subAgentPricesHash, worker)); the arrays come as their
    /// EIP-712 encodings ({wordsHash}).
    function structHash(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        bytes32 subAgentIdsHash,
        bytes32 subAgentPricesHash,
        address worker
    ) internal pure returns (bytes32 result) {
        bytes32 typeHash = TYPEHASH;
        assembly ("memory-safe") {
            // Eight words of scratch past the free memory pointer; not allocated, dead once hashed.
            let ptr := mload(0x40)
            // Word 0: the type hash.
            mstore(ptr, typeHash)
            // Word 1: requestId, a full word.
            mstore(add(ptr, 0x20), requestId)
            // Words 2-3: the request's and the output's hashes, full words.
            mstore(add(ptr, 0x40), requestHash)
            mstore(add(ptr, 0x60), outputHash)
            // Word 4: status, zero-extended. The mask clears any bits above 16 that a caller's
            // assembly could have left in the stack value, so the word is abi.encode's.
            mstore(add(ptr, 0x80), and(status, 0xffff))
            // Words 5-6: keccak256 of each array's elements as words (EIP-712 arrays).
            mstore(add(ptr, 0xa0), subAgentIdsHash)
            mstore(add(ptr, 0xc0), subAgentPricesHash)
            // Word 7: worker, zero-extended; the 160-bit mask clears bits above the address, as above.
            mstore(add(ptr, 0xe0), and(worker, 0xffffffffffffffffffffffffffffffffffffffff))
            result := keccak256(ptr, 0x100)
        }
    }

    /// @notice EIP-712 encoding of a uint256[]: keccak256 of its elements as consecutive words.
    function wordsHash(uint256[] calldata words) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            // length * 32 bytes; calldata arrays are bounded by calldata size, so no overflow.
            let size := shl(5, words.length)
            calldatacopy(ptr, words.offset, size)
            result := keccak256(ptr, size)
        }
    }

    /// @notice EIP-712 encoding of a uint96[]: keccak256 of its elements, each zero-extended to a word.
    /// @dev The words are hashed as they stand in calldata. A canonical encoding's are zero-extended;
    /// a dirty one (an element above 2^96) only changes the hash, so no worker's signature matches it.
    function wordsHash(uint96[] calldata words) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := shl(5, words.length)
            calldatacopy(ptr, words.offset, size)
            result := keccak256(ptr, size)
        }
    }

    /// @notice keccak256 of calldata bytes, hashed in scratch memory (Solidity's keccak256 of a
    /// calldata slice would allocate the copy).
    function calldataHash(bytes calldata data) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, data.offset, data.length)
            result := keccak256(ptr, data.length)
        }
    }
}
