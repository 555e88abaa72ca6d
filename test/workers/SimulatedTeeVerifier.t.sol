// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {ISimulatedTeeVerifier} from "../../contracts/workers/ISimulatedTeeVerifier.sol";

contract SimulatedTeeVerifierTest is Test {
    uint256 internal constant DEV_KEY = 0xDE7A77E57;
    uint64 internal constant VALIDITY = 1 days;
    bytes32 internal constant REPORT_DATA = keccak256("report data");
    bytes32 internal constant MEASUREMENT = keccak256("runtime");
    SimulatedTeeVerifier internal verifier;

    function setUp() public {
        vm.warp(1_700_000_000);
        verifier = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
    }

    function _evidence(uint256 key, bytes32 measurement, uint64 issuedAt) internal pure returns (bytes memory) {
        bytes32 digest =
            keccak256(abi.encode(keccak256("PHALA_SIMULATED_TEE_QUOTE_V1"), REPORT_DATA, measurement, issuedAt));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encode(measurement, issuedAt, abi.encodePacked(r, s, v));
    }

    function test_VerifiesDevSignedQuote() public view {
        uint64 issuedAt = uint64(block.timestamp) - 60;
        (bytes32 measurement, uint64 expiresAt) =
            verifier.verifyAttestation(REPORT_DATA, _evidence(DEV_KEY, MEASUREMENT, issuedAt));
        assertEq(measurement, MEASUREMENT, "measurement");
        assertEq(expiresAt, issuedAt + VALIDITY, "expiry from issue time");
        assertTrue(verifier.isSimulated(), "simulated");
        assertEq(verifier.devAttestationSigner(), vm.addr(DEV_KEY), "signer");
        assertEq(verifier.validity(), VALIDITY, "validity");
    }

    function test_DevelopmentChainList() public view {
        assertTrue(verifier.isDevelopmentChain(31337), "hardhat");
        assertTrue(verifier.isDevelopmentChain(1337), "geth dev");
        assertFalse(verifier.isDevelopmentChain(1), "mainnet");
        assertFalse(verifier.isDevelopmentChain(8453), "base");
    }

    function test_DeploysOnGethDevChain() public {
        vm.chainId(1337);
        SimulatedTeeVerifier dev = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
        dev.verifyAttestation(REPORT_DATA, _evidence(DEV_KEY, MEASUREMENT, uint64(block.timestamp)));
    }

    function test_RevertWhen_DeployedOnProductionChain() public {
        vm.chainId(1);
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.NotDevelopmentChain.selector, uint256(1)));
        new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
    }

    function test_RevertWhen_UsedOnProductionChain() public {
        bytes memory evidence = _evidence(DEV_KEY, MEASUREMENT, uint64(block.timestamp));
        vm.chainId(1);
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.NotDevelopmentChain.selector, uint256(1)));
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_RevertWhen_ZeroSigner() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new SimulatedTeeVerifier(address(0), VALIDITY);
    }

    function test_RevertWhen_WrongSigner() public {
        bytes memory evidence = _evidence(0xBAD, MEASUREMENT, uint64(block.timestamp));
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.WrongAttestationSigner.selector, vm.addr(0xBAD)));
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_RevertWhen_QuoteFromTheFuture() public {
        uint64 issuedAt = uint64(block.timestamp) + 1;
        bytes memory evidence = _evidence(DEV_KEY, MEASUREMENT, issuedAt);
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.QuoteFromTheFuture.selector, issuedAt));
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_RevertWhen_ZeroMeasurement() public {
        bytes memory evidence = _evidence(DEV_KEY, bytes32(0), uint64(block.timestamp));
        vm.expectRevert(ICommonErrors.ZeroMeasurement.selector);
        verifier.verifyAttestation(REPORT_DATA, evidence);
    }

    function test_RevertWhen_MeasurementSwapped() public {
        bytes memory evidence = _evidence(DEV_KEY, MEASUREMENT, uint64(block.timestamp));
        (, uint64 issuedAt, bytes memory sig) = abi.decode(evidence, (bytes32, uint64, bytes));
        bytes32 other = keccak256("other runtime");
        bytes memory swapped = abi.encode(other, issuedAt, sig);
        address signer = ECDSA.recover(
            keccak256(abi.encode(keccak256("PHALA_SIMULATED_TEE_QUOTE_V1"), REPORT_DATA, other, issuedAt)), sig
        );
        assertTrue(signer != vm.addr(DEV_KEY), "swap changes the signer");
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.WrongAttestationSigner.selector, signer));
        verifier.verifyAttestation(REPORT_DATA, swapped);
    }
}
