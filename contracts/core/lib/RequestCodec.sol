// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRouter} from "../../interfaces/IAgentRouter.sol";

/// @title RequestCodec
/// @notice A request's commitment, keccak256(abi.encode(request)), computed straight from calldata.
/// @dev AgentRequest has only static members, so its calldata encoding is its abi.encode: 16 words,
/// each value right-aligned in its word. The router's own commitments are of cleanly encoded
/// requests; a calldata copy with a dirty word (bits above a member's width) hashes differently,
/// so it can only fail the comparison with the commitment, never pass as another request.
library RequestCodec {
    /// @dev abi.encode(AgentRequest): 16 static words.
    uint256 internal constant ENCODED_SIZE = 16 * 32;

    /// @notice keccak256(abi.encode(req)) of the request at `encoded`, hashed in scratch memory past
    /// the free memory pointer (nothing is allocated).
    function hash(IAgentRouter.AgentRequest calldata encoded) internal pure returns (bytes32 requestHash) {
        assembly ("memory-safe") {
            // Unallocated memory: the copy is dead once hashed, so the free memory pointer stays.
            let ptr := mload(0x40)
            calldatacopy(ptr, encoded, ENCODED_SIZE)
            requestHash := keccak256(ptr, ENCODED_SIZE)
        }
    }

    /// @notice The request at `encoded` copied to memory, and its hash. A memory AgentRequest of only
    /// static members is laid out as 16 words in member order, its abi.encode: the copy is the struct,
    /// and it is hashed in place.
    /// @dev The copy is not cleaned: a dirty word would give a memory struct whose member reads
    /// differ from its bytes. Callers compare `requestHash` with the router's commitment before using
    /// `req`, and a match proves every word clean (the commitment is of a clean abi.encode).
    function load(IAgentRouter.AgentRequest calldata encoded)
        internal
        pure
        returns (IAgentRouter.AgentRequest memory req, bytes32 requestHash)
    {
        assembly ("memory-safe") {
            // Solidity has already allocated `req` (a return variable gets its zeroed 16 words):
            // fill those words rather than allocate a second copy.
            calldatacopy(req, encoded, ENCODED_SIZE)
            requestHash := keccak256(req, ENCODED_SIZE)
        }
    }
}
