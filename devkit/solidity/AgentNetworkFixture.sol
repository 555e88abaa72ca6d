// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "../../test/utils/Test.sol";
import {Vm} from "../../test/utils/Vm.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {AgentRegistry} from "../../contracts/agents/AgentRegistry.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IAttestationVerifier} from "../../contracts/interfaces/IAttestationVerifier.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";

/// @title AgentNetworkFixture
/// @notice Base for a consumer's Solidity tests (`*.t.sol`): deploys the agent network as the
/// Ignition module does (PHA, registries, simulated-TEE verifier, router, StakingHub), brings one
/// staked simulated worker online and opens a funded billing account owned by the test contract.
/// The contracts stay owned by the test contract (the Ignition module hands them to the governance
/// timelock; test/governance/GovernanceFixture.sol builds that on top of this fixture).
/// Solidity tests cannot run an agent's JavaScript: the test chooses the answer and the fixture
/// delivers it exactly as a worker would, signed with the worker's enclave key and settled through
/// `router.fulfill`. To run the real agent, use the TypeScript test kit (devkit/testing.ts).
///
///     contract MyConsumerTest is AgentNetworkFixture {
///         function setUp() public override {
///             super.setUp();
///             uint256 agentId = _registerAgent(1 ether);
///             consumer = new MyConsumer(router, accountId, agentId);
///             _addConsumer(address(consumer));
///         }
///         function test_answer() public {
///             uint256 requestId = consumer.ask("hello");
///             _fulfill(requestId, abi.encode(uint256(42)));
///         }
///     }
abstract contract AgentNetworkFixture is Test {
    /// @dev Keys of the development attestation signer and of the fixture's worker enclave.
    uint256 internal constant FIXTURE_DEV_ATTESTATION_KEY = uint256(keccak256("AgentNetworkFixture dev attestation key"));
    uint256 internal constant FIXTURE_WORKER_KEY = uint256(keccak256("AgentNetworkFixture worker enclave key"));
    bytes32 internal constant FIXTURE_MEASUREMENT = keccak256("phala-agent-worker/simulated-runtime");
    address internal constant FIXTURE_OPERATOR = address(0x0FE7A70);
    address internal constant FIXTURE_RELAYER = address(0x4E1A7);
    uint256 internal constant FIXTURE_ACCOUNT_FUNDS = 1_000 ether;
    uint256 internal constant FIXTURE_POOL_STAKE = 10_000 ether;
    /// @dev The deployed minBondPerWorker (ignition/modules/AgentNetwork.ts), posted by the operator.
    uint128 internal constant FIXTURE_POOL_BOND = 70 ether;

    PhalaToken internal pha;
    AgentRegistry internal agentRegistry;
    WorkerRegistry internal workerRegistry;
    SimulatedTeeVerifier internal simulatedVerifier;
    AgentRouter internal router;
    StakingHub internal stakingHub;
    /// @notice The fixture's billing account, owned by this test contract.
    uint64 internal accountId;
    /// @notice The enclave address of the fixture's worker (every request is assigned to it).
    address internal worker;

    mapping(uint256 requestId => IAgentRouter.AgentRequest) private _requests;

    function setUp() public virtual {
        _deployAgentNetwork();
    }

    /// @dev The network with the AgentNetwork Ignition module's default parameters.
    function _deployAgentNetwork() internal {
        pha = new PhalaToken(address(this));
        agentRegistry = new AgentRegistry();
        workerRegistry = new WorkerRegistry(address(this));
        simulatedVerifier = new SimulatedTeeVerifier(vm.addr(FIXTURE_DEV_ATTESTATION_KEY), 7 days);
        router = new AgentRouter(
            IERC20(address(pha)),
            agentRegistry,
            workerRegistry,
            address(this),
            address(this),
            AgentRouterState.Config({
                workerFee: 0.1 ether,
                phaPerGas: 1 gwei,
                protocolFeeBps: 500,
                timeoutPenaltyBps: 20_000,
                fulfillOverheadGas: 40_000,
                maxCallbackGasLimit: 2_000_000,
                requestTimeout: 120,
                maxPendingPerWorker: 16
            }),
            16_384
        );
        stakingHub = new StakingHub(
            IERC20(address(pha)),
            workerRegistry,
            address(this),
            IStakingHub.Params({
                minStakePerWorker: 1_000 ether,
                unbondingPeriod: 1 days,
                commissionChangeDelay: 1 days,
                equivocationSlashBps: 2_000,
                minCommissionBps: 0,
                maxCommissionBps: 5_000,
                minBondPerWorker: FIXTURE_POOL_BOND
            }),
            address(this)
        );
        workerRegistry.setRouter(address(router));
        workerRegistry.setVerifierApproved(address(simulatedVerifier), true);
        workerRegistry.setMeasurementApproved(FIXTURE_MEASUREMENT, true);
        router.setStaking(stakingHub);
        stakingHub.setRouter(address(router));

        worker = vm.addr(FIXTURE_WORKER_KEY);
        _bringWorkerOnline();

        accountId = router.createAccount();
        pha.approve(address(router), FIXTURE_ACCOUNT_FUNDS);
        router.fund(accountId, FIXTURE_ACCOUNT_FUNDS);
        vm.recordLogs();
    }

    /// @dev Registers an agent owned by this test contract, open to every caller. Its code hash and
    /// URI are placeholders: no worker fetches them here.
    function _registerAgent(uint96 price) internal returns (uint256 agentId) {
        agentId = agentRegistry.registerAgent(keccak256("fixture agent bundle"), "file:///fixture.agent.js", price, new bytes32[](0), true);
    }

    /// @dev Lets `consumer` spend the fixture's billing account.
    function _addConsumer(address consumer) internal {
        router.addConsumer(accountId, consumer);
    }

    /// @dev Delivers `output` as the agent's successful answer to `requestId`.
    function _fulfill(uint256 requestId, bytes memory output) internal {
        _settle(requestId, AgentStatus.OK, output);
    }

    /// @dev Delivers an error result (an {AgentStatus} code other than OK) with its UTF-8 message.
    function _fulfillWithError(uint256 requestId, uint16 status, string memory message) internal {
        _settle(requestId, status, bytes(message));
    }

    /// @dev Moves past the request's deadline and times it out (refund + slash), as the bridge's sweep does.
    function _timeOut(uint256 requestId) internal {
        IAgentRouter.AgentRequest memory req = _requestOf(requestId);
        if (block.timestamp <= req.deadline) vm.warp(uint256(req.deadline) + 1);
        router.timeout(req);
    }

    /// @dev The full request struct of `requestId`, from the AgentRequested events recorded so far.
    function _requestOf(uint256 requestId) internal returns (IAgentRouter.AgentRequest memory req) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(router) && logs[i].topics[0] == IAgentRouter.AgentRequested.selector) {
                (IAgentRouter.AgentRequest memory recorded,) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
                _requests[recorded.id] = recorded;
            }
        }
        req = _requests[requestId];
        assertTrue(req.id == requestId && requestId != 0, "AgentNetworkFixture: no AgentRequested event for this request id");
    }

    function _settle(uint256 requestId, uint16 status, bytes memory output) private {
        IAgentRouter.AgentRequest memory req = _requestOf(requestId);
        uint256[] memory noSubAgents = new uint256[](0);
        uint96[] memory noPrices = new uint96[](0);
        bytes32 digest = router.fulfillmentDigest(
            req.id, keccak256(abi.encode(req)), keccak256(output), status, noSubAgents, noPrices, req.worker
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(FIXTURE_WORKER_KEY, digest);
        vm.prank(FIXTURE_RELAYER);
        router.fulfill(
            IAgentRouter.Fulfillment({
                request: req,
                status: status,
                output: output,
                subAgentIds: noSubAgents,
                subAgentPrices: noPrices,
                signature: abi.encodePacked(r, s, v)
            })
        );
    }

    function _bringWorkerOnline() private {
        uint64 issuedAt = uint64(block.timestamp);
        bytes32 digest = keccak256(
            abi.encode(
                simulatedVerifier.SIMULATED_QUOTE_TAG(), workerRegistry.reportDataFor(worker), FIXTURE_MEASUREMENT, issuedAt
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(FIXTURE_DEV_ATTESTATION_KEY, digest);
        bytes memory evidence = abi.encode(FIXTURE_MEASUREMENT, issuedAt, abi.encodePacked(r, s, v));
        // The enclave key's consent to be registered by the fixture's operator, valid this second.
        (v, r, s) = vm.sign(FIXTURE_WORKER_KEY, workerRegistry.registrationDigest(worker, FIXTURE_OPERATOR, issuedAt));
        bytes memory consent = abi.encodePacked(r, s, v);
        pha.transfer(FIXTURE_OPERATOR, FIXTURE_POOL_STAKE + FIXTURE_POOL_BOND);
        vm.startPrank(FIXTURE_OPERATOR);
        workerRegistry.registerWorker(
            worker, IAttestationVerifier(address(simulatedVerifier)), evidence, "http://127.0.0.1:1", issuedAt, consent
        );
        uint256 poolId = stakingHub.createPool(1_000);
        pha.approve(address(stakingHub), FIXTURE_POOL_STAKE + FIXTURE_POOL_BOND);
        stakingHub.stake(poolId, FIXTURE_POOL_STAKE);
        stakingHub.postBond(poolId, FIXTURE_POOL_BOND);
        stakingHub.addWorker(poolId, worker);
        vm.stopPrank();
    }
}
