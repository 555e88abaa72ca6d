import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { Future } from "@nomicfoundation/ignition-core";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { Wallet, ZeroHash, id } from "ethers";

/** Router fees and limits unless the `routerConfig` parameter replaces them (all fields at once). */
export const DEFAULT_ROUTER_CONFIG = {
  workerFee: 10n ** 17n, // 0.1 PHA per request to the worker's pool
  phaPerGas: 1_000_000_000n, // 1 gwei of PHA per gas unit reimbursed to relayers
  protocolFeeBps: 500,
  timeoutPenaltyBps: 20_000, // a missed deadline slashes 2 worker fees (0.2 PHA) from the pool
  fulfillOverheadGas: 40_000,
  maxCallbackGasLimit: 2_000_000,
  requestTimeout: 120,
  maxPendingPerWorker: 16, // a worker answers 16 before their deadline: docs/ARCHITECTURE.md, "Timeout flood"
};

/**
 * Gas per second relayers put on chain for the router's answers unless the `relayGasPerSecond`
 * parameter replaces it: half of an L1 that carries 36M gas every 12 s (3M gas/s), the rest left to
 * everyone else. The router admits pending requests' relay gas up to this times `requestTimeout`:
 * 180M gas at 120 s, which relayers land in half the window (docs/ARCHITECTURE.md, "Relay capacity").
 */
export const DEFAULT_RELAY_GAS_PER_SECOND = 1_500_000n;

/**
 * PHA wei per relay gas per second of timeout a request pays for the relay capacity at full
 * utilisation, unless the `capacityPrice` parameter replaces it. A request pays relayGas * timeout *
 * price * u^4 (u: utilisation with it admitted), at once and to the treasury: ~0.0002 PHA at 10 %,
 * while holding the whole default capacity costs an attacker ~1,300 PHA an hour
 * (docs/ARCHITECTURE.md, "Relay capacity").
 */
export const DEFAULT_CAPACITY_PRICE = 10_000_000_000n;

/**
 * Governor settings unless the `governance` parameter replaces them (all fields at once), in
 * seconds and PHA wei; PhalaGovernor's hard bounds apply. Production values (docs/ARCHITECTURE.md):
 * voting delay 2 days, voting period 5 days, threshold 100,000 PHA, quorum 4%.
 */
export const DEFAULT_GOVERNANCE = {
  votingDelay: 3_600n, // 1 hour, the shortest allowed
  votingPeriod: 86_400n, // 1 day, the shortest allowed
  proposalThreshold: 1_000n * 10n ** 18n, // 1,000 PHA, the lowest allowed
  quorumNumerator: 4n, // 4% of PHA's supply
};

/**
 * The timelock's configured delay unless `timelockDelay` replaces it: the development unbonding
 * period (1 day) plus PhalaTimelock.EXIT_MARGIN (1 hour), the shortest the timelock accepts. A
 * deployment with a longer unbonding period must pass a `timelockDelay` of at least it + 1 hour.
 */
export const DEFAULT_TIMELOCK_DELAY = 90_000n;

/**
 * The mining reserve's schedule unless `miningSchedule` replaces it (all fields at once; MiningRewards'
 * bounds apply): 10,000 PHA per day-long epoch, 1% less every 30 epochs, a unit of work earning at
 * most 80% of the protocol fee it paid, a fault costing the pool a day of rewards.
 */
export const DEFAULT_MINING_SCHEDULE = {
  initialEpochBudget: 10_000n * 10n ** 18n,
  decayBps: 100,
  decayEpochs: 30,
  shareBps: 8_000,
  faultPenalty: 86_400,
};

/** Share of PHA's supply the mining reserve may hold (`miningReserveShareBps`), and what the deployer funds it with (`miningFunding`). */
export const DEFAULT_MINING_RESERVE_SHARE_BPS = 3_000;
export const DEFAULT_MINING_FUNDING = 10_000_000n * 10n ** 18n;

/**
 * Governance's bounds on the vault allocator's curator and the curator's initial parameters
 * (`allocatorBounds`, `allocatorParams`; VaultAllocator's constant limits apply): at most 40% of the
 * vault in one pool, returns over 5 epochs, a pool keeps new stake 3 epochs, 1% drift.
 */
export const DEFAULT_ALLOCATOR_BOUNDS = { maxPoolShareBps: 5_000, minWindow: 2, maxWindow: 15, minStay: 1, maxDriftBps: 1_000 };
export const DEFAULT_ALLOCATOR_PARAMS = { maxPoolShareBps: 4_000, window: 5, minStay: 3, driftBps: 100 };

/** Timelock roles (keccak256 of their names, as in OpenZeppelin's TimelockController). */
export const TIMELOCK_ROLES = {
  admin: ZeroHash,
  proposer: id("PROPOSER_ROLE"),
  executor: id("EXECUTOR_ROLE"),
  canceller: id("CANCELLER_ROLE"),
  guardian: id("GUARDIAN_ROLE"),
};

/**
 * The whole agent network for a development chain: PHA, registries, both attestation verifiers
 * (simulated TEE, which refuses non-development chain ids, and the gatekeeper quorum), the router,
 * the staking hub and vault, the key registry, the wiring between them, and governance: the
 * stake-votes ledger, PhalaGovernor and PhalaTimelock, which ends up owning every ownable contract.
 * The deployer wires everything first, then hands over: each contract offers its ownership to the
 * timelock (Ownable2Step), the timelock accepts them all in one call, and the deployer renounces its
 * deployment-time admin role on the timelock. Until the timelock accepts, the deployer stays the
 * owner and only the timelock can take over, so there is no moment anyone else can act.
 * Nobody's PHA is delegated here (PHA votes only once delegated): `npm run local` delegates the
 * deployer's to itself, and the devkit's `govern` helper does so before proposing.
 * Development gatekeepers are Hardhat's accounts 7, 8 and 9 (2 of 3); the guardian is account 6; the
 * treasury (a payee) is the deployer unless `treasury` says otherwise.
 * The economy: a MiningRewards reserve (funded by the deployer with `miningFunding`) that the hub
 * reports settled work to, PoolPerformance, and a VaultAllocator that is the vault's manager, so
 * the vault's stake follows the pools' returns by a rule anyone runs once per epoch. Its curator
 * (who lists the candidate pools and sets the rule's parameters within governance's bounds) is the
 * timelock: listing candidates is a proposal, and so is appointing another curator (`setCurator`).
 */
export default buildModule("AgentNetwork", (m) => {
  const deployer = m.getAccount(0);
  // Receives protocol fees and slashes' treasury share: a payee with no power over any contract.
  const treasury = m.getParameter("treasury", deployer);
  const routerConfig = m.getParameter("routerConfig", DEFAULT_ROUTER_CONFIG);
  const maxInputBytes = m.getParameter("maxInputBytes", 16_384);
  const attestationValidity = m.getParameter("attestationValidity", 7n * 24n * 3600n);

  const pha = m.contract("PhalaToken", [deployer]);
  const agentRegistry = m.contract("AgentRegistry");
  const workerRegistry = m.contract("WorkerRegistry", [deployer]);
  const simulatedVerifier = m.contract("SimulatedTeeVerifier", [new Wallet(DEV_ATTESTATION_PRIVATE_KEY).address, attestationValidity]);
  const router = m.contract("AgentRouter", [pha, agentRegistry, workerRegistry, deployer, treasury, routerConfig, maxInputBytes]);

  const stakingParams = m.getParameter("stakingParams", {
    minStakePerWorker: 1_000n * 10n ** 18n,
    unbondingPeriod: 24n * 3600n,
    commissionChangeDelay: 24n * 3600n,
    equivocationSlashBps: 2_000,
    minCommissionBps: 0,
    maxCommissionBps: 5_000,
    // Operator bond per worker, slashed before any staker: a worker's whole queue (maxPendingPerWorker,
    // 16) can time out without touching delegators. Each timeout slashes the miss penalty (2 worker
    // fees, 0.2 PHA) plus the request's capacity fee, at most relayGas * timeout * capacityPrice with
    // the longest callback (3,410,720 gas * 120 s * 1e10 = 4.093 PHA): 16 * 4.293 = 68.69 PHA, rounded
    // up (review s26 C-3; test/devkit/deployment.ts checks it against the deployed router). Governance
    // raising the capacity price, the penalty or the queue must raise this with it.
    minBondPerWorker: 70n * 10n ** 18n,
  });
  const stakingHub = m.contract("StakingHub", [pha, workerRegistry, treasury, stakingParams, deployer]);
  const timelock = m.contract("PhalaTimelock", [m.getParameter("timelockDelay", DEFAULT_TIMELOCK_DELAY), [], [], deployer, stakingHub]);
  // The vault's manager is the allocator below; the deployer only until it is wired.
  const stakingVault = m.contract("StakingVault", [pha, stakingHub, deployer, deployer]);

  // The economy: mining rewards paid by settled work, and the vault allocated by pool performance.
  const miningFunding = m.getParameter("miningFunding", DEFAULT_MINING_FUNDING);
  const miningRewards = m.contract("MiningRewards", [
    pha,
    stakingHub,
    m.getParameter("miningSchedule", DEFAULT_MINING_SCHEDULE),
    m.getParameter("miningReserveShareBps", DEFAULT_MINING_RESERVE_SHARE_BPS),
    deployer,
  ]);
  const poolPerformance = m.contract("PoolPerformance", [stakingHub]);
  const vaultAllocator = m.contract("VaultAllocator", [
    stakingVault,
    stakingHub,
    poolPerformance,
    m.getParameter("allocatorBounds", DEFAULT_ALLOCATOR_BOUNDS),
    m.getParameter("allocatorParams", DEFAULT_ALLOCATOR_PARAMS),
    timelock,
    deployer,
  ]);
  const approveMining = m.call(pha, "approve", [miningRewards, miningFunding], { id: "approveMiningFunding" });

  const gatekeeperThreshold = m.getParameter("gatekeeperThreshold", 2);
  const quorumVerifier = m.contract(
    "GatekeeperQuorumVerifier",
    [deployer, [m.getAccount(7), m.getAccount(8), m.getAccount(9)], gatekeeperThreshold, 30n * 24n * 3600n],
    { id: "GatekeeperQuorumVerifier" },
  );
  const keyRegistry = m.contract("KeyRegistry", [deployer, quorumVerifier, m.getParameter("keyActivationDelay", 60n), m.getParameter("keyGracePeriod", 600n)]);

  const wiring: Future[] = [
    m.call(workerRegistry, "setRouter", [router]),
    m.call(workerRegistry, "setVerifierApproved", [simulatedVerifier, true], { id: "approveSimulatedVerifier" }),
    m.call(workerRegistry, "setVerifierApproved", [quorumVerifier, true], { id: "approveQuorumVerifier" }),
    m.call(workerRegistry, "setMeasurementApproved", [SIMULATED_MEASUREMENT, true]),
    m.call(router, "setStaking", [stakingHub]),
    m.call(router, "setKeyRegistry", [keyRegistry]),
    m.call(router, "setRelayGasPerSecond", [m.getParameter("relayGasPerSecond", DEFAULT_RELAY_GAS_PER_SECOND)]),
    m.call(router, "setCapacityPrice", [m.getParameter("capacityPrice", DEFAULT_CAPACITY_PRICE)]),
    m.call(stakingHub, "setRouter", [router]),
    m.call(stakingHub, "setMiningRewards", [miningRewards]),
    m.call(miningRewards, "fund", [miningFunding], { after: [approveMining] }),
    m.call(stakingVault, "setManager", [vaultAllocator]),
  ];

  // Governance: staked PHA votes through the ledger, which the hub and the vault keep in step.
  const stakeVotes = m.contract("StakedPhaVotes", [stakingHub, stakingVault]);
  wiring.push(m.call(stakingHub, "setStakeVotes", [stakeVotes]), m.call(stakingVault, "setStakeVotes", [stakeVotes]));
  const governor = m.contract("PhalaGovernor", [pha, stakeVotes, timelock, m.getParameter("governance", DEFAULT_GOVERNANCE)]);
  const guardian = m.getParameter("guardian", m.getAccount(6));
  const roles = [
    m.call(timelock, "grantRole", [TIMELOCK_ROLES.proposer, governor], { id: "grantProposer" }),
    m.call(timelock, "grantRole", [TIMELOCK_ROLES.canceller, governor], { id: "grantCanceller" }),
    m.call(timelock, "grantRole", [TIMELOCK_ROLES.executor, governor], { id: "grantExecutor" }),
    m.call(timelock, "grantRole", [TIMELOCK_ROLES.guardian, guardian], { id: "grantGuardian" }),
    m.call(timelock, "setGuardianPausable", [router, true]),
  ];

  // The hand-over, after every call that needs the deployer as owner.
  const owned = [router, workerRegistry, stakingHub, stakingVault, quorumVerifier, keyRegistry, miningRewards, vaultAllocator];
  const offers = owned.map((contract) => m.call(contract, "transferOwnership", [timelock], { after: wiring }));
  const accepted = m.call(timelock, "acceptOwnerships", [owned], { after: offers });
  m.call(timelock, "renounceRole", [TIMELOCK_ROLES.admin, deployer], { after: [accepted, ...roles] });

  return {
    pha,
    agentRegistry,
    workerRegistry,
    simulatedVerifier,
    quorumVerifier,
    keyRegistry,
    router,
    stakingHub,
    stakingVault,
    miningRewards,
    poolPerformance,
    vaultAllocator,
    stakeVotes,
    timelock,
    governor,
  };
});
