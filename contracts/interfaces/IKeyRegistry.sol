// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IKeyRegistry
/// @notice What the router needs from the gatekeepers' key registry: whether inputs encrypted to a
/// cluster-key epoch may still be submitted.
interface IKeyRegistry is ICommonErrors {
    /// @notice A gatekeeper-signed rotation to `epoch` was accepted; it activates at `activatesAt`.
    event RotationProposed(uint32 indexed epoch, bytes publicKey, uint64 activatesAt);
    /// @notice `epoch` became the active epoch (recorded lazily, at or after `activatesAt`).
    event RotationActivated(uint32 indexed epoch, uint32 indexed previousEpoch, uint64 activatedAt);
    /// @notice Governance cancelled the pending rotation; its epoch number is never reused.
    event RotationCancelled(uint32 indexed epoch);
    /// @notice Governance changed the activation delay.
    event ActivationDelayChanged(uint64 previousDelay, uint64 newDelay);
    /// @notice Governance changed the grace period.
    event GracePeriodChanged(uint64 previousGracePeriod, uint64 newGracePeriod);
    /// @notice Governance changed the shortest time between an activation and the next proposal.
    event MinRotationIntervalChanged(uint64 previousInterval, uint64 newInterval);
    /// @notice Governance pointed rotations at another gatekeeper set.
    event GatekeeperQuorumChanged(address indexed previousQuorum, address indexed newQuorum);

    error RotationAlreadyPending(uint32 pendingEpoch);
    error NoPendingRotation();
    error RotationNotReady(uint32 epoch, uint64 activatesAt);
    /// @notice Epochs must be proposed consecutively.
    error UnexpectedEpoch(uint32 epoch, uint32 expected);
    error InvalidPublicKey();
    error UnknownEpoch(uint32 epoch);
    error DelayTooLong(uint64 value, uint64 limit);
    /// @notice Only a current gatekeeper or governance may submit a rotation.
    error NotRotationProposer(address caller);
    /// @notice The gatekeepers' signatures expired at `deadline`.
    error RotationSignatureExpired(uint64 deadline);
    /// @notice A deadline further than MAX_SIGNATURE_VALIDITY ahead would make the signatures long-lived.
    error RotationDeadlineTooFar(uint64 deadline, uint64 latestAllowed);
    /// @notice The current epoch is younger than `minRotationInterval`.
    error RotationTooSoon(uint64 earliest);

    /// @notice True when `epoch` is the active epoch or a previous one still inside its grace window.
    /// @param epoch A cluster-key epoch.
    /// @return Whether inputs may still be encrypted to it.
    function isEpochUsable(uint32 epoch) external view returns (bool);
}
