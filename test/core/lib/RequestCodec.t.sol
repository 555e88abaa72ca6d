// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../../utils/Test.sol";
import {IAgentRouter} from "../../../contracts/interfaces/IAgentRouter.sol";
import {RequestCodec} from "../../../contracts/core/lib/RequestCodec.sol";

contract RequestCodecHarness {
    function hash(IAgentRouter.AgentRequest calldata req) external pure returns (bytes32 requestHash, uint256 grew) {
        uint256 before = _freePointer();
        requestHash = RequestCodec.hash(req);
        grew = _freePointer() - before;
    }

    function load(IAgentRouter.AgentRequest calldata req)
        external
        pure
        returns (IAgentRouter.AgentRequest memory copy, bytes32 requestHash, uint256 grew, bytes32 copyHash)
    {
        uint256 before = _freePointer();
        (copy, requestHash) = RequestCodec.load(req);
        grew = _freePointer() - before;
        // Allocating after the load must not overwrite the copy.
        bytes memory later = new bytes(64);
        later[0] = 0xff;
        copyHash = keccak256(abi.encode(copy));
    }

    /// @dev The hash of raw calldata `encoded`, passed as the request (no ABI validation of its words).
    function hashRaw(bytes calldata encoded) external pure returns (bytes32 requestHash) {
        IAgentRouter.AgentRequest calldata req;
        assembly ("memory-safe") {
            req := encoded.offset
        }
        return RequestCodec.hash(req);
    }

    function _freePointer() private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }
}

/// @notice RequestCodec against abi.encode + keccak256, the commitment the router stores.
contract RequestCodecTest is Test {
    RequestCodecHarness internal harness = new RequestCodecHarness();

    function testFuzz_HashIsKeccakOfAbiEncode(uint256 id, uint256 agentId, address consumer, uint64 accountId, address worker, uint32 agentVersion, bytes32 salt)
        public
        view
    {
        IAgentRouter.AgentRequest memory req = _request(id, agentId, consumer, accountId, worker, agentVersion, salt);
        (bytes32 requestHash, uint256 grew) = harness.hash(req);
        assertEq(requestHash, keccak256(abi.encode(req)), "keccak256(abi.encode(request))");
        assertEq(grew, 0, "scratch only: nothing allocated");
    }

    function testFuzz_LoadCopiesAndHashes(uint256 id, uint256 agentId, address consumer, uint64 accountId, address worker, uint32 agentVersion, bytes32 salt)
        public
        view
    {
        IAgentRouter.AgentRequest memory req = _request(id, agentId, consumer, accountId, worker, agentVersion, salt);
        (IAgentRouter.AgentRequest memory copy, bytes32 requestHash, uint256 grew, bytes32 copyHash) = harness.load(req);
        assertEq(requestHash, keccak256(abi.encode(req)), "hash of the copy = commitment");
        assertEq(keccak256(abi.encode(copy)), keccak256(abi.encode(req)), "every member copied");
        assertEq(copyHash, requestHash, "the copy survives later allocations");
        assertEq(grew, RequestCodec.ENCODED_SIZE, "exactly the 16 words allocated");
    }

    /// @dev A dirty word (bits above a member's width) cannot pass for the clean request.
    function testFuzz_DirtyWordChangesTheHash(uint256 word, uint256 dirt) public view {
        IAgentRouter.AgentRequest memory req = _request(1, 2, address(3), 4, address(5), 6, bytes32(uint256(7)));
        bytes memory encoded = abi.encode(req);
        // Members narrower than a word: consumer(2) accountId(3) worker(4) agentVersion(5) keyEpoch(6)
        // callbackGasLimit(7) agentOwner(8) agentPrice(9) maxFee(10) deadline(11) configVersion(14)
        // capacityFee(15).
        uint8[12] memory narrow = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15];
        uint256[12] memory widths = [uint256(160), 64, 160, 32, 32, 32, 160, 96, 96, 64, 16, 96];
        uint256 pick = bound(word, 0, 11);
        uint256 high = bound(dirt, 1, type(uint256).max >> widths[pick]) << widths[pick];
        uint256 at = 32 + uint256(narrow[pick]) * 32;
        assembly ("memory-safe") {
            mstore(add(encoded, at), or(mload(add(encoded, at)), high))
        }
        assertTrue(harness.hashRaw(encoded) != keccak256(abi.encode(req)), "a dirty encoding never matches");
        assertEq(harness.hashRaw(abi.encode(req)), keccak256(abi.encode(req)), "the clean one does");
    }

    function _request(uint256 id, uint256 agentId, address consumer, uint64 accountId, address worker, uint32 agentVersion, bytes32 salt)
        internal
        pure
        returns (IAgentRouter.AgentRequest memory)
    {
        return IAgentRouter.AgentRequest({
            id: id,
            agentId: agentId,
            consumer: consumer,
            accountId: accountId,
            worker: worker,
            agentVersion: agentVersion,
            keyEpoch: uint32(uint256(salt)),
            callbackGasLimit: uint32(uint256(salt) >> 32),
            agentOwner: address(uint160(uint256(keccak256(abi.encode(salt))))),
            agentPrice: uint96(uint256(salt) >> 64),
            maxFee: uint96(uint256(salt) >> 160),
            deadline: uint64(uint256(keccak256(abi.encode(salt, 1)))),
            codeHash: keccak256(abi.encode(salt, 2)),
            inputHash: salt,
            configVersion: uint16(uint256(salt) >> 240),
            capacityFee: uint96(uint256(keccak256(abi.encode(salt, 3))))
        });
    }
}
