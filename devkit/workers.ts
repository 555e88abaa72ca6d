import type { Signer } from "ethers";
import { SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../protocol/attestation.js";
import type { WorkerAttestation } from "../protocol/worker-api.js";
import { REGISTRATION_SIGNATURE_LIFETIME_SECONDS, signWorkerRegistration, type RegistrationSigner } from "../protocol/worker-registration.js";
import { WorkerAttestation as WorkerAttestationSchema } from "../protocol/worker-api.js";
import { allowPha, withSigner, type AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** Which approved verifier checks a worker's evidence. */
export type VerifierChoice = "simulated" | "quorum" | "auto";

/** What registering a worker takes: its evidence and its key's consent for the operator (GET /attestation). */
export type WorkerCredentials = Pick<WorkerAttestation, "worker" | "evidence" | "simulated" | "gatekeeperEvidence" | "registration">;

/**
 * Simulated-TEE evidence, issued at the chain's latest block time, and the key's consent to be
 * registered by `operator`, for an enclave key held outside a worker (a test's or benchmark's Wallet).
 */
export async function simulatedAttestation(
  net: AgentNetwork,
  enclave: RegistrationSigner,
  operator: string,
  measurement: string = SIMULATED_MEASUREMENT,
): Promise<WorkerCredentials> {
  const provider = net.router.runner!.provider!;
  const { chainId } = await provider.getNetwork();
  const issuedAt = (await provider.getBlock("latest"))!.timestamp;
  const registry = await net.workerRegistry.getAddress();
  const evidence = encodeSimulatedEvidence(reportDataFor(enclave.address, chainId, registry), measurement, issuedAt);
  const consent = await signWorkerRegistration(enclave, chainId, registry, operator, BigInt(issuedAt + REGISTRATION_SIGNATURE_LIFETIME_SECONDS));
  return { worker: enclave.address, evidence, simulated: true, registration: { ...consent, deadline: consent.deadline.toString() } };
}

/** A worker's GET /attestation answer, validated. */
export async function fetchAttestation(endpoint: string, timeoutMs = 10_000): Promise<WorkerAttestation> {
  const url = `${endpoint.replace(/\/+$/, "")}/attestation`;
  let body: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new DevkitError(`cannot read the worker's attestation at ${url}: ${(error as Error).message}`);
  }
  const parsed = WorkerAttestationSchema.safeParse(body);
  if (!parsed.success) throw new DevkitError(`${url} answered something that is not a worker attestation: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Registers the worker's enclave key in the WorkerRegistry, operated by the network's signer, with
 * the key's consent for that operator (the registry refuses anyone else). "auto" uses the
 * gatekeepers' quorum evidence when the worker has it, else the simulated verifier (development
 * chains only) for a simulated enclave.
 */
export async function registerWorker(
  net: AgentNetwork,
  credentials: WorkerCredentials,
  endpoint: string,
  verifier: VerifierChoice = "auto",
): Promise<{ verifier: string; txHash: string }> {
  const operator = await net.signer.getAddress();
  const consent = credentials.registration;
  if (consent === undefined) {
    throw new DevkitError(`worker ${credentials.worker} gives no registration consent: set its config's "operator" to your address ${operator} and restart it`);
  }
  if (consent.operator.toLowerCase() !== operator.toLowerCase()) {
    throw new DevkitError(
      `worker ${credentials.worker} consents to be registered by ${consent.operator}, not by ${operator} (choose that account with --signer, or change the worker's "operator")`,
    );
  }
  const quorum = credentials.gatekeeperEvidence;
  const useQuorum = verifier === "quorum" || (verifier === "auto" && quorum !== undefined);
  let verifierAddress: string;
  let evidence: string;
  if (useQuorum) {
    if (quorum === undefined) throw new DevkitError(`worker ${credentials.worker} has no gatekeeper quorum evidence (is it configured with gatekeepers?)`);
    [verifierAddress, evidence] = [quorum.verifier, quorum.evidence];
  } else {
    if (!credentials.simulated)
      throw new DevkitError(`worker ${credentials.worker} runs in a real enclave: register it with gatekeeper evidence (--verifier quorum)`);
    [verifierAddress, evidence] = [await net.simulatedVerifier.getAddress(), credentials.evidence];
  }
  const receipt = await sendTx(`workerRegistry.registerWorker(${credentials.worker})`, () =>
    net.workerRegistry.registerWorker(credentials.worker, verifierAddress, evidence, endpoint, consent.deadline, consent.signature),
  );
  return { verifier: verifierAddress, txHash: receipt.hash };
}

/** Opens a staking pool operated by the network's signer; returns its id. */
export async function createPool(net: AgentNetwork, commissionBps: number): Promise<bigint> {
  const receipt = await sendTx("stakingHub.createPool", () => net.stakingHub.createPool(commissionBps));
  return eventIn(receipt, net.stakingHub, "PoolCreated").args.poolId as bigint;
}

/** Stakes `amount` PHA wei of the signer's into pool `poolId` (approve + stake). */
export async function stake(net: AgentNetwork, poolId: bigint, amount: bigint): Promise<void> {
  await allowPha(net, await net.stakingHub.getAddress(), amount);
  await sendTx(`stakingHub.stake(${poolId})`, () => net.stakingHub.stake(poolId, amount));
}

/**
 * The operator bond {bringWorkerOnline} posts for one worker: a margin of BOND_MARGIN times the hub's
 * minimum, since a pool whose bond falls below the minimum (one missed window at exactly the minimum)
 * leaves the draw until its operator tops the bond up.
 */
const BOND_MARGIN = 4n;
async function bondToPost(net: AgentNetwork): Promise<bigint> {
  return (await net.stakingHub.params()).minBondPerWorker * BOND_MARGIN;
}

/** Gives `operator` what {bringWorkerOnline} spends: `stakeAmount` and the bond of one worker. */
export async function fundOperator(net: AgentNetwork, operator: Signer | string, stakeAmount: bigint): Promise<void> {
  const bond = await bondToPost(net);
  await sendTx("pha.transfer", () => net.pha.transfer(operator, stakeAmount + bond));
}

/** Posts `amount` PHA wei of the signer's as pool `poolId`'s operator bond (approve + postBond). */
export async function postBond(net: AgentNetwork, poolId: bigint, amount: bigint): Promise<void> {
  await allowPha(net, await net.stakingHub.getAddress(), amount);
  await sendTx(`stakingHub.postBond(${poolId})`, () => net.stakingHub.postBond(poolId, amount));
}

/** Puts a registered worker of the pool's operator into the pool: it becomes eligible for requests. */
export async function addPoolWorker(net: AgentNetwork, poolId: bigint, worker: string): Promise<void> {
  await sendTx(`stakingHub.addWorker(${poolId}, ${worker})`, () => net.stakingHub.addWorker(poolId, worker));
}

/**
 * Brings a worker online as an operator does: register its attestation, open a pool, self-stake
 * `stakeAmount` and post four times the hub's minimum operator bond for one worker (both of which
 * the operator must hold: {fundOperator}), and add the worker to the pool unless `inPool` is false (a staked pool kept out of
 * sampling).
 */
export async function bringWorkerOnline(
  operatorNet: AgentNetwork,
  credentials: WorkerCredentials,
  options: { endpoint: string; stake: bigint; commissionBps?: number; inPool?: boolean },
): Promise<bigint> {
  await registerWorker(operatorNet, credentials, options.endpoint);
  const poolId = await createPool(operatorNet, options.commissionBps ?? 1_000);
  await stake(operatorNet, poolId, options.stake);
  const bond = await bondToPost(operatorNet);
  if (bond !== 0n) await postBond(operatorNet, poolId, bond);
  if (options.inPool ?? true) await addPoolWorker(operatorNet, poolId, credentials.worker);
  return poolId;
}

/**
 * A simulated worker whose key a test or benchmark holds (a Wallet), brought online by `operator`
 * in its own pool with `stakeAmount` and the minimum bond, which the network's signer gives the
 * operator first.
 */
export async function addSimulatedWorker(
  net: AgentNetwork,
  operator: Signer,
  enclave: RegistrationSigner,
  stakeAmount: bigint,
  endpoint: string,
  measurement: string = SIMULATED_MEASUREMENT,
): Promise<bigint> {
  await fundOperator(net, operator, stakeAmount);
  const credentials = await simulatedAttestation(net, enclave, await operator.getAddress(), measurement);
  return bringWorkerOnline(withSigner(net, operator), credentials, { endpoint, stake: stakeAmount });
}
