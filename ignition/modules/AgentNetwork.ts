import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { Wallet } from "ethers";

/** Router fees and limits unless the `routerConfig` parameter replaces them (all fields at once). */
export const DEFAULT_ROUTER_CONFIG = {
  workerFee: 10n ** 17n, // 0.1 PHA per request to the worker's pool
  phaPerGas: 1_000_000_000n, // 1 gwei of PHA per gas unit reimbursed to relayers
  protocolFeeBps: 500,
  fulfillOverheadGas: 40_000,
  maxCallbackGasLimit: 2_000_000,
  requestTimeout: 120,
};

/**
 * The whole agent network for a development chain: PHA, registries, both attestation verifiers
 * (simulated TEE, which refuses non-development chain ids, and the gatekeeper quorum), the router,
 * the staking hub and vault, the key registry, and the wiring between them.
 * Governance is the deployer here; production deployments hand ownership to a timelock.
 * Development gatekeepers are Hardhat's accounts 7, 8 and 9 (2 of 3).
 */
export default buildModule("AgentNetwork", (m) => {
  const deployer = m.getAccount(0);
  const treasury = m.getParameter("treasury", deployer);
  const routerConfig = m.getParameter("routerConfig", DEFAULT_ROUTER_CONFIG);
  const maxInputBytes = m.getParameter("maxInputBytes", 16_384);
  const attestationValidity = m.getParameter("attestationValidity", 7n * 24n * 3600n);

  const pha = m.contract("PhalaToken", [deployer]);
  const agentRegistry = m.contract("AgentRegistry");
  const workerRegistry = m.contract("WorkerRegistry", [deployer]);
  const simulatedVerifier = m.contract("SimulatedTeeVerifier", [
    new Wallet(DEV_ATTESTATION_PRIVATE_KEY).address,
    attestationValidity,
  ]);
  const router = m.contract("AgentRouter", [
    pha,
    agentRegistry,
    workerRegistry,
    deployer,
    treasury,
    routerConfig,
    maxInputBytes,
  ]);

  const stakingParams = m.getParameter("stakingParams", {
    minStakePerWorker: 1_000n * 10n ** 18n,
    unbondingPeriod: 24n * 3600n,
    commissionChangeDelay: 24n * 3600n,
    timeoutSlashBps: 100,
    equivocationSlashBps: 2_000,
    reporterShareBps: 1_000,
    wrongedShareBps: 4_000,
    minCommissionBps: 0,
    maxCommissionBps: 5_000,
  });
  const stakingHub = m.contract("StakingHub", [pha, workerRegistry, treasury, stakingParams, deployer]);
  const stakingVault = m.contract("StakingVault", [pha, stakingHub, deployer, deployer]);

  const gatekeeperThreshold = m.getParameter("gatekeeperThreshold", 2);
  const quorumVerifier = m.contract(
    "GatekeeperQuorumVerifier",
    [deployer, [m.getAccount(7), m.getAccount(8), m.getAccount(9)], gatekeeperThreshold, 30n * 24n * 3600n],
    { id: "GatekeeperQuorumVerifier" },
  );
  const keyRegistry = m.contract("KeyRegistry", [
    deployer,
    quorumVerifier,
    m.getParameter("keyActivationDelay", 60n),
    m.getParameter("keyGracePeriod", 600n),
  ]);

  m.call(workerRegistry, "setRouter", [router]);
  m.call(workerRegistry, "setVerifierApproved", [simulatedVerifier, true], { id: "approveSimulatedVerifier" });
  m.call(workerRegistry, "setVerifierApproved", [quorumVerifier, true], { id: "approveQuorumVerifier" });
  m.call(workerRegistry, "setMeasurementApproved", [SIMULATED_MEASUREMENT, true]);
  m.call(router, "setStaking", [stakingHub]);
  m.call(router, "setKeyRegistry", [keyRegistry]);
  m.call(stakingHub, "setRouter", [router]);

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
  };
});
