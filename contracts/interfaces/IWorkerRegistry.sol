// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IWorkerRegistry
/// @notice Registered enclave keys of TEE workers, as seen by the router and the staking side.
interface IWorkerRegistry is ICommonErrors {
    /// @notice A registered worker. One storage slot for operator+expiry+flags, one for measurement.
    struct Worker {
        address operator;
        uint64 expiresAt;
        bool simulated;
        bool jailed;
        bool revoked;
        bytes32 measurement;
    }

    event WorkerRegistered(
        address indexed worker,
        address indexed operator,
        address indexed verifier,
        bytes32 measurement,
        uint64 expiresAt,
        bool simulated,
        string endpoint
    );
    event WorkerEndpointUpdated(address indexed worker, string endpoint);
    event WorkerDeregistered(address indexed worker, address indexed operator);
    event WorkerRevoked(address indexed worker);
    event WorkerJailed(address indexed worker);
    event WorkerUnjailed(address indexed worker);
    event MeasurementApproval(bytes32 indexed measurement, bool approved);
    event VerifierApproval(address indexed verifier, bool approved);
    event RouterUpdated(address indexed router);

    error VerifierNotApproved(address verifier);
    error MeasurementNotApproved(bytes32 measurement);
    error AttestationExpired(uint64 expiresAt);
    error WorkerKeyTaken(address worker, address operator);
    error WorkerIsJailed(address worker);
    error WorkerIsRevoked(address worker);
    error UnknownWorker(address worker);
    error NotWorkerOperator(address worker, address caller);
    error NotRouter(address caller);
    error WorkerNotJailed(address worker);
    error RegistrationSignatureExpired(uint256 deadline);
    /// @notice The registration is not signed by the enclave key for this operator (and deadline).
    error NotSignedByWorker(address worker, address operator);

    /// @notice The worker record (operator is zero for an unknown key).
    /// @param worker The worker's enclave key address.
    /// @return The worker's record.
    function workerOf(address worker) external view returns (Worker memory);

    /// @notice The operator that registered `worker` (zero for an unknown key).
    /// @param worker The worker's enclave key address.
    /// @return The operator (zero if unknown).
    function operatorOf(address worker) external view returns (address);

    /// @notice Registered, attestation unexpired, measurement still approved, not jailed or revoked.
    /// @param worker The worker's enclave key address.
    /// @return Whether the worker may be assigned requests.
    function isActive(address worker) external view returns (bool);

    /// @notice The worker's measurement when {isActive}, else zero (one call for the router's assignment).
    /// @param worker The worker's enclave key address.
    /// @return The worker's measurement, or zero when it is not active.
    function activeMeasurementOf(address worker) external view returns (bytes32);

    /// @notice True when the key is jailed or revoked, registered or not: its answers are no longer
    /// accepted and it cannot be registered again.
    /// @param worker The worker's enclave key address.
    /// @return Whether the key is jailed or revoked.
    function isBanned(address worker) external view returns (bool);

    /// @notice Jails a worker for a proven fault; only the router may call it.
    /// @param worker The worker's enclave key address.
    function jail(address worker) external;
}
