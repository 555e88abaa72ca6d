// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAttestationVerifier
/// @notice Pluggable check that an enclave produced `reportData` while running an approved runtime.
/// WorkerRegistry computes `reportData` itself (binding the enclave key, chain id and registry
/// address), so evidence made for another key, chain or registry can never verify.
interface IAttestationVerifier {
    /// @notice Verifies `evidence` (a quote, a quorum of gatekeeper signatures, ...) for `reportData`.
    /// @dev MUST revert when the evidence does not prove `reportData`; MUST NOT return a zero measurement.
    /// @param reportData The 32 bytes the enclave must have put in its report data (the rest zero).
    /// @param evidence Verifier-specific attestation evidence.
    /// @return measurement The runtime measurement (e.g. a TDX RTMR/MRTD digest) the evidence attests.
    /// @return expiresAt Unix time after which the attestation must be renewed.
    function verifyAttestation(bytes32 reportData, bytes calldata evidence)
        external
        view
        returns (bytes32 measurement, uint64 expiresAt);

    /// @notice True when this verifier accepts simulated (non-hardware) enclaves; registrations
    /// through it are marked as simulated everywhere.
    /// @return Whether registrations through this verifier are simulated.
    function isSimulated() external view returns (bool);
}
