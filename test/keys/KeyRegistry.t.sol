// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {GatekeeperQuorumVerifier} from "../../contracts/workers/GatekeeperQuorumVerifier.sol";
import {KeyRegistry} from "../../contracts/keys/KeyRegistry.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {IKeyRegistry} from "../../contracts/interfaces/IKeyRegistry.sol";
import {IGatekeeperQuorumVerifier} from "../../contracts/workers/IGatekeeperQuorumVerifier.sol";

contract KeyRegistryTest is Test {
    uint256 internal constant GATEKEEPERS = 3;
    uint256 internal constant THRESHOLD = 2;
    uint64 internal constant DELAY = 1 hours;
    uint64 internal constant GRACE = 6 hours;
    uint256 internal constant START = 1_700_000_000;

    GatekeeperQuorumVerifier internal quorum;
    KeyRegistry internal registry;
    address internal owner = address(0xA11CE);
    uint256[] internal keys;
    address[] internal signers;

    function setUp() public {
        vm.warp(START);
        for (uint256 i = 0; i < GATEKEEPERS; ++i) {
            keys.push(uint256(keccak256(abi.encode("gatekeeper", i))));
        }
        for (uint256 i = 1; i < keys.length; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(keys[j - 1]) > vm.addr(keys[j]); --j) {
                (keys[j - 1], keys[j]) = (keys[j], keys[j - 1]);
            }
        }
        for (uint256 i = 0; i < keys.length; ++i) signers.push(vm.addr(keys[i]));
        quorum = new GatekeeperQuorumVerifier(owner, signers, THRESHOLD, 30 days);
        registry = new KeyRegistry(owner, quorum, DELAY, GRACE);
    }

    // ------------------------------------------------------------ helpers

    function _key(uint32 epoch) internal pure returns (bytes memory) {
        return abi.encodePacked(bytes1(epoch % 2 == 0 ? 0x02 : 0x03), keccak256(abi.encode("cluster", epoch)));
    }

    function _sigs(KeyRegistry target, uint32 epoch, bytes memory publicKey, uint256 count)
        internal
        view
        returns (bytes[] memory sigs)
    {
        bytes32 digest = target.rotationDigest(epoch, publicKey, _deadline());
        sigs = new bytes[](count);
        for (uint256 i = 0; i < count; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    /// @dev Signatures made now expire an hour from now.
    function _deadline() internal view returns (uint64) {
        return uint64(block.timestamp) + 1 hours;
    }

    /// @dev Submitted by a gatekeeper (one whose signature is not among the first THRESHOLD), as the coordinator does.
    function _submit(KeyRegistry target, uint32 epoch, bytes memory publicKey, bytes[] memory sigs) internal returns (uint64) {
        vm.prank(signers[GATEKEEPERS - 1]);
        return target.proposeRotation(epoch, publicKey, _deadline(), sigs);
    }

    function _propose(uint32 epoch) internal returns (uint64) {
        bytes memory pk = _key(epoch);
        return _submit(registry, epoch, pk, _sigs(registry, epoch, pk, THRESHOLD));
    }

    function _rotateTo(uint32 epoch) internal returns (uint64 activatesAt) {
        activatesAt = _propose(epoch);
        vm.warp(activatesAt);
    }

    // ------------------------------------------------------------ proposal and activation

    function test_initiallyNoEpoch() public view {
        assertEq(registry.currentEpoch(), 0, "no epoch");
        assertFalse(registry.isEpochUsable(0), "epoch 0 never usable");
        assertFalse(registry.isEpochUsable(1), "unknown epoch");
    }

    function test_proposeThenActivateAfterDelay() public {
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        vm.expectEmit(address(registry));
        emit IKeyRegistry.RotationProposed(1, pk, uint64(START) + DELAY);
        uint64 activatesAt = _submit(registry, 1, pk, sigs);
        assertEq(activatesAt, START + DELAY, "activation time");
        (uint32 pending, bytes memory pendingKey, uint64 pendingAt) = registry.pendingRotation();
        assertEq(pending, 1, "pending epoch");
        assertEq(pendingKey, pk, "pending key");
        assertEq(pendingAt, activatesAt, "pending time");
        assertEq(registry.publicKeyOf(1), pk, "key readable while pending");
        assertEq(registry.currentEpoch(), 0, "not active yet");
        assertFalse(registry.isEpochUsable(1), "pending not usable");

        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.RotationNotReady.selector, 1, activatesAt));
        registry.activateRotation();

        vm.warp(activatesAt);
        // Active by itself, before anyone records it.
        assertEq(registry.currentEpoch(), 1, "active at activatesAt");
        assertTrue(registry.isEpochUsable(1), "usable");
        (pending,,) = registry.pendingRotation();
        assertEq(pending, 0, "nothing pending");

        vm.expectEmit(address(registry));
        emit IKeyRegistry.RotationActivated(1, 0, activatesAt);
        registry.activateRotation();
        assertEq(registry.currentEpoch(), 1, "still active");
        vm.expectRevert(IKeyRegistry.NoPendingRotation.selector);
        registry.activateRotation();
    }

    function test_oneRotationAtATime() public {
        _propose(1);
        bytes memory pk = _key(2);
        bytes[] memory sigs = _sigs(registry, 2, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.RotationAlreadyPending.selector, 1));
        _submit(registry, 2, pk, sigs);
        // Once the pending one has matured the next may be proposed (and the matured one is recorded).
        vm.warp(block.timestamp + DELAY);
        sigs = _sigs(registry, 2, pk, THRESHOLD);
        vm.expectEmit(address(registry));
        emit IKeyRegistry.RotationActivated(1, 0, uint64(START) + DELAY);
        _submit(registry, 2, pk, sigs);
    }

    function test_epochsAreConsecutive() public {
        bytes memory pk = _key(2);
        bytes[] memory sigs = _sigs(registry, 2, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.UnexpectedEpoch.selector, 2, 1));
        _submit(registry, 2, pk, sigs);
        _rotateTo(1);
        // Replaying the signatures of epoch 1 is impossible: 1 is no longer next.
        pk = _key(1);
        sigs = _sigs(registry, 1, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.UnexpectedEpoch.selector, 1, 2));
        _submit(registry, 1, pk, sigs);
    }

    function test_rejectsMalformedPublicKey() public {
        bytes memory shortKey = abi.encodePacked(bytes1(0x02), bytes31(keccak256("x")));
        bytes[] memory sigs = _sigs(registry, 1, shortKey, THRESHOLD);
        vm.expectRevert(IKeyRegistry.InvalidPublicKey.selector);
        _submit(registry, 1, shortKey, sigs);
        bytes memory uncompressedPrefix = abi.encodePacked(bytes1(0x04), keccak256("x"));
        sigs = _sigs(registry, 1, uncompressedPrefix, THRESHOLD);
        vm.expectRevert(IKeyRegistry.InvalidPublicKey.selector);
        _submit(registry, 1, uncompressedPrefix, sigs);
    }

    function test_rejectsBelowQuorum() public {
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.TooFewSignatures.selector, THRESHOLD - 1, THRESHOLD)
        );
        _submit(registry, 1, pk, sigs);
    }

    function test_rejectsSignaturesForAnotherKey() public {
        bytes[] memory sigs = _sigs(registry, 1, _key(1), THRESHOLD);
        bytes memory otherKey = _key(3);
        vm.expectRevert();
        _submit(registry, 1, otherKey, sigs);
    }

    function test_rejectsSignaturesForAnotherRegistry() public {
        KeyRegistry other = new KeyRegistry(owner, quorum, DELAY, GRACE);
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(other, 1, pk, THRESHOLD);
        vm.expectRevert();
        _submit(registry, 1, pk, sigs);
        _submit(other, 1, pk, sigs);
    }

    function test_rejectsSignaturesFromAnotherChain() public {
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        vm.chainId(block.chainid + 1);
        vm.expectRevert();
        _submit(registry, 1, pk, sigs);
    }

    function test_removedGatekeeperCannotRotate() public {
        vm.prank(owner);
        quorum.removeGatekeeper(signers[0]);
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.NotGatekeeper.selector, signers[0]));
        _submit(registry, 1, pk, sigs);
    }

    // ------------------------------------------------------------ who may rotate, and when

    function test_attack_outsiderWithValidSignaturesCannotRotate() public {
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        address outsider = address(0xBAD);
        uint64 deadline = _deadline();
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.NotRotationProposer.selector, outsider));
        registry.proposeRotation(1, pk, deadline, sigs);
        assertEq(registry.lastProposedEpoch(), 0, "nothing proposed");
        // Governance may submit the same quorum (e.g. an emergency rotation).
        vm.prank(owner);
        registry.proposeRotation(1, pk, deadline, sigs);
        assertEq(registry.lastProposedEpoch(), 1, "owner proposed");
    }

    function test_attack_oldSignaturesExpire() public {
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        uint64 deadline = _deadline();
        vm.warp(deadline + 1);
        vm.prank(signers[0]);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.RotationSignatureExpired.selector, deadline));
        registry.proposeRotation(1, pk, deadline, sigs);
        // The deadline is signed: moving it invalidates the quorum.
        uint64 moved = uint64(block.timestamp) + 1 hours;
        vm.prank(signers[0]);
        vm.expectRevert();
        registry.proposeRotation(1, pk, moved, sigs);
    }

    function test_signatureValidityIsBounded() public {
        bytes memory pk = _key(1);
        uint64 far = uint64(block.timestamp) + registry.MAX_SIGNATURE_VALIDITY() + 1;
        bytes32 digest = registry.rotationDigest(1, pk, far);
        bytes[] memory sigs = new bytes[](THRESHOLD);
        for (uint256 i = 0; i < THRESHOLD; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
        vm.prank(signers[0]);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.RotationDeadlineTooFar.selector, far, far - 1));
        registry.proposeRotation(1, pk, far, sigs);
    }

    function test_minRotationIntervalIsEnforced() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.setMinRotationInterval(1 days);
        vm.startPrank(owner);
        uint64 tooLong = registry.MAX_ROTATION_INTERVAL() + 1;
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.DelayTooLong.selector, tooLong, tooLong - 1));
        registry.setMinRotationInterval(tooLong);
        vm.expectEmit(address(registry));
        emit IKeyRegistry.MinRotationIntervalChanged(0, 7 days);
        registry.setMinRotationInterval(7 days);
        vm.stopPrank();
        // The first epoch has nothing to wait for.
        uint64 activated = _rotateTo(1);
        vm.warp(GRACE + activated);
        bytes memory pk = _key(2);
        bytes[] memory sigs = _sigs(registry, 2, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.RotationTooSoon.selector, activated + 7 days));
        _submit(registry, 2, pk, sigs);
        vm.warp(activated + 7 days);
        _propose(2);
        assertEq(registry.lastProposedEpoch(), 2, "on schedule");
    }

    function test_compactSignaturesAreRefusedAsDocumented() public {
        bytes memory pk = _key(1);
        bytes32 digest = registry.rotationDigest(1, pk, _deadline());
        bytes[] memory sigs = new bytes[](THRESHOLD);
        for (uint256 i = 0; i < THRESHOLD; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            // EIP-2098: yParity folded into the top bit of s.
            sigs[i] = abi.encodePacked(r, bytes32(uint256(s) | (uint256(v - 27) << 255)));
        }
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidSignature.selector, 0));
        _submit(registry, 1, pk, sigs);
    }

    // ------------------------------------------------------------ grace window

    function test_previousEpochUsableDuringGraceOnly() public {
        _rotateTo(1);
        uint64 activates2 = _rotateTo(2);
        assertEq(registry.currentEpoch(), 2, "current");
        assertEq(registry.previousEpoch(), 1, "previous");
        assertEq(registry.previousEpochGraceEndsAt(), activates2 + GRACE, "grace end");
        assertTrue(registry.isEpochUsable(2), "current usable");
        assertTrue(registry.isEpochUsable(1), "previous usable in grace");
        vm.warp(activates2 + GRACE - 1);
        assertTrue(registry.isEpochUsable(1), "last second of grace");
        vm.warp(activates2 + GRACE);
        assertFalse(registry.isEpochUsable(1), "grace over");
        assertTrue(registry.isEpochUsable(2), "current still usable");
    }

    function test_rotationWaitsForRetiredEpochGrace() public {
        _rotateTo(1);
        uint64 activates2 = _rotateTo(2);
        // Epoch 3 would retire epoch 1 while it is in grace: its activation is pushed to the grace end.
        uint64 activates3 = _propose(3);
        assertEq(activates3, activates2 + GRACE, "pushed to grace end");
        vm.warp(activates3 - 1);
        assertTrue(registry.isEpochUsable(1), "epoch 1 keeps its full grace");
        assertEq(registry.currentEpoch(), 2, "3 not yet active");
        vm.warp(activates3);
        assertEq(registry.currentEpoch(), 3, "3 active");
        assertFalse(registry.isEpochUsable(1), "epoch 1 retired");
        assertTrue(registry.isEpochUsable(2), "epoch 2 in grace");
    }

    function test_gracePeriodChangeAppliesToCurrentWindow() public {
        _rotateTo(1);
        uint64 activates2 = _rotateTo(2);
        vm.prank(owner);
        registry.setGracePeriod(1 hours);
        vm.warp(activates2 + 1 hours);
        assertFalse(registry.isEpochUsable(1), "shortened grace over");
    }

    // ------------------------------------------------------------ governance

    function test_cancelBurnsEpoch() public {
        _propose(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.cancelRotation();
        vm.expectEmit(address(registry));
        emit IKeyRegistry.RotationCancelled(1);
        vm.prank(owner);
        registry.cancelRotation();
        vm.warp(block.timestamp + DELAY);
        assertEq(registry.currentEpoch(), 0, "cancelled never activates");
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.UnknownEpoch.selector, 1));
        registry.publicKeyOf(1);
        bytes memory pk = _key(1);
        bytes[] memory sigs = _sigs(registry, 1, pk, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.UnexpectedEpoch.selector, 1, 2));
        _submit(registry, 1, pk, sigs);
        _rotateTo(2);
        assertEq(registry.currentEpoch(), 2, "next epoch works");
    }

    function test_cannotCancelMaturedRotation() public {
        _rotateTo(1);
        vm.prank(owner);
        vm.expectRevert(IKeyRegistry.NoPendingRotation.selector);
        registry.cancelRotation();
        assertEq(registry.currentEpoch(), 1, "still active");
    }

    function test_parameterBoundsAndAccess() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.setActivationDelay(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.setGracePeriod(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.setGatekeeperQuorum(quorum);
        vm.startPrank(owner);
        uint64 tooLong = registry.MAX_ACTIVATION_DELAY() + 1;
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.DelayTooLong.selector, tooLong, tooLong - 1));
        registry.setActivationDelay(tooLong);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.DelayTooLong.selector, tooLong, tooLong - 1));
        registry.setGracePeriod(tooLong);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        registry.setGatekeeperQuorum(GatekeeperQuorumVerifier(address(0)));
        vm.expectEmit(address(registry));
        emit IKeyRegistry.ActivationDelayChanged(DELAY, 0);
        registry.setActivationDelay(0);
        vm.stopPrank();
        _propose(1);
        assertEq(registry.currentEpoch(), 1, "zero delay activates at once");
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Over a sequence of rotations at random times: the current epoch is always usable, at most
    /// two epochs are usable, and the previous one exactly until its grace end.
    function testFuzz_usabilityTransitions(uint32[6] memory gaps) public {
        uint32 proposed;
        for (uint256 step = 0; step < gaps.length; ++step) {
            vm.warp(block.timestamp + bound(gaps[step], 0, 2 * GRACE));
            (uint32 pending,,) = registry.pendingRotation();
            if (pending == 0) {
                ++proposed;
                _propose(proposed);
            }
            uint32 current = registry.currentEpoch();
            uint256 usable;
            for (uint32 e = 1; e <= proposed; ++e) {
                if (registry.isEpochUsable(e)) ++usable;
            }
            assertLe(usable, 2, "at most two usable epochs");
            if (current != 0) {
                assertTrue(registry.isEpochUsable(current), "current usable");
                uint32 previous = registry.previousEpoch();
                if (previous != 0) {
                    bool inGrace = block.timestamp < registry.previousEpochGraceEndsAt();
                    assertEq(registry.isEpochUsable(previous), inGrace, "previous usable iff in grace");
                    assertEq(
                        registry.previousEpochGraceEndsAt(),
                        registry.activationTimeOf(current) + GRACE,
                        "grace measured from activation"
                    );
                }
            }
        }
    }
}
