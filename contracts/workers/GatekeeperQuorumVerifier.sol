// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IAttestationVerifier} from "../interfaces/IAttestationVerifier.sol";
import {IGatekeeperQuorum} from "../keys/IGatekeeperQuorum.sol";
import {IGatekeeperQuorumVerifier} from "./IGatekeeperQuorumVerifier.sol";

/// @title GatekeeperQuorumVerifier
/// @notice Accepts a worker registration when M of N gatekeepers sign (EIP-712) that they verified
/// the worker's Intel DCAP quote off-chain and saw its report data, measurement and TCB status.
/// @dev Evidence = abi.encode(bytes32 measurement, uint8 tcbStatus, uint64 expiresAt, bytes[] signatures).
/// The signed `reportData` binds the enclave key, chain id and WorkerRegistry; the EIP-712 domain binds
/// chain id and this verifier, so signatures replay neither across chains nor across registries/verifiers.
/// TCB status codes (also in attestation/tcb.ts): 0 UpToDate, 1 SWHardeningNeeded, 2 ConfigurationNeeded,
/// 3 ConfigurationAndSWHardeningNeeded, 4 OutOfDate, 5 OutOfDateConfigurationNeeded, 6 Revoked, 7 Unknown.
contract GatekeeperQuorumVerifier is IAttestationVerifier, IGatekeeperQuorum, IGatekeeperQuorumVerifier, EIP712, Ownable2Step {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice EIP-712 type of what each gatekeeper signs.
    bytes32 public constant WORKER_ATTESTATION_TYPEHASH =
        keccak256("WorkerAttestation(bytes32 reportData,bytes32 measurement,uint8 tcbStatus,uint64 expiresAt)");

    /// @notice Number of defined TCB status codes (0..7).
    uint8 public constant TCB_STATUS_COUNT = 8;

    /// @notice TCB status code of an up-to-date platform (allowed from deployment).
    uint8 public constant TCB_UP_TO_DATE = 0;

    /// @notice Largest gatekeeper set; bounds the signature loop and fits the packed threshold.
    uint256 public constant MAX_GATEKEEPERS = 64;

    /// @notice Upper bound governance may set for how long an attestation stays valid.
    uint64 public constant MAX_VALIDITY_LIMIT = 365 days;

    EnumerableSet.AddressSet private _gatekeepers;
    uint16 private _threshold;
    /// @dev Bit i set = TCB status code i accepted.
    uint8 private _allowedTcbStatuses;
    uint64 private _maxValidity;

    /// @param initialOwner Governance (may be a timelock).
    /// @param initialGatekeepers The gatekeepers' signing addresses.
    /// @param initialThreshold Signatures required (M).
    /// @param initialMaxValidity Longest accepted `expiresAt - block.timestamp`.
    constructor(
        address initialOwner,
        address[] memory initialGatekeepers,
        uint256 initialThreshold,
        uint64 initialMaxValidity
    )
        EIP712("GatekeeperQuorumVerifier", "1")
        Ownable(initialOwner)
    {
        for (uint256 i = 0; i < initialGatekeepers.length; ++i) {
            _addGatekeeper(initialGatekeepers[i]);
        }
        _setThreshold(initialThreshold);
        _setMaxValidity(initialMaxValidity);
        _setTcbStatusAllowed(TCB_UP_TO_DATE, true);
    }

    // ---------------------------------------------------------------- attestation

    /// @inheritdoc IAttestationVerifier
    function verifyAttestation(bytes32 reportData, bytes calldata evidence)
        external
        view
        returns (bytes32 measurement, uint64 expiresAt)
    {
        uint8 tcbStatus;
        bytes[] memory signatures;
        (measurement, tcbStatus, expiresAt, signatures) = abi.decode(evidence, (bytes32, uint8, uint64, bytes[]));
        if (measurement == bytes32(0)) revert ZeroMeasurement();
        if (tcbStatus >= TCB_STATUS_COUNT) revert InvalidTcbStatus(tcbStatus);
        if (!isTcbStatusAllowed(tcbStatus)) revert TcbStatusNotAllowed(tcbStatus);
        if (expiresAt <= block.timestamp) revert AttestationExpired(expiresAt, block.timestamp);
        uint256 latest = block.timestamp + _maxValidity;
        if (expiresAt > latest) revert ValidityTooLong(expiresAt, latest);
        _checkQuorum(attestationDigest(reportData, measurement, tcbStatus, expiresAt), signatures);
    }

    /// @inheritdoc IAttestationVerifier
    function isSimulated() external pure returns (bool) {
        return false;
    }

    /// @notice The EIP-712 digest a gatekeeper signs for a worker attestation.
    /// @param reportData The report data of the worker's quote.
    /// @param measurement The measurement the quote attests.
    /// @param tcbStatus The quote's TCB status code.
    /// @param expiresAt When the attestation expires.
    /// @return The digest.
    function attestationDigest(bytes32 reportData, bytes32 measurement, uint8 tcbStatus, uint64 expiresAt)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(WORKER_ATTESTATION_TYPEHASH, reportData, measurement, tcbStatus, expiresAt))
        );
    }

    // ---------------------------------------------------------------- quorum

    /// @inheritdoc IGatekeeperQuorum
    function checkQuorum(bytes32 digest, bytes[] calldata signatures) external view {
        _checkQuorum(digest, signatures);
    }

    /// @inheritdoc IGatekeeperQuorum
    function isGatekeeper(address account) public view returns (bool) {
        return _gatekeepers.contains(account);
    }

    /// @inheritdoc IGatekeeperQuorum
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice All current gatekeepers.
    /// @return The gatekeeper addresses.
    function gatekeepers() external view returns (address[] memory) {
        return _gatekeepers.values();
    }

    /// @notice True when attestations with TCB status code `tcbStatus` are accepted.
    /// @param tcbStatus A TCB status code.
    /// @return Whether it is accepted.
    function isTcbStatusAllowed(uint8 tcbStatus) public view returns (bool) {
        return tcbStatus < TCB_STATUS_COUNT && (_allowedTcbStatuses >> tcbStatus) & 1 == 1;
    }

    /// @notice Longest accepted attestation validity, in seconds.
    /// @return Seconds.
    function maxValidity() external view returns (uint64) {
        return _maxValidity;
    }

    // ---------------------------------------------------------------- governance

    /// @notice Adds a gatekeeper. Does not change the threshold.
    /// @param gatekeeper The new gatekeeper.
    function addGatekeeper(address gatekeeper) external onlyOwner {
        _addGatekeeper(gatekeeper);
    }

    /// @notice Removes a gatekeeper; its signatures stop counting at once. Lower the threshold first if
    /// the set would become smaller than it.
    /// @param gatekeeper A current gatekeeper.
    function removeGatekeeper(address gatekeeper) external onlyOwner {
        if (!_gatekeepers.remove(gatekeeper)) revert UnknownGatekeeper(gatekeeper);
        if (_gatekeepers.length() < _threshold) revert InvalidThreshold(_threshold, _gatekeepers.length());
        emit GatekeeperRemoved(gatekeeper);
    }

    /// @notice Sets the number of signatures required (1..number of gatekeepers).
    /// @param newThreshold Signatures required.
    function setThreshold(uint256 newThreshold) external onlyOwner {
        _setThreshold(newThreshold);
    }

    /// @notice Allows or disallows a TCB status code.
    /// @param tcbStatus A TCB status code.
    /// @param allowed True to accept it.
    function setTcbStatusAllowed(uint8 tcbStatus, bool allowed) external onlyOwner {
        _setTcbStatusAllowed(tcbStatus, allowed);
    }

    /// @notice Sets the longest accepted attestation validity (1 second .. MAX_VALIDITY_LIMIT).
    /// @param newMaxValidity Seconds.
    function setMaxValidity(uint64 newMaxValidity) external onlyOwner {
        _setMaxValidity(newMaxValidity);
    }

    // ---------------------------------------------------------------- internals

    function _checkQuorum(bytes32 digest, bytes[] memory signatures) private view {
        uint256 required = _threshold;
        if (signatures.length < required) revert TooFewSignatures(signatures.length, required);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            // Membership first: a signature over another domain recovers to a random address and must
            // read as "not a gatekeeper", not as an ordering problem.
            if (!_gatekeepers.contains(signer)) revert NotGatekeeper(signer);
            if (signer <= previous) revert SignersNotStrictlyAscending(previous, signer);
            previous = signer;
        }
    }

    function _addGatekeeper(address gatekeeper) private {
        if (gatekeeper == address(0)) revert ZeroAddress();
        if (_gatekeepers.length() >= MAX_GATEKEEPERS) revert TooManyGatekeepers(MAX_GATEKEEPERS);
        if (!_gatekeepers.add(gatekeeper)) revert GatekeeperAlreadyAdded(gatekeeper);
        emit GatekeeperAdded(gatekeeper);
    }

    function _setThreshold(uint256 newThreshold) private {
        uint256 count = _gatekeepers.length();
        if (newThreshold == 0 || newThreshold > count) revert InvalidThreshold(newThreshold, count);
        emit ThresholdChanged(_threshold, newThreshold);
        // Bounded by MAX_GATEKEEPERS, so it fits.
        _threshold = uint16(newThreshold);
    }

    function _setTcbStatusAllowed(uint8 tcbStatus, bool allowed) private {
        if (tcbStatus >= TCB_STATUS_COUNT) revert InvalidTcbStatus(tcbStatus);
        uint8 bit = uint8(1) << tcbStatus;
        _allowedTcbStatuses = allowed ? _allowedTcbStatuses | bit : _allowedTcbStatuses & ~bit;
        emit TcbStatusPolicyChanged(tcbStatus, allowed);
    }

    function _setMaxValidity(uint64 newMaxValidity) private {
        if (newMaxValidity == 0 || newMaxValidity > MAX_VALIDITY_LIMIT) revert InvalidMaxValidity(newMaxValidity);
        emit MaxValidityChanged(_maxValidity, newMaxValidity);
        _maxValidity = newMaxValidity;
    }
}
