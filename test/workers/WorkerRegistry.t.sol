// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {IAttestationVerifier} from "../../contracts/interfaces/IAttestationVerifier.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract WorkerRegistryTest is RouterFixture {
    uint256 internal constant KEY = 0xC0FFEE;
    address internal constant OTHER_OPERATOR = address(0x0DE7A71);
    address internal worker;

    function setUp() public override {
        super.setUp();
        worker = vm.addr(KEY);
    }

    function _register(address op, bytes memory evidence) internal {
        vm.prank(op);
        workers.registerWorker(worker, verifier, evidence, "http://worker:8000");
    }

    /// @dev The signer SimulatedTeeVerifier recovers when `evidence` is checked against `reportData`.
    function _recovered(bytes32 reportData, bytes memory evidence) internal pure returns (address) {
        (bytes32 measurement, uint64 issuedAt, bytes memory sig) = abi.decode(evidence, (bytes32, uint64, bytes));
        bytes32 digest =
            keccak256(abi.encode(keccak256("PHALA_SIMULATED_TEE_QUOTE_V1"), reportData, measurement, issuedAt));
        return ECDSA.recover(digest, sig);
    }

    function _expectWrongSigner(bytes memory evidence) internal {
        address signer = _recovered(workers.reportDataFor(worker), evidence);
        vm.expectRevert(abi.encodeWithSelector(SimulatedTeeVerifier.WrongAttestationSigner.selector, signer));
    }

    // ---------------------------------------------------------------- registration

    function test_RegisterWithSimulatedEvidence() public {
        vm.expectEmit();
        emit WorkerRegistry.WorkerRegistered(
            worker, operator, address(verifier), MEASUREMENT, uint64(block.timestamp) + VALIDITY, true, "http://worker:8000"
        );
        _register(operator, _evidenceFor(worker, MEASUREMENT));

        IWorkerRegistry.Worker memory record = workers.workerOf(worker);
        assertEq(record.operator, operator, "operator");
        assertEq(record.expiresAt, block.timestamp + VALIDITY, "expiry");
        assertTrue(record.simulated, "marked simulated");
        assertFalse(record.jailed || record.revoked, "clean");
        assertEq(record.measurement, MEASUREMENT, "measurement");
        assertEq(workers.operatorOf(worker), operator, "operatorOf");
        assertTrue(workers.isActive(worker), "active");
        assertEq(workers.activeMeasurementOf(worker), MEASUREMENT, "active measurement");
    }

    function test_ReportDataBindsKeyChainAndRegistry() public view {
        assertEq(
            workers.reportDataFor(worker),
            keccak256(abi.encode(keccak256("PHALA_AGENT_WORKER_V1"), worker, block.chainid, address(workers))),
            "report data"
        );
    }

    function test_RevertWhen_EvidenceMadeForAnotherKey() public {
        bytes memory evidence = _evidenceFor(vm.addr(KEY + 1), MEASUREMENT);
        _expectWrongSigner(evidence);
        _register(operator, evidence);
    }

    function test_RevertWhen_EvidenceMadeForAnotherChain() public {
        vm.chainId(1337);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.chainId(31337);
        _expectWrongSigner(evidence);
        _register(operator, evidence);
    }

    function test_RevertWhen_EvidenceMadeForAnotherRegistry() public {
        WorkerRegistry other = new WorkerRegistry(address(this));
        bytes memory evidence = _evidence(DEV_KEY, other.reportDataFor(worker), MEASUREMENT, uint64(block.timestamp));
        _expectWrongSigner(evidence);
        _register(operator, evidence);
        // The same evidence is good for the registry it was made for.
        other.setVerifierApproved(address(verifier), true);
        other.setMeasurementApproved(MEASUREMENT, true);
        vm.prank(operator);
        other.registerWorker(worker, verifier, evidence, "");
        assertTrue(other.isActive(worker), "valid where it belongs");
    }

    function test_RevertWhen_VerifierNotApproved() public {
        SimulatedTeeVerifier rogue = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.VerifierNotApproved.selector, address(rogue)));
        vm.prank(operator);
        workers.registerWorker(worker, rogue, evidence, "");

        workers.setVerifierApproved(address(verifier), false);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.VerifierNotApproved.selector, address(verifier)));
        _register(operator, evidence);
    }

    function test_RevertWhen_MeasurementNotApproved() public {
        bytes memory evidence = _evidenceFor(worker, OTHER_MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.MeasurementNotApproved.selector, OTHER_MEASUREMENT));
        _register(operator, evidence);
    }

    function test_RevertWhen_AttestationExpired() public {
        uint64 issuedAt = uint64(block.timestamp) - VALIDITY;
        bytes memory evidence = _evidence(DEV_KEY, workers.reportDataFor(worker), MEASUREMENT, issuedAt);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.AttestationExpired.selector, issuedAt + VALIDITY));
        _register(operator, evidence);
    }

    function test_RevertWhen_ZeroWorker() public {
        vm.expectRevert(WorkerRegistry.ZeroAddress.selector);
        workers.registerWorker(address(0), verifier, "", "");
    }

    function test_RevertWhen_KeyTakenByAnotherOperator() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerKeyTaken.selector, worker, operator));
        _register(OTHER_OPERATOR, evidence);
    }

    function test_RenewalBySameOperator() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.warp(block.timestamp + VALIDITY - 1 hours);
        workers.setMeasurementApproved(OTHER_MEASUREMENT, true);
        _register(operator, _evidenceFor(worker, OTHER_MEASUREMENT));
        IWorkerRegistry.Worker memory record = workers.workerOf(worker);
        assertEq(record.expiresAt, block.timestamp + VALIDITY, "expiry extended");
        assertEq(record.measurement, OTHER_MEASUREMENT, "new runtime");
        vm.warp(block.timestamp + VALIDITY / 2);
        assertTrue(workers.isActive(worker), "still active past the first expiry");
    }

    // ---------------------------------------------------------------- activity transitions

    function test_ExpiryDeactivates() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        uint64 expiresAt = workers.workerOf(worker).expiresAt;
        vm.warp(expiresAt);
        assertTrue(workers.isActive(worker), "active at expiry");
        vm.warp(expiresAt + 1);
        assertFalse(workers.isActive(worker), "expired");
        assertEq(workers.activeMeasurementOf(worker), bytes32(0), "no measurement");
    }

    function test_WithdrawnMeasurementDeactivatesAtOnce() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectEmit();
        emit WorkerRegistry.MeasurementApproval(MEASUREMENT, false);
        workers.setMeasurementApproved(MEASUREMENT, false);
        assertFalse(workers.isActive(worker), "inactive");
        assertEq(workers.activeMeasurementOf(worker), bytes32(0), "no measurement");
        workers.setMeasurementApproved(MEASUREMENT, true);
        assertTrue(workers.isActive(worker), "back");
    }

    function test_UnknownWorkerIsInactive() public view {
        assertFalse(workers.isActive(worker), "unknown");
        assertEq(workers.operatorOf(worker), address(0), "no operator");
    }

    // ---------------------------------------------------------------- jail, revoke, deregister

    function test_JailOnlyByRouter() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.NotRouter.selector, address(this)));
        workers.jail(worker);

        vm.expectEmit();
        emit WorkerRegistry.WorkerJailed(worker);
        vm.prank(address(router));
        workers.jail(worker);
        assertTrue(workers.workerOf(worker).jailed, "jailed");
        assertFalse(workers.isActive(worker), "inactive");

        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerIsJailed.selector, worker));
        _register(operator, evidence);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerIsJailed.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    function test_JailingAnUnregisteredKeyBansIt() public {
        vm.prank(address(router));
        workers.jail(worker);
        assertFalse(workers.isActive(worker), "inactive");
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerIsJailed.selector, worker));
        _register(OTHER_OPERATOR, evidence);
    }

    function test_Unjail() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.prank(address(router));
        workers.jail(worker);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        workers.unjail(worker);

        vm.expectEmit();
        emit WorkerRegistry.WorkerUnjailed(worker);
        workers.unjail(worker);
        assertTrue(workers.isActive(worker), "active again");
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerNotJailed.selector, worker));
        workers.unjail(worker);
    }

    function test_Revoke() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        workers.revokeWorker(worker);

        vm.expectEmit();
        emit WorkerRegistry.WorkerRevoked(worker);
        workers.revokeWorker(worker);
        assertTrue(workers.workerOf(worker).revoked, "revoked");
        assertFalse(workers.isActive(worker), "inactive");

        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerIsRevoked.selector, worker));
        _register(operator, evidence);
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.WorkerIsRevoked.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    function test_RevertWhen_RevokeUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.UnknownWorker.selector, worker));
        workers.revokeWorker(worker);
    }

    function test_Deregister() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.NotWorkerOperator.selector, worker, stranger));
        vm.prank(stranger);
        workers.deregisterWorker(worker);

        vm.expectEmit();
        emit WorkerRegistry.WorkerDeregistered(worker, operator);
        vm.prank(operator);
        workers.deregisterWorker(worker);
        assertEq(workers.operatorOf(worker), address(0), "gone");
        assertFalse(workers.isActive(worker), "inactive");

        // The key is free again, for any operator.
        _register(OTHER_OPERATOR, _evidenceFor(worker, MEASUREMENT));
        assertEq(workers.operatorOf(worker), OTHER_OPERATOR, "re-registered");
    }

    function test_RevertWhen_DeregisterUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.UnknownWorker.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    function test_SetEndpoint() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectEmit();
        emit WorkerRegistry.WorkerEndpointUpdated(worker, "https://new:443");
        vm.prank(operator);
        workers.setEndpoint(worker, "https://new:443");
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.NotWorkerOperator.selector, worker, stranger));
        vm.prank(stranger);
        workers.setEndpoint(worker, "https://evil");
        vm.expectRevert(abi.encodeWithSelector(WorkerRegistry.UnknownWorker.selector, vm.addr(KEY + 1)));
        workers.setEndpoint(vm.addr(KEY + 1), "x");
    }

    // ---------------------------------------------------------------- governance

    function test_GovernanceSetters() public {
        vm.expectEmit();
        emit WorkerRegistry.VerifierApproval(address(0x99), true);
        workers.setVerifierApproved(address(0x99), true);
        assertTrue(workers.isVerifierApproved(address(0x99)), "verifier");
        vm.expectRevert(WorkerRegistry.ZeroAddress.selector);
        workers.setVerifierApproved(address(0), true);

        vm.expectEmit();
        emit WorkerRegistry.RouterUpdated(address(0x98));
        workers.setRouter(address(0x98));
        assertEq(workers.router(), address(0x98), "router");
        vm.expectRevert(WorkerRegistry.ZeroAddress.selector);
        workers.setRouter(address(0));
    }

    function test_RevertWhen_GovernanceByStranger() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        workers.setMeasurementApproved(MEASUREMENT, false);
        vm.expectRevert(unauthorized);
        workers.setVerifierApproved(stranger, true);
        vm.expectRevert(unauthorized);
        workers.setRouter(stranger);
        vm.stopPrank();
    }
}
