// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAttestationVerifier} from "../interfaces/IAttestationVerifier.sol";
import {ISimulatedTeeVerifier} from "./ISimulatedTeeVerifier.sol";

/// @title SimulatedTeeVerifier
/// @notice Accepts "quotes" signed by a development attestation key, so a local chain can run the
/// whole lifecycle without TEE hardware. It proves nothing about real hardware: it refuses to be
/// deployed or used on any chain id outside the development list, and marks every registration
/// made through it as simulated.
contract SimulatedTeeVerifier is IAttestationVerifier, ISimulatedTeeVerifier {
    /// @notice Tag of the digest the development key signs (mirrored in protocol/attestation.ts).
    bytes32 public constant SIMULATED_QUOTE_TAG = keccak256("PHALA_SIMULATED_TEE_QUOTE_V1");
    /// @notice Hardhat's and anvil's default chain id.
    uint256 public constant HARDHAT_CHAIN_ID = 31337;
    /// @notice The customary chain id of geth --dev and Ganache.
    uint256 public constant GETH_DEV_CHAIN_ID = 1337;

    /// @notice The address of the development attestation key.
    address public immutable devAttestationSigner;
    /// @notice How long a simulated quote stays valid after it was issued.
    uint64 public immutable validity;

    constructor(address signer, uint64 validity_) {
        _requireDevelopmentChain();
        if (signer == address(0)) revert ZeroAddress();
        devAttestationSigner = signer;
        validity = validity_;
    }

    /// @inheritdoc IAttestationVerifier
    /// @dev evidence = abi.encode(bytes32 measurement, uint64 issuedAt, bytes signature).
    function verifyAttestation(bytes32 reportData, bytes calldata evidence)
        external
        view
        returns (bytes32 measurement, uint64 expiresAt)
    {
        _requireDevelopmentChain();
        uint64 issuedAt;
        bytes memory signature;
        (measurement, issuedAt, signature) = abi.decode(evidence, (bytes32, uint64, bytes));
        if (measurement == bytes32(0)) revert ZeroMeasurement();
        if (issuedAt > block.timestamp) revert QuoteFromTheFuture(issuedAt);
        bytes32 digest = keccak256(abi.encode(SIMULATED_QUOTE_TAG, reportData, measurement, issuedAt));
        address signer = ECDSA.recover(digest, signature);
        if (signer != devAttestationSigner) revert WrongAttestationSigner(signer);
        expiresAt = issuedAt + validity;
    }

    /// @inheritdoc IAttestationVerifier
    function isSimulated() external pure returns (bool) {
        return true;
    }

    /// @notice True for the chain ids this verifier may run on.
    /// @param chainId A chain id.
    /// @return Whether it is a development chain.
    function isDevelopmentChain(uint256 chainId) public pure returns (bool) {
        return chainId == HARDHAT_CHAIN_ID || chainId == GETH_DEV_CHAIN_ID;
    }

    function _requireDevelopmentChain() private view {
        if (!isDevelopmentChain(block.chainid)) revert NotDevelopmentChain(block.chainid);
    }
}
