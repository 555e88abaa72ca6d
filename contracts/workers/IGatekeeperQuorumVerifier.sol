// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IGatekeeperQuorumVerifier
/// @notice Events and errors of GatekeeperQuorumVerifier.
interface IGatekeeperQuorumVerifier is ICommonErrors {
    /// @notice A gatekeeper joined the set.
    event GatekeeperAdded(address indexed gatekeeper);
    /// @notice A gatekeeper left the set; its signatures no longer count.
    event GatekeeperRemoved(address indexed gatekeeper);
    /// @notice The number of required signatures changed.
    event ThresholdChanged(uint256 previousThreshold, uint256 newThreshold);
    /// @notice A TCB status code was allowed or disallowed.
    event TcbStatusPolicyChanged(uint8 indexed tcbStatus, bool allowed);
    /// @notice The longest accepted attestation validity changed.
    event MaxValidityChanged(uint64 previousMaxValidity, uint64 newMaxValidity);

    error GatekeeperAlreadyAdded(address gatekeeper);
    error TooManyGatekeepers(uint256 limit);
    error UnknownGatekeeper(address gatekeeper);
    /// @notice Threshold must be in [1, number of gatekeepers].
    error InvalidThreshold(uint256 threshold, uint256 gatekeeperCount);
    error TooFewSignatures(uint256 given, uint256 threshold);
    error InvalidSignature(uint256 index);
    error NotGatekeeper(address signer);
    /// @notice Signers must be strictly ascending; an equal address is a duplicate signer.
    error SignersNotStrictlyAscending(address previous, address signer);
    error InvalidTcbStatus(uint8 tcbStatus);
    error TcbStatusNotAllowed(uint8 tcbStatus);
    error AttestationExpired(uint64 expiresAt, uint256 nowTimestamp);
    error ValidityTooLong(uint64 expiresAt, uint256 latestAllowed);
    error InvalidMaxValidity(uint64 maxValidity);
}
