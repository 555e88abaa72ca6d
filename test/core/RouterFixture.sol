// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {AgentRegistry} from "../../contracts/agents/AgentRegistry.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {MockWorkerStaking} from "../../contracts/mocks/MockWorkerStaking.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IAgentRegistry} from "../../contracts/interfaces/IAgentRegistry.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {IAttestationVerifier} from "../../contracts/interfaces/IAttestationVerifier.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {RecordingConsumer} from "./TestDoubles.sol";

/// @notice Cheatcodes the fixed Vm interface lacks, served at the same address.
interface VmExtra {
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
}

/// @notice Shared deployment for the on-chain core tests: token, registries, simulated verifier,
/// router and mock staking wired together; `WORKER_COUNT` simulated workers registered and sampled
/// by the staking mock; one open agent; one funded billing account whose consumer is a
/// {RecordingConsumer}. Helpers open requests and build worker-signed fulfilments.
abstract contract RouterFixture is Test {
    VmExtra internal constant vmx = VmExtra(address(vm));

    // secp256k1 group order, for malleated signatures.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    uint256 internal constant DEV_KEY = 0xDE7A77E57;
    uint256 internal constant FIRST_WORKER_KEY = 0xA11CE000;
    uint256 internal constant WORKER_COUNT = 3;
    bytes32 internal constant MEASUREMENT = keccak256("test-runtime-v1");
    bytes32 internal constant OTHER_MEASUREMENT = keccak256("test-runtime-v2");
    uint64 internal constant VALIDITY = 30 days;
    uint256 internal constant START_TIME = 1_700_000_000;

    uint72 internal constant WORKER_FEE = 0.5 ether;
    uint64 internal constant PHA_PER_GAS = 1 gwei;
    uint16 internal constant PROTOCOL_FEE_BPS = 500;
    uint16 internal constant TIMEOUT_PENALTY_BPS = 20_000;
    uint24 internal constant OVERHEAD_GAS = 60_000;
    uint24 internal constant MAX_CALLBACK_GAS = 2_000_000;
    uint24 internal constant REQUEST_TIMEOUT = 300;
    uint16 internal constant MAX_PENDING = 64;
    uint32 internal constant MAX_INPUT_BYTES = 4096;

    uint96 internal constant AGENT_PRICE = 2 ether;
    uint32 internal constant CALLBACK_GAS = 200_000;
    uint96 internal constant MAX_FEE = 10 ether;
    uint256 internal constant ACCOUNT_FUNDS = 1_000 ether;
    string internal constant AGENT_URI = "file:///agent.js";
    bytes32 internal constant AGENT_CODE = keccak256("export default () => 'positive'");

    address internal constant operator = address(0x0DE7A70);
    address internal constant agentOwner = address(0xA6E470);
    address internal constant payer = address(0xBA7E5);
    address internal constant relayer = address(0x4E1A7E5);
    address internal constant treasury = address(0x7EA5);
    address internal constant stranger = address(0x5742);

    PhalaToken internal token;
    AgentRegistry internal agents;
    WorkerRegistry internal workers;
    SimulatedTeeVerifier internal verifier;
    AgentRouter internal router;
    MockWorkerStaking internal staking;
    RecordingConsumer internal consumer;

    address[] internal workerAddrs;
    mapping(address worker => uint256 key) internal workerKeyOf;
    uint256 internal agentId;
    uint64 internal accountId;

    function setUp() public virtual {
        vm.warp(START_TIME);
        token = new PhalaToken(address(this));
        agents = new AgentRegistry();
        workers = new WorkerRegistry(address(this));
        verifier = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
        router = new AgentRouter(
            IERC20(address(token)), agents, workers, address(this), treasury, _defaultConfig(), MAX_INPUT_BYTES
        );
        // The settlement arithmetic these tests check exactly is the same with or without the capacity
        // fee, which is one more protocol fee at settlement: RouterAttacksCapacityHold.t.sol (deployed
        // parameters) covers it.
        router.setCapacityPrice(0);
        staking = new MockWorkerStaking();
        router.setStaking(staking);
        workers.setRouter(address(router));
        workers.setVerifierApproved(address(verifier), true);
        workers.setMeasurementApproved(MEASUREMENT, true);

        for (uint256 i; i < WORKER_COUNT; ++i) {
            address worker = _registerWorker(FIRST_WORKER_KEY + i, operator, MEASUREMENT);
            staking.addWorker(worker);
        }

        agentId = _registerAgent(agentOwner, AGENT_PRICE, new bytes32[](0));

        consumer = new RecordingConsumer(router);
        accountId = _openAccount(payer, address(consumer), ACCOUNT_FUNDS);
    }

    // ---------------------------------------------------------------- deployment helpers

    function _defaultConfig() internal pure returns (AgentRouterState.Config memory) {
        return AgentRouterState.Config({
            workerFee: WORKER_FEE,
            phaPerGas: PHA_PER_GAS,
            protocolFeeBps: PROTOCOL_FEE_BPS,
            timeoutPenaltyBps: TIMEOUT_PENALTY_BPS,
            fulfillOverheadGas: OVERHEAD_GAS,
            maxCallbackGasLimit: MAX_CALLBACK_GAS,
            requestTimeout: REQUEST_TIMEOUT,
            maxPendingPerWorker: MAX_PENDING
        });
    }

    function _registerAgent(address owner, uint96 price, bytes32[] memory measurements) internal returns (uint256 id) {
        vm.prank(owner);
        id = agents.registerAgent(AGENT_CODE, AGENT_URI, price, measurements, true);
    }

    /// @dev Creates an account owned by `owner`, allows `consumer_`, funds it from this contract's PHA.
    function _openAccount(address owner, address consumer_, uint256 funds) internal returns (uint64 id) {
        vm.prank(owner);
        id = router.createAccount();
        vm.prank(owner);
        router.addConsumer(id, consumer_);
        if (funds != 0) _fund(id, funds);
    }

    function _fund(uint64 id, uint256 amount) internal {
        token.approve(address(router), amount);
        router.fund(id, amount);
    }

    // ---------------------------------------------------------------- attestation helpers

    /// @dev Simulated evidence as SimulatedTeeVerifier expects it, signed by `devKey`.
    function _evidence(uint256 devKey, bytes32 reportData, bytes32 measurement, uint64 issuedAt)
        internal
        pure
        returns (bytes memory)
    {
        bytes32 digest =
            keccak256(abi.encode(keccak256("PHALA_SIMULATED_TEE_QUOTE_V1"), reportData, measurement, issuedAt));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(devKey, digest);
        return abi.encode(measurement, issuedAt, abi.encodePacked(r, s, v));
    }

    /// @dev Evidence for `worker` bound to this chain and the fixture's registry, issued now.
    function _evidenceFor(address worker, bytes32 measurement) internal view returns (bytes memory) {
        return _evidence(DEV_KEY, workers.reportDataFor(worker), measurement, uint64(block.timestamp));
    }

    /// @dev WorkerRegistration digest built by hand (EIP-712), without calling the registry, so it
    /// checks the contract's encoding and consumes no pending expectRevert.
    function _registrationDigest(WorkerRegistry registry, address worker, address op, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("WorkerRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(keccak256("WorkerRegistration(address worker,address operator,uint256 deadline)"), worker, op, deadline)
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev The enclave key's EIP-712 consent to be registered by `op` in the fixture's registry, usable for an hour.
    function _consent(uint256 key, address op) internal view returns (uint256 deadline, bytes memory signature) {
        deadline = block.timestamp + 1 hours;
        signature = _signDigest(key, _registrationDigest(workers, vm.addr(key), op, deadline));
    }

    function _signDigest(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Registers the enclave key `key` as `op` would: fresh evidence and the key's consent.
    function _registerKey(uint256 key, address op, bytes32 measurement) internal {
        _registerKey(key, op, measurement, "");
    }

    /// @dev {_registerKey} expecting the registration to revert with `expectedRevert` (when non-empty).
    function _registerKey(uint256 key, address op, bytes32 measurement, bytes memory expectedRevert) internal {
        address worker = vm.addr(key);
        bytes memory evidence = _evidenceFor(worker, measurement);
        (uint256 deadline, bytes memory signature) = _consent(key, op);
        if (expectedRevert.length != 0) vm.expectRevert(expectedRevert);
        vm.prank(op);
        workers.registerWorker(
            worker, IAttestationVerifier(address(verifier)), evidence, "http://127.0.0.1:1", deadline, signature
        );
    }

    function _registerWorker(uint256 key, address op, bytes32 measurement) internal returns (address worker) {
        worker = vm.addr(key);
        workerKeyOf[worker] = key;
        workerAddrs.push(worker);
        _registerKey(key, op, measurement);
    }

    // ---------------------------------------------------------------- request helpers

    /// @dev A request through the fixture's consumer and account with default limits.
    function _request() internal returns (IAgentRouter.AgentRequest memory) {
        return _request(bytes("what a great day"), CALLBACK_GAS, MAX_FEE);
    }

    function _request(bytes memory input, uint32 callbackGasLimit, uint96 maxFee)
        internal
        returns (IAgentRouter.AgentRequest memory)
    {
        vm.recordLogs();
        consumer.request(accountId, agentId, input, 0, callbackGasLimit, maxFee);
        return _requestFromLogs();
    }

    /// @dev The request of the (last) AgentRequested event since vm.recordLogs().
    function _requestFromLogs() internal returns (IAgentRouter.AgentRequest memory req) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(router) && logs[i].topics[0] == IAgentRouter.AgentRequested.selector) {
                (req,) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
                found = true;
            }
        }
        assertTrue(found, "no AgentRequested event");
    }

    /// @dev totalFee, refund and callbackSucceeded of the RequestFulfilled event since vm.recordLogs().
    function _settlementFromLogs() internal returns (uint256 totalFee, uint256 refund, bool callbackSucceeded) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(router) && logs[i].topics[0] == IAgentRouter.RequestFulfilled.selector) {
                (, callbackSucceeded,, totalFee, refund) = abi.decode(logs[i].data, (uint16, bool, bytes32, uint256, uint256));
                found = true;
            }
        }
        assertTrue(found, "no RequestFulfilled event");
    }

    // ---------------------------------------------------------------- signing helpers

    function _requestHash(IAgentRouter.AgentRequest memory req) internal pure returns (bytes32) {
        return keccak256(abi.encode(req));
    }

    /// @dev The prices an honest worker signs for `subAgentIds`: each callee's current registry price.
    function _pricesOf(uint256[] memory subAgentIds) internal view returns (uint96[] memory prices) {
        prices = new uint96[](subAgentIds.length);
        for (uint256 i; i < subAgentIds.length; ++i) {
            (, prices[i]) = agents.ownerAndPrice(subAgentIds[i]);
        }
    }

    function _digest(
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subAgentIds,
        uint96[] memory subAgentPrices
    ) internal view returns (bytes32) {
        return router.fulfillmentDigest(
            req.id, _requestHash(req), keccak256(output), status, subAgentIds, subAgentPrices, req.worker
        );
    }

    function _digest(IAgentRouter.AgentRequest memory req, bytes memory output, uint16 status, uint256[] memory subAgentIds)
        internal
        view
        returns (bytes32)
    {
        return _digest(req, output, status, subAgentIds, _pricesOf(subAgentIds));
    }

    function _sign(
        uint256 key,
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subAgentIds,
        uint96[] memory subAgentPrices
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(req, output, status, subAgentIds, subAgentPrices));
        return abi.encodePacked(r, s, v);
    }

    function _sign(
        uint256 key,
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subAgentIds
    ) internal view returns (bytes memory) {
        return _sign(key, req, output, status, subAgentIds, _pricesOf(subAgentIds));
    }

    /// @dev An answer to `req` naming `worker` (a backup, or anyone a test impersonates) in the signed struct, signed with `key`.
    function _signedAs(IAgentRouter.AgentRequest memory req, uint256 key, address worker, bytes memory output)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        uint256[] memory none = new uint256[](0);
        uint96[] memory noPrices = new uint96[](0);
        bytes32 digest =
            router.fulfillmentDigest(req.id, _requestHash(req), keccak256(output), 0, none, noPrices, worker);
        return IAgentRouter.Fulfillment({
            request: req,
            status: 0,
            output: output,
            subAgentIds: none,
            subAgentPrices: noPrices,
            signature: _signDigest(key, digest)
        });
    }

    /// @dev A fulfilment signed by the request's assigned worker, with explicit sub-call prices.
    function _fulfillment(
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subAgentIds,
        uint96[] memory subAgentPrices
    ) internal view returns (IAgentRouter.Fulfillment memory) {
        return IAgentRouter.Fulfillment({
            request: req,
            status: status,
            output: output,
            subAgentIds: subAgentIds,
            subAgentPrices: subAgentPrices,
            signature: _sign(workerKeyOf[req.worker], req, output, status, subAgentIds, subAgentPrices)
        });
    }

    /// @dev A fulfilment signed by the request's assigned worker, sub-calls at their current prices.
    function _fulfillment(
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subAgentIds
    ) internal view returns (IAgentRouter.Fulfillment memory) {
        return _fulfillment(req, output, status, subAgentIds, _pricesOf(subAgentIds));
    }

    function _fulfillment(IAgentRouter.AgentRequest memory req, bytes memory output)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        return _fulfillment(req, output, 0, new uint256[](0));
    }

    function _answer(uint256 key, IAgentRouter.AgentRequest memory req, bytes memory output, uint16 status)
        internal
        view
        returns (IAgentRouter.SignedAnswer memory)
    {
        uint256[] memory none = new uint256[](0);
        return IAgentRouter.SignedAnswer({
            outputHash: keccak256(output),
            status: status,
            subAgentIds: none,
            subAgentPrices: new uint96[](0),
            signature: _sign(key, req, output, status, none)
        });
    }

    // ---------------------------------------------------------------- views

    function _balanceOf(uint64 id) internal view returns (uint256) {
        return router.accountOf(id).balance;
    }

    function _reservedOf(uint64 id) internal view returns (uint256) {
        return router.accountOf(id).reserved;
    }

    /// @dev The minimum fee the router charges for the agent price and config now: price + worker fee +
    /// protocol share + metered gas + the capacity fee (recomputed here independently of the router).
    function _expectedMinimumFee(uint256 price, uint32 callbackGasLimit, AgentRouterState.Config memory c)
        internal
        view
        returns (uint256)
    {
        return _expectedFeeAt(price, callbackGasLimit, c, router.pendingRelayGas());
    }

    /// @dev What estimateFee quotes: the minimum fee with the capacity fee priced as if an eighth of the
    /// relay capacity more were held (the quote's headroom).
    function _expectedEstimate(uint256 price, uint32 callbackGasLimit, AgentRouterState.Config memory c)
        internal
        view
        returns (uint256)
    {
        uint256 headroom = uint256(router.relayGasPerSecond()) * c.requestTimeout / 8;
        return _expectedFeeAt(price, callbackGasLimit, c, router.pendingRelayGas() + headroom);
    }

    function _expectedFeeAt(uint256 price, uint32 callbackGasLimit, AgentRouterState.Config memory c, uint256 pending)
        internal
        view
        returns (uint256)
    {
        uint256 base = price + c.workerFee;
        uint256 relayGas = uint256(callbackGasLimit) + c.fulfillOverheadGas + 60_000 + 65_536 * 20;
        return base + base * c.protocolFeeBps / 10_000 + relayGas * c.phaPerGas + _expectedCapacityFee(relayGas, pending, c.requestTimeout);
    }

    /// @dev relayGas x timeout x capacityPrice x u^4, u = (pending + relayGas) / capacity at most 1.
    function _expectedCapacityFee(uint256 relayGas, uint256 pendingBefore, uint256 timeout)
        internal
        view
        returns (uint256)
    {
        uint256 u = (pendingBefore + relayGas) * 1e18 / (uint256(router.relayGasPerSecond()) * timeout);
        if (u > 1e18) u = 1e18;
        uint256 u2 = u * u / 1e18;
        return relayGas * timeout * router.capacityPrice() * (u2 * u2 / 1e18) / 1e18;
    }

    function _ids(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }
}
