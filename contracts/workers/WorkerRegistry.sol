// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAttestationVerifier} from "../interfaces/IAttestationVerifier.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title WorkerRegistry
/// @notice Enclave keys of TEE workers, admitted only with an attestation from an approved
/// {IAttestationVerifier} whose report data binds the key, this chain and this registry, and with
/// the enclave key's own EIP-712 signature naming the operator that registers it.
/// Governance (the owner, e.g. a timelock) approves verifiers and runtime measurements and may
/// revoke keys; the router jails keys proven to equivocate. Both bans stick to the key whether or
/// not it is registered.
contract WorkerRegistry is IWorkerRegistry, EIP712, Ownable2Step {
    /// @notice Domain tag of the attested report data (mirrored in protocol/attestation.ts).
    bytes32 public constant REPORT_DATA_TAG = keccak256("PHALA_AGENT_WORKER_V1");

    /// @notice EIP-712 type the enclave key signs to name its operator (mirrored in
    /// protocol/worker-registration.ts). Attestation evidence is public once it is in the mempool;
    /// this signature is what makes a registration by anyone but the named operator fail.
    bytes32 public constant WORKER_REGISTRATION_TYPEHASH =
        keccak256("WorkerRegistration(address worker,address operator,uint256 deadline)");

    /// @notice The router, the only address allowed to jail.
    address public router;

    mapping(address worker => Worker) private _workers;
    mapping(bytes32 measurement => bool) public isMeasurementApproved;
    mapping(address verifier => bool) public isVerifierApproved;

    /// @param initialOwner Governance (may be a timelock).
    constructor(address initialOwner) EIP712("WorkerRegistry", "1") Ownable(initialOwner) {}

    /// @notice Registers (or renews the attestation of) `worker`, operated by the caller.
    /// @dev Every registration, renewals included, needs the key's consent for the caller: a worker
    /// that stops signing for an operator lets that operator's registration expire.
    /// @param worker The enclave key's address; it signs fulfilments.
    /// @param verifier An approved verifier for `evidence`.
    /// @param evidence Attestation evidence whose report data is {reportDataFor}(worker).
    /// @param endpoint Where the bridge reaches the worker (published in the event only).
    /// @param deadline Last second at which `workerSignature` is accepted.
    /// @param workerSignature The enclave key's signature of {registrationDigest}(worker, caller, deadline).
    function registerWorker(
        address worker,
        IAttestationVerifier verifier,
        bytes calldata evidence,
        string calldata endpoint,
        uint256 deadline,
        bytes calldata workerSignature
    ) external {
        if (worker == address(0)) revert ZeroAddress();
        if (!isVerifierApproved[address(verifier)]) revert VerifierNotApproved(address(verifier));
        Worker storage record = _workers[worker];
        // Bans first: they hold against every operator, whoever holds the record.
        if (record.jailed) revert WorkerIsJailed(worker);
        if (record.revoked) revert WorkerIsRevoked(worker);
        if (record.operator != address(0) && record.operator != msg.sender) {
            revert WorkerKeyTaken(worker, record.operator);
        }
        _requireConsent(worker, deadline, workerSignature);

        (bytes32 measurement, uint64 expiresAt) = verifier.verifyAttestation(reportDataFor(worker), evidence);
        if (!isMeasurementApproved[measurement]) revert MeasurementNotApproved(measurement);
        if (expiresAt <= block.timestamp) revert AttestationExpired(expiresAt);
        bool simulated = verifier.isSimulated();

        record.operator = msg.sender;
        record.expiresAt = expiresAt;
        record.simulated = simulated;
        record.measurement = measurement;
        emit WorkerRegistered(worker, msg.sender, address(verifier), measurement, expiresAt, simulated, endpoint);
    }

    /// @notice Publishes a new endpoint for the bridge.
    /// @param worker The caller's worker.
    /// @param endpoint The new endpoint.
    function setEndpoint(address worker, string calldata endpoint) external {
        _requireOperator(worker);
        emit WorkerEndpointUpdated(worker, endpoint);
    }

    /// @notice Removes the operator's worker. A jailed or revoked worker's record stays, so its key cannot return.
    /// @param worker The caller's worker.
    function deregisterWorker(address worker) external {
        Worker storage record = _requireOperator(worker);
        if (record.jailed) revert WorkerIsJailed(worker);
        if (record.revoked) revert WorkerIsRevoked(worker);
        delete _workers[worker];
        emit WorkerDeregistered(worker, msg.sender);
    }

    /// @notice Governance: permanently revokes a worker key (e.g. a compromised enclave).
    /// @dev Any key, registered or not: an operator must not dodge revocation by deregistering first,
    /// and a key known to be leaked can be banned before anyone registers it. The record (and so the
    /// ban) can never be deleted: {deregisterWorker} refuses banned keys and there is no un-revoke.
    /// @param worker The enclave key to ban.
    function revokeWorker(address worker) external onlyOwner {
        if (worker == address(0)) revert ZeroAddress();
        _workers[worker].revoked = true;
        emit WorkerRevoked(worker);
    }

    /// @inheritdoc IWorkerRegistry
    /// @dev The key need not be registered any more: an operator must not dodge an equivocation proof
    /// by deregistering first, and the jailed record keeps the key from being registered again.
    function jail(address worker) external {
        if (msg.sender != router) revert NotRouter(msg.sender);
        _workers[worker].jailed = true;
        emit WorkerJailed(worker);
    }

    /// @notice Governance: lifts a jail (e.g. after an appeal).
    /// @param worker The jailed worker.
    function unjail(address worker) external onlyOwner {
        Worker storage record = _workers[worker];
        if (!record.jailed) revert WorkerNotJailed(worker);
        record.jailed = false;
        emit WorkerUnjailed(worker);
    }

    /// @notice Governance: approves or withdraws a runtime measurement. Withdrawing deactivates its workers at once.
    /// @param measurement The runtime measurement.
    /// @param approved True to approve, false to withdraw.
    function setMeasurementApproved(bytes32 measurement, bool approved) external onlyOwner {
        isMeasurementApproved[measurement] = approved;
        emit MeasurementApproval(measurement, approved);
    }

    /// @notice Governance: approves or withdraws an attestation verifier.
    /// @param verifier The attestation verifier.
    /// @param approved True to approve, false to withdraw.
    function setVerifierApproved(address verifier, bool approved) external onlyOwner {
        if (verifier == address(0)) revert ZeroAddress();
        isVerifierApproved[verifier] = approved;
        emit VerifierApproval(verifier, approved);
    }

    /// @notice Governance: sets the router (the only jailer).
    /// @param newRouter The router.
    function setRouter(address newRouter) external onlyOwner {
        if (newRouter == address(0)) revert ZeroAddress();
        router = newRouter;
        emit RouterUpdated(newRouter);
    }

    /// @notice The EIP-712 digest the enclave key `worker` signs to let `operator` register it until `deadline`.
    /// @dev The domain binds chain id and this registry, so the consent replays on no other deployment.
    /// @param worker The enclave key that consents.
    /// @param operator The operator it lets register it.
    /// @param deadline Last second the consent is accepted.
    /// @return The digest.
    function registrationDigest(address worker, address operator, uint256 deadline) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(WORKER_REGISTRATION_TYPEHASH, worker, operator, deadline)));
    }

    /// @notice The report data a worker's attestation must carry: binds key, chain id and this registry.
    /// @param worker The enclave key.
    /// @return The report data.
    function reportDataFor(address worker) public view returns (bytes32) {
        return keccak256(abi.encode(REPORT_DATA_TAG, worker, block.chainid, address(this)));
    }

    /// @inheritdoc IWorkerRegistry
    function workerOf(address worker) external view returns (Worker memory) {
        return _workers[worker];
    }

    /// @inheritdoc IWorkerRegistry
    function operatorOf(address worker) external view returns (address) {
        return _workers[worker].operator;
    }

    /// @inheritdoc IWorkerRegistry
    function isActive(address worker) external view returns (bool) {
        return activeMeasurementOf(worker) != bytes32(0);
    }

    /// @inheritdoc IWorkerRegistry
    function isBanned(address worker) external view returns (bool) {
        Worker storage record = _workers[worker];
        return record.jailed || record.revoked;
    }

    /// @inheritdoc IWorkerRegistry
    function activeMeasurementOf(address worker) public view returns (bytes32) {
        Worker storage record = _workers[worker];
        if (
            record.operator == address(0) || record.jailed || record.revoked || record.expiresAt < block.timestamp
                || !isMeasurementApproved[record.measurement]
        ) return bytes32(0);
        return record.measurement;
    }

    /// @dev The enclave key itself must have named the caller as its operator.
    function _requireConsent(address worker, uint256 deadline, bytes calldata workerSignature) private view {
        if (block.timestamp > deadline) revert RegistrationSignatureExpired(deadline);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(registrationDigest(worker, msg.sender, deadline), workerSignature);
        if (err != ECDSA.RecoverError.NoError || signer != worker) revert NotSignedByWorker(worker, msg.sender);
    }

    function _requireOperator(address worker) private view returns (Worker storage record) {
        record = _workers[worker];
        if (record.operator == address(0)) revert UnknownWorker(worker);
        if (record.operator != msg.sender) revert NotWorkerOperator(worker, msg.sender);
    }
}
