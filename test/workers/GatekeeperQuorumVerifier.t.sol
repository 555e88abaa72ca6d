// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {GatekeeperQuorumVerifier} from "../../contracts/workers/GatekeeperQuorumVerifier.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {IGatekeeperQuorumVerifier} from "../../contracts/workers/IGatekeeperQuorumVerifier.sol";

contract GatekeeperQuorumVerifierTest is Test {
    uint256 internal constant GATEKEEPERS = 4;
    uint256 internal constant THRESHOLD = 3;
    uint64 internal constant MAX_VALIDITY = 30 days;
    uint8 internal constant UP_TO_DATE = 0;
    uint8 internal constant SW_HARDENING_NEEDED = 1;
    uint8 internal constant OUT_OF_DATE = 4;
    uint256 internal constant START = 1_700_000_000;

    GatekeeperQuorumVerifier internal verifier;
    address internal owner = address(0xA11CE);
    /// @dev Sorted by address, ascending.
    uint256[] internal keys;
    address[] internal signers;

    bytes32 internal constant REPORT_DATA = keccak256("worker key + chain + registry");
    bytes32 internal constant MEASUREMENT = keccak256("runtime measurement");

    function setUp() public {
        vm.warp(START);
        uint256[] memory raw = new uint256[](GATEKEEPERS);
        for (uint256 i = 0; i < GATEKEEPERS; ++i) {
            raw[i] = uint256(keccak256(abi.encode("gatekeeper", i)));
        }
        // Insertion sort by address so signatures can be submitted in the required order.
        for (uint256 i = 1; i < raw.length; ++i) {
            uint256 k = raw[i];
            uint256 j = i;
            while (j > 0 && vm.addr(raw[j - 1]) > vm.addr(k)) {
                raw[j] = raw[j - 1];
                --j;
            }
            raw[j] = k;
        }
        for (uint256 i = 0; i < raw.length; ++i) {
            keys.push(raw[i]);
            signers.push(vm.addr(raw[i]));
        }
        verifier = new GatekeeperQuorumVerifier(owner, signers, THRESHOLD, MAX_VALIDITY);
    }

    // ------------------------------------------------------------ helpers

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _evidence(uint256[] memory signerIndexes, uint8 tcbStatus, uint64 expiresAt)
        internal
        view
        returns (bytes memory)
    {
        bytes32 digest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, tcbStatus, expiresAt);
        bytes[] memory sigs = new bytes[](signerIndexes.length);
        for (uint256 i = 0; i < signerIndexes.length; ++i) {
            sigs[i] = _sign(keys[signerIndexes[i]], digest);
        }
        return abi.encode(MEASUREMENT, tcbStatus, expiresAt, sigs);
    }

    function _first(uint256 n) internal pure returns (uint256[] memory idx) {
        idx = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) idx[i] = i;
    }

    function _expiry() internal view returns (uint64) {
        return uint64(block.timestamp + 1 days);
    }

    // ------------------------------------------------------------ happy path

    function test_acceptsThresholdSignatures() public view {
        uint64 expiresAt = _expiry();
        (bytes32 measurement, uint64 exp) =
            verifier.verifyAttestation(REPORT_DATA, _evidence(_first(THRESHOLD), UP_TO_DATE, expiresAt));
        assertEq(measurement, MEASUREMENT, "measurement");
        assertEq(exp, expiresAt, "expiry");
        assertFalse(verifier.isSimulated(), "not simulated");
    }

    function test_acceptsAllSignatures() public view {
        verifier.verifyAttestation(REPORT_DATA, _evidence(_first(GATEKEEPERS), UP_TO_DATE, _expiry()));
    }

    // ------------------------------------------------------------ quorum edge cases

    function test_rejectsThresholdMinusOne() public {
        bytes memory evidence = _evidence(_first(THRESHOLD - 1), UP_TO_DATE, _expiry());
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.TooFewSignatures.selector, THRESHOLD - 1, THRESHOLD)
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsDuplicateSigner() public {
        uint256[] memory idx = new uint256[](3);
        (idx[0], idx[1], idx[2]) = (0, 1, 1);
        bytes memory evidence = _evidence(idx, UP_TO_DATE, _expiry());
        vm.expectRevert(
            abi.encodeWithSelector(
                IGatekeeperQuorumVerifier.SignersNotStrictlyAscending.selector, signers[1], signers[1]
            )
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsUnsortedSigners() public {
        uint256[] memory idx = new uint256[](3);
        (idx[0], idx[1], idx[2]) = (0, 2, 1);
        bytes memory evidence = _evidence(idx, UP_TO_DATE, _expiry());
        vm.expectRevert(
            abi.encodeWithSelector(
                IGatekeeperQuorumVerifier.SignersNotStrictlyAscending.selector, signers[2], signers[1]
            )
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsNonGatekeeper() public {
        uint256 outsider = uint256(keccak256("outsider"));
        uint64 expiresAt = _expiry();
        bytes32 digest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt);
        bytes[] memory sigs = new bytes[](3);
        sigs[0] = _sign(keys[0], digest);
        sigs[1] = _sign(keys[1], digest);
        sigs[2] = _sign(outsider, digest);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.NotGatekeeper.selector, vm.addr(outsider)));
        verifier.verifyAttestation(REPORT_DATA, abi.encode(MEASUREMENT, UP_TO_DATE, expiresAt, sigs));
    }

    function test_removedGatekeeperNoLongerCounts() public {
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, _expiry());
        verifier.verifyAttestation(REPORT_DATA, evidence);
        vm.prank(owner);
        verifier.removeGatekeeper(signers[0]);
        assertFalse(verifier.isGatekeeper(signers[0]), "removed");
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.NotGatekeeper.selector, signers[0]));
        verifier.verifyAttestation(REPORT_DATA, evidence);
        // The remaining three still form a quorum.
        uint256[] memory idx = new uint256[](3);
        (idx[0], idx[1], idx[2]) = (1, 2, 3);
        verifier.verifyAttestation(REPORT_DATA, _evidence(idx, UP_TO_DATE, _expiry()));
    }

    function test_addedGatekeeperCounts() public {
        uint256 newKey = uint256(keccak256("newcomer"));
        vm.prank(owner);
        verifier.addGatekeeper(vm.addr(newKey));
        uint64 expiresAt = _expiry();
        bytes32 digest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt);
        // Pick the two lowest existing signers plus the newcomer, in address order.
        address[3] memory addrs = [signers[0], signers[1], vm.addr(newKey)];
        uint256[3] memory ks = [keys[0], keys[1], newKey];
        for (uint256 i = 1; i < 3; ++i) {
            for (uint256 j = i; j > 0 && addrs[j - 1] > addrs[j]; --j) {
                (addrs[j - 1], addrs[j]) = (addrs[j], addrs[j - 1]);
                (ks[j - 1], ks[j]) = (ks[j], ks[j - 1]);
            }
        }
        bytes[] memory sigs = new bytes[](3);
        for (uint256 i = 0; i < 3; ++i) sigs[i] = _sign(ks[i], digest);
        verifier.verifyAttestation(REPORT_DATA, abi.encode(MEASUREMENT, UP_TO_DATE, expiresAt, sigs));
    }

    /// @dev Who gatekeeper 0's signature (made for `verifier` on chain `signedChain`) recovers to under
    /// `target`'s domain on the current chain.
    function _strangerUnder(GatekeeperQuorumVerifier target, uint256 signedChain, uint64 expiresAt)
        internal
        returns (address)
    {
        uint256 chain = block.chainid;
        vm.chainId(signedChain);
        bytes32 signedDigest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt);
        vm.chainId(chain);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[0], signedDigest);
        return ecrecover(target.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt), v, r, s);
    }

    function test_rejectsWrongChainId() public {
        uint64 expiresAt = _expiry();
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, expiresAt);
        uint256 signedChain = block.chainid;
        verifier.verifyAttestation(REPORT_DATA, evidence);
        vm.chainId(signedChain + 1);
        // The domain separator changes with the chain, so the signatures recover to strangers.
        address stranger = _strangerUnder(verifier, signedChain, expiresAt);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.NotGatekeeper.selector, stranger));
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsOtherVerifierAddress() public {
        GatekeeperQuorumVerifier other = new GatekeeperQuorumVerifier(owner, signers, THRESHOLD, MAX_VALIDITY);
        uint64 expiresAt = _expiry();
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, expiresAt);
        verifier.verifyAttestation(REPORT_DATA, evidence);
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.NotGatekeeper.selector, _strangerUnder(other, block.chainid, expiresAt))
        );
        other.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsOtherReportData() public {
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, _expiry());
        vm.expectRevert();
        verifier.verifyAttestation(keccak256("another key or registry"), evidence);
    }

    function test_rejectsExpired() public {
        uint64 expiresAt = _expiry();
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, expiresAt);
        vm.warp(expiresAt);
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.AttestationExpired.selector, expiresAt, expiresAt)
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsValidityBeyondMax() public {
        uint64 expiresAt = uint64(block.timestamp + MAX_VALIDITY + 1);
        bytes memory evidence = _evidence(_first(THRESHOLD), UP_TO_DATE, expiresAt);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGatekeeperQuorumVerifier.ValidityTooLong.selector, expiresAt, block.timestamp + MAX_VALIDITY
            )
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_rejectsDisallowedTcbStatusUntilGovernanceAllowsIt() public {
        bytes memory evidence = _evidence(_first(THRESHOLD), SW_HARDENING_NEEDED, _expiry());
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.TcbStatusNotAllowed.selector, SW_HARDENING_NEEDED)
        );
        verifier.verifyAttestation(REPORT_DATA, evidence);
        vm.prank(owner);
        verifier.setTcbStatusAllowed(SW_HARDENING_NEEDED, true);
        verifier.verifyAttestation(REPORT_DATA, evidence);
        vm.prank(owner);
        verifier.setTcbStatusAllowed(UP_TO_DATE, false);
        bytes memory upToDate = _evidence(_first(THRESHOLD), UP_TO_DATE, _expiry());
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.TcbStatusNotAllowed.selector, UP_TO_DATE));
        verifier.verifyAttestation(REPORT_DATA, upToDate);
    }

    function test_rejectsOutOfDateAndUnknownCodes() public {
        bytes memory evidence = _evidence(_first(THRESHOLD), OUT_OF_DATE, _expiry());
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.TcbStatusNotAllowed.selector, OUT_OF_DATE));
        verifier.verifyAttestation(REPORT_DATA, evidence);
        bytes memory bogus = _evidence(_first(THRESHOLD), 8, _expiry());
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidTcbStatus.selector, uint8(8)));
        verifier.verifyAttestation(REPORT_DATA, bogus);
    }

    function test_rejectsZeroMeasurement() public {
        bytes[] memory sigs = new bytes[](0);
        vm.expectRevert(ICommonErrors.ZeroMeasurement.selector);
        verifier.verifyAttestation(REPORT_DATA, abi.encode(bytes32(0), UP_TO_DATE, _expiry(), sigs));
    }

    function test_rejectsMalformedSignature() public {
        uint64 expiresAt = _expiry();
        bytes32 digest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt);
        bytes[] memory sigs = new bytes[](3);
        sigs[0] = _sign(keys[0], digest);
        sigs[1] = hex"1234";
        sigs[2] = _sign(keys[2], digest);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidSignature.selector, 1));
        verifier.verifyAttestation(REPORT_DATA, abi.encode(MEASUREMENT, UP_TO_DATE, expiresAt, sigs));
    }

    // ------------------------------------------------------------ governance

    function test_onlyOwnerGoverns() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        verifier.addGatekeeper(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        verifier.removeGatekeeper(signers[0]);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        verifier.setThreshold(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        verifier.setTcbStatusAllowed(1, true);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        verifier.setMaxValidity(1);
    }

    function test_thresholdBounds() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidThreshold.selector, 0, GATEKEEPERS));
        verifier.setThreshold(0);
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidThreshold.selector, GATEKEEPERS + 1, GATEKEEPERS)
        );
        verifier.setThreshold(GATEKEEPERS + 1);
        verifier.setThreshold(GATEKEEPERS);
        // Removing one would leave fewer gatekeepers than the threshold.
        vm.expectRevert(
            abi.encodeWithSelector(IGatekeeperQuorumVerifier.InvalidThreshold.selector, GATEKEEPERS, GATEKEEPERS - 1)
        );
        verifier.removeGatekeeper(signers[0]);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.GatekeeperAlreadyAdded.selector, signers[0]));
        verifier.addGatekeeper(signers[0]);
        vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.UnknownGatekeeper.selector, address(0xBEEF)));
        verifier.removeGatekeeper(address(0xBEEF));
        vm.stopPrank();
        assertEq(verifier.threshold(), GATEKEEPERS, "threshold");
        assertEq(verifier.gatekeepers().length, GATEKEEPERS, "set size");
    }

    function test_ownershipIsTwoStep() public {
        address next = address(0xB0B);
        vm.prank(owner);
        verifier.transferOwnership(next);
        assertEq(verifier.owner(), owner, "still old owner");
        vm.prank(next);
        verifier.acceptOwnership();
        assertEq(verifier.owner(), next, "new owner");
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Any subset of signers in ascending order is accepted exactly when it reaches the threshold.
    function testFuzz_subsetAcceptedIffThreshold(uint8 mask) public {
        mask = uint8(bound(mask, 0, (1 << GATEKEEPERS) - 1));
        uint256 n;
        for (uint256 i = 0; i < GATEKEEPERS; ++i) if ((mask >> i) & 1 == 1) ++n;
        uint256[] memory idx = new uint256[](n);
        uint256 k;
        for (uint256 i = 0; i < GATEKEEPERS; ++i) if ((mask >> i) & 1 == 1) idx[k++] = i;
        bytes memory evidence = _evidence(idx, UP_TO_DATE, _expiry());
        if (n < THRESHOLD) {
            vm.expectRevert(abi.encodeWithSelector(IGatekeeperQuorumVerifier.TooFewSignatures.selector, n, THRESHOLD));
        }
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    /// @dev Changing any signed field invalidates the quorum.
    function testFuzz_tamperedFieldsRejected(bytes32 otherMeasurement, uint64 extra) public {
        vm.assume(otherMeasurement != MEASUREMENT && otherMeasurement != bytes32(0));
        uint64 expiresAt = _expiry();
        bytes32 digest = verifier.attestationDigest(REPORT_DATA, MEASUREMENT, UP_TO_DATE, expiresAt);
        bytes[] memory sigs = new bytes[](THRESHOLD);
        for (uint256 i = 0; i < THRESHOLD; ++i) sigs[i] = _sign(keys[i], digest);
        vm.expectRevert();
        verifier.verifyAttestation(REPORT_DATA, abi.encode(otherMeasurement, UP_TO_DATE, expiresAt, sigs));
        uint64 otherExpiry = uint64(bound(extra, 1, 10 days)) + expiresAt;
        vm.expectRevert();
        verifier.verifyAttestation(REPORT_DATA, abi.encode(MEASUREMENT, UP_TO_DATE, otherExpiry, sigs));
    }
}
