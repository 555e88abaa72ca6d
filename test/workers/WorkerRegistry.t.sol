// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {IAttestationVerifier} from "../../contracts/interfaces/IAttestationVerifier.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {ISimulatedTeeVerifier} from "../../contracts/workers/ISimulatedTeeVerifier.sol";

contract WorkerRegistryTest is RouterFixture {
    uint256 internal constant KEY = 0xC0FFEE;
    address internal constant OTHER_OPERATOR = address(0x0DE7A71);
    address internal worker;

    function setUp() public override {
        super.setUp();
        worker = vm.addr(KEY);
    }

    /// @dev Registers `worker` as `op` with `evidence` and the key's consent for `op`.
    function _register(address op, bytes memory evidence) internal {
        (uint256 deadline, bytes memory signature) = _consent(KEY, op);
        vm.prank(op);
        workers.registerWorker(worker, verifier, evidence, "http://worker:8000", deadline, signature);
    }

    /// @dev Registers `worker` as `op` with an explicit consent (deadline, signature).
    function _registerWith(address op, bytes memory evidence, uint256 deadline, bytes memory signature) internal {
        vm.prank(op);
        workers.registerWorker(worker, verifier, evidence, "http://worker:8000", deadline, signature);
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
        vm.expectRevert(abi.encodeWithSelector(ISimulatedTeeVerifier.WrongAttestationSigner.selector, signer));
    }

    // ---------------------------------------------------------------- registration

    function test_RegisterWithSimulatedEvidence() public {
        vm.expectEmit();
        emit IWorkerRegistry.WorkerRegistered(
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
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory consent = _signDigest(KEY, _registrationDigest(other, worker, operator, deadline));
        vm.prank(operator);
        other.registerWorker(worker, verifier, evidence, "", deadline, consent);
        assertTrue(other.isActive(worker), "valid where it belongs");
    }

    function test_RevertWhen_VerifierNotApproved() public {
        SimulatedTeeVerifier rogue = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        (uint256 deadline, bytes memory consent) = _consent(KEY, operator);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.VerifierNotApproved.selector, address(rogue)));
        vm.prank(operator);
        workers.registerWorker(worker, rogue, evidence, "", deadline, consent);

        workers.setVerifierApproved(address(verifier), false);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.VerifierNotApproved.selector, address(verifier)));
        _register(operator, evidence);
    }

    function test_RevertWhen_MeasurementNotApproved() public {
        bytes memory evidence = _evidenceFor(worker, OTHER_MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.MeasurementNotApproved.selector, OTHER_MEASUREMENT));
        _register(operator, evidence);
    }

    function test_RevertWhen_AttestationExpired() public {
        uint64 issuedAt = uint64(block.timestamp) - VALIDITY;
        bytes memory evidence = _evidence(DEV_KEY, workers.reportDataFor(worker), MEASUREMENT, issuedAt);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.AttestationExpired.selector, issuedAt + VALIDITY));
        _register(operator, evidence);
    }

    function test_RevertWhen_ZeroWorker() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        workers.registerWorker(address(0), verifier, "", "", block.timestamp, "");
    }

    function test_RevertWhen_KeyTakenByAnotherOperator() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerKeyTaken.selector, worker, operator));
        _register(OTHER_OPERATOR, evidence);
    }

    // ---------------------------------------------------------------- the key's consent (front-running)

    /// @dev Issue 10 attack 7: an attacker copies a pending registration from the mempool (evidence,
    /// deadline, the key's signature) and sends it first from its own address to become the key's
    /// operator, then puts the key in its own pool. The key consented only to `operator`.
    function test_FrontRunnerCannotSquatTheKey() public {
        StakingHub hub = new StakingHub(token, workers, treasury, _stakingParams(), address(this));
        address attacker = address(0xBAD);
        vm.prank(attacker);
        uint256 attackerPool = hub.createPool(0);

        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        (uint256 deadline, bytes memory consent) = _consent(KEY, operator);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, attacker));
        _registerWith(attacker, evidence, deadline, consent);
        assertEq(workers.operatorOf(worker), address(0), "not squatted");
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerNotOwnedByOperator.selector, worker, attacker));
        vm.prank(attacker);
        hub.addWorker(attackerPool, worker);

        // The operator's own transaction, mined after the attacker's, still goes through.
        _registerWith(operator, evidence, deadline, consent);
        assertEq(workers.operatorOf(worker), operator, "the key's operator");
        vm.prank(operator);
        uint256 pool = hub.createPool(0);
        vm.prank(operator);
        hub.addWorker(pool, worker);
    }

    function test_RevertWhen_KeyConsentedToAnotherOperator() public {
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        (uint256 deadline, bytes memory consent) = _consent(KEY, OTHER_OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
        _registerWith(operator, evidence, deadline, consent);
    }

    function test_RevertWhen_ConsentSignedByAnotherKey() public {
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory consent = _signDigest(KEY + 1, _registrationDigest(workers, worker, operator, deadline));
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
        _registerWith(operator, evidence, deadline, consent);
    }

    function test_RevertWhen_ConsentMadeForAnotherRegistryOrChain() public {
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        uint256 deadline = block.timestamp + 1 hours;
        WorkerRegistry other = new WorkerRegistry(address(this));
        bytes memory consent = _signDigest(KEY, _registrationDigest(other, worker, operator, deadline));
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
        _registerWith(operator, evidence, deadline, consent);

        vm.chainId(1337);
        consent = _signDigest(KEY, _registrationDigest(workers, worker, operator, deadline));
        vm.chainId(31337);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
        _registerWith(operator, evidence, deadline, consent);
    }

    /// @dev The deadline is signed: a caller cannot stretch an old consent.
    function test_RevertWhen_DeadlineChanged() public {
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        (uint256 deadline, bytes memory consent) = _consent(KEY, operator);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
        _registerWith(operator, evidence, deadline + 365 days, consent);
    }

    function test_RevertWhen_ConsentExpired() public {
        (uint256 deadline, bytes memory consent) = _consent(KEY, operator);
        vm.warp(deadline + 1);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.RegistrationSignatureExpired.selector, deadline));
        _registerWith(operator, evidence, deadline, consent);
        // Usable up to and including the deadline.
        vm.warp(deadline);
        _registerWith(operator, _evidenceFor(worker, MEASUREMENT), deadline, consent);
        assertEq(workers.operatorOf(worker), operator, "registered at the deadline");
    }

    function test_RevertWhen_ConsentMalformed() public {
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        uint256 deadline = block.timestamp + 1 hours;
        (, bytes memory good) = _consent(KEY, operator);
        bytes[3] memory bad = [bytes(""), bytes(hex"1234"), _highS(good)];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotSignedByWorker.selector, worker, operator));
            _registerWith(operator, evidence, deadline, bad[i]);
        }
    }

    /// @dev A renewal needs a fresh consent too, so a worker that stops signing for its operator
    /// lets that registration lapse.
    function test_RevertWhen_RenewalWithoutFreshConsent() public {
        (uint256 deadline, bytes memory consent) = _consent(KEY, operator);
        _registerWith(operator, _evidenceFor(worker, MEASUREMENT), deadline, consent);
        vm.warp(deadline + 1);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.RegistrationSignatureExpired.selector, deadline));
        _registerWith(operator, evidence, deadline, consent);
    }

    function test_RegistrationDigestIsEip712() public view {
        uint256 deadline = 1_800_000_000;
        assertEq(
            workers.registrationDigest(worker, operator, deadline),
            _registrationDigest(workers, worker, operator, deadline),
            "digest"
        );
        assertEq(
            workers.WORKER_REGISTRATION_TYPEHASH(),
            keccak256("WorkerRegistration(address worker,address operator,uint256 deadline)"),
            "typehash"
        );
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            workers.eip712Domain();
        assertEq(bytes(name), bytes("WorkerRegistry"), "name");
        assertEq(bytes(version), bytes("1"), "version");
        assertEq(chainId, block.chainid, "chain");
        assertEq(verifyingContract, address(workers), "registry");
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
        emit IWorkerRegistry.MeasurementApproval(MEASUREMENT, false);
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
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotRouter.selector, address(this)));
        workers.jail(worker);

        vm.expectEmit();
        emit IWorkerRegistry.WorkerJailed(worker);
        vm.prank(address(router));
        workers.jail(worker);
        assertTrue(workers.workerOf(worker).jailed, "jailed");
        assertFalse(workers.isActive(worker), "inactive");

        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsJailed.selector, worker));
        _register(operator, evidence);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsJailed.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    function test_JailingAnUnregisteredKeyBansIt() public {
        vm.prank(address(router));
        workers.jail(worker);
        assertFalse(workers.isActive(worker), "inactive");
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsJailed.selector, worker));
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
        emit IWorkerRegistry.WorkerUnjailed(worker);
        workers.unjail(worker);
        assertTrue(workers.isActive(worker), "active again");
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotJailed.selector, worker));
        workers.unjail(worker);
    }

    function test_Revoke() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        workers.revokeWorker(worker);

        vm.expectEmit();
        emit IWorkerRegistry.WorkerRevoked(worker);
        workers.revokeWorker(worker);
        assertTrue(workers.workerOf(worker).revoked, "revoked");
        assertFalse(workers.isActive(worker), "inactive");

        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        _register(operator, evidence);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    /// @dev Issue 10 attack 6: the operator of a compromised key deregisters it so that
    /// `revokeWorker` finds no record; a forged answer from the key then settles a request it was
    /// assigned earlier, and the old evidence registers the key again.
    function test_RevocationSticksToADeregisteredKey() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 key = workerKeyOf[req.worker];
        vm.prank(operator);
        workers.deregisterWorker(req.worker);
        bytes memory oldEvidence = _evidenceFor(req.worker, MEASUREMENT);

        vm.expectEmit();
        emit IWorkerRegistry.WorkerRevoked(req.worker);
        workers.revokeWorker(req.worker);
        assertTrue(workers.isBanned(req.worker), "banned while unregistered");

        // The forged answer no longer settles.
        IAgentRouter.Fulfillment memory forged = _fulfillment(req, "forged");
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WorkerBanned.selector, req.id, req.worker));
        vm.prank(relayer);
        router.fulfill(forged);

        // Neither the old evidence nor new evidence brings the key back, for any operator.
        (uint256 deadline, bytes memory consent) = _consent(key, operator);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, req.worker));
        vm.prank(operator);
        workers.registerWorker(req.worker, verifier, oldEvidence, "", deadline, consent);
        vm.warp(block.timestamp + 1 days);
        _registerKey(key, OTHER_OPERATOR, MEASUREMENT, abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, req.worker));
        assertEq(workers.operatorOf(req.worker), address(0), "still unregistered");
        assertTrue(workers.isBanned(req.worker), "still banned");

        // The request times out instead and is refunded in full.
        vm.warp(req.deadline + 1);
        router.timeout(req);
        assertEq(_reservedOf(accountId), 0, "reservation released");
    }

    /// @dev A key known to be leaked can be banned before anyone registers it.
    function test_RevokeANeverRegisteredKey() public {
        workers.revokeWorker(worker);
        assertTrue(workers.isBanned(worker), "banned");
        assertFalse(workers.isActive(worker), "inactive");
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        _register(operator, evidence);
    }

    /// @dev Bans are checked before ownership, so the error names the ban whoever tries.
    function test_RevokedKeyRefusedForEveryOperator() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        workers.revokeWorker(worker);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        _register(OTHER_OPERATOR, evidence);
    }

    /// @dev Lifting a jail (governance appeal) does not lift a revocation.
    function test_UnjailLeavesARevocationInPlace() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.prank(address(router));
        workers.jail(worker);
        workers.revokeWorker(worker);
        workers.unjail(worker);
        assertTrue(workers.isBanned(worker), "still banned");
        assertFalse(workers.isActive(worker), "inactive");
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
        bytes memory evidence = _evidenceFor(worker, MEASUREMENT);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerIsRevoked.selector, worker));
        _register(operator, evidence);
    }

    function test_RevertWhen_RevokeZeroAddress() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        workers.revokeWorker(address(0));
    }

    function test_Deregister() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotWorkerOperator.selector, worker, stranger));
        vm.prank(stranger);
        workers.deregisterWorker(worker);

        vm.expectEmit();
        emit IWorkerRegistry.WorkerDeregistered(worker, operator);
        vm.prank(operator);
        workers.deregisterWorker(worker);
        assertEq(workers.operatorOf(worker), address(0), "gone");
        assertFalse(workers.isActive(worker), "inactive");

        // The key is free again, for any operator.
        _register(OTHER_OPERATOR, _evidenceFor(worker, MEASUREMENT));
        assertEq(workers.operatorOf(worker), OTHER_OPERATOR, "re-registered");
    }

    function test_RevertWhen_DeregisterUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.UnknownWorker.selector, worker));
        vm.prank(operator);
        workers.deregisterWorker(worker);
    }

    function test_SetEndpoint() public {
        _register(operator, _evidenceFor(worker, MEASUREMENT));
        vm.expectEmit();
        emit IWorkerRegistry.WorkerEndpointUpdated(worker, "https://new:443");
        vm.prank(operator);
        workers.setEndpoint(worker, "https://new:443");
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NotWorkerOperator.selector, worker, stranger));
        vm.prank(stranger);
        workers.setEndpoint(worker, "https://evil");
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.UnknownWorker.selector, vm.addr(KEY + 1)));
        workers.setEndpoint(vm.addr(KEY + 1), "x");
    }

    // ---------------------------------------------------------------- helpers

    function _stakingParams() internal pure returns (IStakingHub.Params memory) {
        return IStakingHub.Params({
            minStakePerWorker: 1_000 ether,
            unbondingPeriod: 1 days,
            commissionChangeDelay: 1 days,
            equivocationSlashBps: 2_000,
            minCommissionBps: 0,
            maxCommissionBps: 5_000,
            minBondPerWorker: 0
        });
    }

    /// @dev The same signature with s' = n - s and the other v: valid for raw ecrecover, refused by OpenZeppelin.
    function _highS(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    // ---------------------------------------------------------------- governance

    function test_GovernanceSetters() public {
        vm.expectEmit();
        emit IWorkerRegistry.VerifierApproval(address(0x99), true);
        workers.setVerifierApproved(address(0x99), true);
        assertTrue(workers.isVerifierApproved(address(0x99)), "verifier");
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        workers.setVerifierApproved(address(0), true);

        vm.expectEmit();
        emit IWorkerRegistry.RouterUpdated(address(0x98));
        workers.setRouter(address(0x98));
        assertEq(workers.router(), address(0x98), "router");
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
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
