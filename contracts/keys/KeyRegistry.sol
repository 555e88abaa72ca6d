// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {IGatekeeperQuorum} from "./IGatekeeperQuorum.sol";

/// @title KeyRegistry
/// @notice The cluster public key of each epoch. Consumers encrypt inputs and agent owners encrypt
/// secrets to the active epoch's key; attested workers hold the private keys (provisioned by gatekeepers).
/// @dev Rotation: a current gatekeeper (or governance) submits `proposeRotation` with an M-of-N
/// gatekeeper quorum over EIP-712 `KeyRotation(uint32 epoch,bytes publicKey,uint64 deadline)`.
/// Signatures expire at `deadline` (at most MAX_SIGNATURE_VALIDITY ahead), so a quorum collected
/// long ago cannot be replayed later; epochs are strictly consecutive (a cancelled epoch number is
/// burned), so each signed rotation can be used at most once; and no rotation is proposed sooner than
/// `minRotationInterval` after the current epoch activated (governance's schedule; 0 disables it,
/// e.g. for an emergency rotation after a key compromise). One rotation is pending
/// at a time; it becomes active by itself at `activatesAt` (views read it as active at once;
/// `activateRotation` only records it). The previous epoch stays usable for `gracePeriod` after the
/// next activation, and a rotation never activates before the epoch it retires has had its full grace
/// window, so at most two epochs are usable at any time and none is cut short.
contract KeyRegistry is IKeyRegistry, EIP712, Ownable2Step {
    /// @notice EIP-712 type of what each gatekeeper signs for a rotation.
    bytes32 public constant KEY_ROTATION_TYPEHASH = keccak256("KeyRotation(uint32 epoch,bytes publicKey,uint64 deadline)");

    /// @notice Longest a rotation signature may stay valid (its deadline counted from submission).
    uint64 public constant MAX_SIGNATURE_VALIDITY = 1 days;

    /// @notice Cluster keys are compressed secp256k1 points.
    uint256 public constant PUBLIC_KEY_LENGTH = 33;
    bytes1 private constant COMPRESSED_EVEN = 0x02;
    bytes1 private constant COMPRESSED_ODD = 0x03;

    /// @notice Upper bounds for the governance parameters.
    uint64 public constant MAX_ACTIVATION_DELAY = 30 days;
    uint64 public constant MAX_GRACE_PERIOD = 30 days;
    uint64 public constant MAX_ROTATION_INTERVAL = 365 days;

    struct EpochKey {
        uint64 activatesAt;
        bytes publicKey;
    }

    IGatekeeperQuorum private _gatekeepers;
    mapping(uint32 epoch => EpochKey) private _epochs;

    // One slot: recorded epochs (pending may already have matured; views account for it) and parameters.
    uint32 private _current;
    uint32 private _previous;
    uint32 private _pending;
    uint32 private _lastProposed;
    uint64 private _activationDelay;
    uint64 private _gracePeriod;
    uint64 private _minRotationInterval;

    /// @param initialOwner Governance (may be a timelock).
    /// @param initialGatekeeperQuorum The gatekeeper set whose quorum signs rotations (GatekeeperQuorumVerifier).
    /// @param initialActivationDelay Seconds between a proposal and its activation.
    /// @param initialGracePeriod Seconds the previous epoch stays usable after the next one activates.
    constructor(
        address initialOwner,
        IGatekeeperQuorum initialGatekeeperQuorum,
        uint64 initialActivationDelay,
        uint64 initialGracePeriod
    )
        EIP712("KeyRegistry", "1")
        Ownable(initialOwner)
    {
        _setGatekeeperQuorum(initialGatekeeperQuorum);
        _setActivationDelay(initialActivationDelay);
        _setGracePeriod(initialGracePeriod);
    }

    // ---------------------------------------------------------------- rotation

    /// @notice Proposes the cluster key of `epoch` with a gatekeeper quorum's signatures.
    /// @dev Only a current gatekeeper or the owner: an outsider holding leaked or collected
    /// signatures cannot choose when a rotation happens.
    /// @param epoch Must be the epoch after the last proposed one.
    /// @param publicKey 33-byte compressed secp256k1 public key.
    /// @param deadline Signed expiry of the signatures (unix seconds), at most MAX_SIGNATURE_VALIDITY ahead.
    /// @param signatures Gatekeeper signatures over KeyRotation(epoch, publicKey, deadline), sorted by signer.
    /// @return activatesAt When the new epoch becomes active.
    function proposeRotation(uint32 epoch, bytes calldata publicKey, uint64 deadline, bytes[] calldata signatures)
        external
        returns (uint64 activatesAt)
    {
        if (msg.sender != owner() && !_gatekeepers.isGatekeeper(msg.sender)) revert NotRotationProposer(msg.sender);
        if (block.timestamp > deadline) revert RotationSignatureExpired(deadline);
        uint64 latestAllowed = uint64(block.timestamp) + MAX_SIGNATURE_VALIDITY;
        if (deadline > latestAllowed) revert RotationDeadlineTooFar(deadline, latestAllowed);
        _recordMaturedRotation();
        if (_pending != 0) revert RotationAlreadyPending(_pending);
        if (_current != 0) {
            uint64 earliest = _epochs[_current].activatesAt + _minRotationInterval;
            if (block.timestamp < earliest) revert RotationTooSoon(earliest);
        }
        uint32 expected = _lastProposed + 1;
        if (epoch != expected) revert UnexpectedEpoch(epoch, expected);
        if (
            publicKey.length != PUBLIC_KEY_LENGTH
                || (publicKey[0] != COMPRESSED_EVEN && publicKey[0] != COMPRESSED_ODD)
        ) revert InvalidPublicKey();
        _gatekeepers.checkQuorum(rotationDigest(epoch, publicKey, deadline), signatures);

        activatesAt = uint64(block.timestamp) + _activationDelay;
        // The current epoch's predecessor is retired by this rotation: let it finish its grace window.
        if (_previous != 0) {
            uint64 predecessorGraceEnd = _epochs[_current].activatesAt + _gracePeriod;
            if (predecessorGraceEnd > activatesAt) activatesAt = predecessorGraceEnd;
        }
        _epochs[epoch] = EpochKey({activatesAt: activatesAt, publicKey: publicKey});
        _pending = epoch;
        _lastProposed = epoch;
        emit RotationProposed(epoch, publicKey, activatesAt);
    }

    /// @notice Records a pending rotation whose activation time has come (views already treat it as active).
    function activateRotation() external {
        uint32 pending = _pending;
        if (pending == 0) revert NoPendingRotation();
        if (!_recordMaturedRotation()) revert RotationNotReady(pending, _epochs[pending].activatesAt);
    }

    /// @notice Cancels the pending rotation before it activates. Its epoch number is burned.
    function cancelRotation() external onlyOwner {
        _recordMaturedRotation();
        uint32 pending = _pending;
        if (pending == 0) revert NoPendingRotation();
        delete _epochs[pending];
        _pending = 0;
        emit RotationCancelled(pending);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IKeyRegistry
    function isEpochUsable(uint32 epoch) external view returns (bool) {
        if (epoch == 0) return false;
        (uint32 current, uint32 previous,) = _effective();
        if (epoch == current) return true;
        return epoch == previous && block.timestamp < _graceEndOf(current);
    }

    /// @notice The active epoch (0 before the first rotation activates).
    /// @return epoch The active epoch.
    function currentEpoch() external view returns (uint32 epoch) {
        (epoch,,) = _effective();
    }

    /// @notice The epoch before the active one (0 if none); usable until `previousEpochGraceEndsAt()`.
    /// @return epoch The previous epoch.
    function previousEpoch() external view returns (uint32 epoch) {
        (, epoch,) = _effective();
    }

    /// @notice When the previous epoch stops being usable (0 if there is no previous epoch).
    /// @return Unix time.
    function previousEpochGraceEndsAt() external view returns (uint64) {
        (uint32 current, uint32 previous,) = _effective();
        return previous == 0 ? 0 : _graceEndOf(current);
    }

    /// @notice The pending rotation not yet active (epoch 0 if none).
    /// @return epoch The pending epoch (0 if none).
    /// @return publicKey Its cluster public key.
    /// @return activatesAt When it activates.
    function pendingRotation() external view returns (uint32 epoch, bytes memory publicKey, uint64 activatesAt) {
        (,, epoch) = _effective();
        if (epoch != 0) {
            EpochKey storage key = _epochs[epoch];
            (publicKey, activatesAt) = (key.publicKey, key.activatesAt);
        }
    }

    /// @notice The cluster public key of `epoch` (active, previous, pending or older).
    /// @param epoch The epoch.
    /// @return The public key (empty if never proposed).
    function publicKeyOf(uint32 epoch) external view returns (bytes memory) {
        bytes storage key = _epochs[epoch].publicKey;
        if (key.length == 0) revert UnknownEpoch(epoch);
        return key;
    }

    /// @notice When `epoch` activates or activated.
    /// @param epoch The epoch.
    /// @return Unix time.
    function activationTimeOf(uint32 epoch) external view returns (uint64) {
        EpochKey storage key = _epochs[epoch];
        if (key.publicKey.length == 0) revert UnknownEpoch(epoch);
        return key.activatesAt;
    }

    /// @notice The last epoch number proposed (including a pending or cancelled one).
    /// @return The epoch number.
    function lastProposedEpoch() external view returns (uint32) {
        return _lastProposed;
    }

    /// @notice The EIP-712 digest gatekeepers sign for a rotation.
    /// @param epoch The proposed epoch.
    /// @param publicKey The proposed cluster public key.
    /// @param deadline Last second the signatures are accepted.
    /// @return The digest.
    function rotationDigest(uint32 epoch, bytes calldata publicKey, uint64 deadline) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(KEY_ROTATION_TYPEHASH, epoch, keccak256(publicKey), deadline)));
    }

    /// @notice The gatekeeper set that signs rotations.
    /// @return The quorum contract.
    function gatekeeperQuorum() external view returns (IGatekeeperQuorum) {
        return _gatekeepers;
    }

    /// @notice Seconds between a proposal and its activation (at least; see the grace-window rule).
    /// @return Seconds.
    function activationDelay() external view returns (uint64) {
        return _activationDelay;
    }

    /// @notice Seconds the previous epoch stays usable after the next one activates.
    /// @return Seconds.
    function gracePeriod() external view returns (uint64) {
        return _gracePeriod;
    }

    /// @notice Shortest time between the current epoch's activation and the next proposal.
    /// @return Seconds.
    function minRotationInterval() external view returns (uint64) {
        return _minRotationInterval;
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the delay between a proposal and its activation (applies to later proposals).
    /// @param newDelay Seconds.
    function setActivationDelay(uint64 newDelay) external onlyOwner {
        _setActivationDelay(newDelay);
    }

    /// @notice Sets how long the previous epoch stays usable after a rotation (applies at once).
    /// @param newGracePeriod Seconds.
    function setGracePeriod(uint64 newGracePeriod) external onlyOwner {
        _setGracePeriod(newGracePeriod);
    }

    /// @notice Sets the shortest time between an activation and the next proposal (0: no schedule).
    /// @param newInterval Seconds.
    function setMinRotationInterval(uint64 newInterval) external onlyOwner {
        if (newInterval > MAX_ROTATION_INTERVAL) revert DelayTooLong(newInterval, MAX_ROTATION_INTERVAL);
        emit MinRotationIntervalChanged(_minRotationInterval, newInterval);
        _minRotationInterval = newInterval;
    }

    /// @notice Points rotations at another gatekeeper set.
    /// @param newQuorum The new gatekeeper set.
    function setGatekeeperQuorum(IGatekeeperQuorum newQuorum) external onlyOwner {
        _setGatekeeperQuorum(newQuorum);
    }

    // ---------------------------------------------------------------- internals

    /// @dev (current, previous, pending) with a matured pending rotation counted as active.
    function _effective() private view returns (uint32 current, uint32 previous, uint32 pending) {
        (current, previous, pending) = (_current, _previous, _pending);
        if (pending != 0 && block.timestamp >= _epochs[pending].activatesAt) {
            (current, previous, pending) = (pending, current, 0);
        }
    }

    function _graceEndOf(uint32 current) private view returns (uint64) {
        return _epochs[current].activatesAt + _gracePeriod;
    }

    function _recordMaturedRotation() private returns (bool recorded) {
        uint32 pending = _pending;
        if (pending == 0) return false;
        uint64 activatesAt = _epochs[pending].activatesAt;
        if (block.timestamp < activatesAt) return false;
        uint32 previous = _current;
        (_previous, _current, _pending) = (previous, pending, 0);
        emit RotationActivated(pending, previous, activatesAt);
        return true;
    }

    function _setActivationDelay(uint64 newDelay) private {
        if (newDelay > MAX_ACTIVATION_DELAY) revert DelayTooLong(newDelay, MAX_ACTIVATION_DELAY);
        emit ActivationDelayChanged(_activationDelay, newDelay);
        _activationDelay = newDelay;
    }

    function _setGracePeriod(uint64 newGracePeriod) private {
        if (newGracePeriod > MAX_GRACE_PERIOD) revert DelayTooLong(newGracePeriod, MAX_GRACE_PERIOD);
        emit GracePeriodChanged(_gracePeriod, newGracePeriod);
        _gracePeriod = newGracePeriod;
    }

    function _setGatekeeperQuorum(IGatekeeperQuorum newQuorum) private {
        if (address(newQuorum) == address(0)) revert ZeroAddress();
        emit GatekeeperQuorumChanged(address(_gatekeepers), address(newQuorum));
        _gatekeepers = newQuorum;
    }
}
