import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { Wallet } from "ethers";

/**
 * The whole agent network for a development chain: PHA, registries, the simulated-TEE verifier
 * (it refuses non-development chain ids), the router, and the wiring between them.
 * Governance is the deployer here; production deployments hand ownership to a timelock.
 */
export default buildModule("AgentNetwork", (m) => {
  const deployer = m.getAccount(0);
  const treasury = m.getParameter("treasury", deployer);
  const routerConfig = m.getParameter("routerConfig", {
    workerFee: 10n ** 17n, // 0.1 PHA per request to the worker's pool
    phaPerGas: 1_000_000_000n, // 1 gwei of PHA per gas unit reimbursed to relayers
    protocolFeeBps: 500,
    fulfillOverheadGas: 40_000,
    maxCallbackGasLimit: 2_000_000,
    requestTimeout: 120,
  });
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

  m.call(workerRegistry, "setRouter", [router]);
  m.call(workerRegistry, "setVerifierApproved", [simulatedVerifier, true]);
  m.call(workerRegistry, "setMeasurementApproved", [SIMULATED_MEASUREMENT, true]);

  return { pha, agentRegistry, workerRegistry, simulatedVerifier, router };
});
