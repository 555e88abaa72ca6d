import { z } from "zod";

/**
 * HTTP API between the bridge and a worker (JSON; numbers as decimal strings, bytes as 0x-hex).
 *   GET  /health        -> { ok, simulated, worker, ... }
 *   GET  /attestation   -> WorkerAttestation { simulated, worker, publicKey, measurement, reportData, evidence, gatekeeperEvidence?, registration? }
 *   POST /v1/execute    ExecuteRequest -> ExecuteResponse
 *   GET  /metrics       Prometheus text
 */
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "0x-prefixed even-length hex");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "0x-prefixed 20-byte address");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "0x-prefixed 32-byte hex");
const uint = z.string().regex(/^\d+$/, "decimal unsigned integer");

export const AgentRequestJson = z.object({
  id: uint,
  agentId: uint,
  consumer: address,
  accountId: uint,
  worker: address,
  agentVersion: uint,
  keyEpoch: uint,
  callbackGasLimit: uint,
  agentOwner: address,
  agentPrice: uint,
  maxFee: uint,
  deadline: uint,
  codeHash: bytes32,
  inputHash: bytes32,
});

export const ExecuteRequest = z.object({
  chainId: uint,
  router: address,
  request: AgentRequestJson,
  input: hex,
});
export type ExecuteRequest = z.infer<typeof ExecuteRequest>;

export const ExecuteResponse = z.object({
  simulated: z.boolean(),
  worker: address,
  requestId: uint,
  requestHash: bytes32,
  status: z.number().int().min(0).max(65535),
  statusName: z.string(),
  output: hex,
  outputHash: bytes32,
  subAgentIds: z.array(uint),
  signature: hex,
});
export type ExecuteResponse = z.infer<typeof ExecuteResponse>;

/**
 * The gatekeepers' M-of-N attestation of a worker: `evidence` is what
 * WorkerRegistry.registerWorker(worker, verifier, evidence, endpoint, deadline, signature) takes with `verifier` =
 * GatekeeperQuorumVerifier (plus the key's `registration` consent). Present when the worker is
 * provisioned from gatekeepers.
 */
export const GatekeeperEvidence = z.object({
  verifier: address,
  evidence: hex,
  measurement: bytes32,
  tcbStatus: z.number().int().min(0).max(255),
  expiresAt: uint,
  signers: z.array(address),
});
export type GatekeeperEvidence = z.infer<typeof GatekeeperEvidence>;

/**
 * The enclave key's EIP-712 consent (protocol/worker-registration.ts) to be registered by `operator`:
 * the last two arguments of WorkerRegistry.registerWorker, which only `operator` may send. Present
 * when the worker is configured with its operator.
 */
export const WorkerRegistrationConsent = z.object({
  operator: address,
  deadline: uint,
  signature: hex,
});
export type WorkerRegistrationConsent = z.infer<typeof WorkerRegistrationConsent>;

export const WorkerAttestation = z.object({
  simulated: z.boolean(),
  worker: address,
  publicKey: hex,
  measurement: bytes32,
  reportData: bytes32,
  /** Simulator: SimulatedTeeVerifier evidence; dstack: the raw TDX quote. */
  evidence: hex,
  gatekeeperEvidence: GatekeeperEvidence.optional(),
  registration: WorkerRegistrationConsent.optional(),
});
export type WorkerAttestation = z.infer<typeof WorkerAttestation>;
