// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IWorkerRegistry
/// @notice Registered enclave keys of TEE workers, as seen by the router and the staking side.
interface IWorkerRegistry {
    /// @notice A registered worker. One storage slot for operator+expiry+flags, one for measurement.
    struct Worker {
        address operator;
        uint64 expiresAt;
        bool simulated;
        bool jailed;
        bool revoked;
        bytes32 measurement;
    }

    /// @notice The worker record (operator is zero for an unknown key).
    function workerOf(address worker) external view returns (Worker memory);

    /// @notice The operator that registered `worker` (zero for an unknown key).
    function operatorOf(address worker) external view returns (address);

    /// @notice Registered, attestation unexpired, measurement still approved, not jailed or revoked.
    function isActive(address worker) external view returns (bool);

    /// @notice The worker's measurement when {isActive}, else zero (one call for the router's assignment).
    function activeMeasurementOf(address worker) external view returns (bytes32);

    /// @notice True when the key is jailed or revoked, registered or not: its answers are no longer
    /// accepted and it cannot be registered again.
    function isBanned(address worker) external view returns (bool);

    /// @notice Jails a worker for a proven fault; only the router may call it.
    function jail(address worker) external;
}
