import { z } from "zod";

/**
 * HTTP API between the bridge and a worker (JSON; numbers as decimal strings, bytes as 0x-hex).
 *   GET  /health        -> { ok, simulated, worker, ... }
 *   GET  /attestation   -> WorkerAttestation { simulated, worker, publicKey, measurement, reportData, evidence, gatekeeperEvidence?, registration? }
 *   POST /v1/execute    ExecuteRequest -> ExecuteResponse
 *   GET  /metrics       Prometheus text
 *
 * POST /v1/execute refuses, unsigned, with `{ error: CODE, message, simulated }` (WORKER_ERRORS):
 * a final refusal will never succeed for this request on this worker (mark it failed); a retryable
 * one may (retry with backoff). A 200 is always a signed answer, whatever the agent did.
 */
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "0x-prefixed even-length hex");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "0x-prefixed 20-byte address");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "0x-prefixed 32-byte hex");
/** A decimal string that fits the Solidity type `uint<bits>`. */
const uint = (bits: number) =>
  z
    .string()
    .regex(/^\d{1,78}$/, "decimal unsigned integer")
    .refine((v) => !/^\d{1,78}$/.test(v) || BigInt(v) < 1n << BigInt(bits), `does not fit uint${bits}`);

export const AgentRequestJson = z.object({
  id: uint(256),
  agentId: uint(256),
  consumer: address,
  accountId: uint(64),
  worker: address,
  agentVersion: uint(32),
  keyEpoch: uint(32),
  callbackGasLimit: uint(32),
  agentOwner: address,
  agentPrice: uint(96),
  maxFee: uint(96),
  deadline: uint(64),
  codeHash: bytes32,
  inputHash: bytes32,
  configVersion: uint(16),
  capacityFee: uint(96),
});

/** Unsigned refusals of POST /v1/execute: HTTP status and whether retrying can ever succeed. */
export const WORKER_ERRORS = {
  /** Body is not ExecuteRequest JSON, or a number does not fit its Solidity type. */
  INVALID_REQUEST: { http: 400, retryable: false },
  INVALID_JSON: { http: 400, retryable: false },
  /** keccak256(input) ≠ request.inputHash. */
  INPUT_HASH_MISMATCH: { http: 400, retryable: false },
  /** The router's commitmentOf(id) is zero under an issued id (settled, timed out) or another request's hash. */
  REQUEST_NOT_PENDING: { http: 409, retryable: false },
  /** id > router.requestCount() at the latest block of the worker's RPC: it lags (or the id is not issued yet). */
  REQUEST_NOT_VISIBLE: { http: 503, retryable: true },
  /** The worker could not read the router (RPC down). */
  CHAIN_UNAVAILABLE: { http: 503, retryable: true },
  /** request.worker is another worker (a primary dispatch), or this worker is the request's primary (a backup dispatch). */
  WRONG_WORKER: { http: 421, retryable: false },
  /** Backup dispatch: router.backupWorker(request, backupRank) is another worker, or the request has no such backup (NoBackup). */
  NOT_BACKUP: { http: 409, retryable: false },
  /** Backup dispatch: the backup's window opens after the chain time of the worker RPC's latest block. */
  BACKUP_WINDOW_NOT_OPEN: { http: 425, retryable: true },
  /** chainId is not the worker's chain. */
  WRONG_CHAIN: { http: 421, retryable: false },
  /** router is not the router this worker serves. */
  WRONG_ROUTER: { http: 421, retryable: false },
  BODY_TOO_LARGE: { http: 413, retryable: false },
  /** The enclave could not sign (dstack guest agent unreachable). */
  ENCLAVE_UNAVAILABLE: { http: 503, retryable: true },
  INTERNAL: { http: 500, retryable: true },
} as const;
export type WorkerErrorCode = keyof typeof WORKER_ERRORS;

export const ExecuteRequest = z.object({
  chainId: uint(256),
  router: address,
  request: AgentRequestJson,
  input: hex,
  /**
   * Absent: the request is executed by its primary, `request.worker`. Set: the receiving worker is
   * asked as the request's backup of this rank (router.backupWorker(request, backupRank)); it executes
   * only once that backup's window is open on-chain, and signs with `worker` = itself.
   */
  backupRank: uint(256).optional(),
});
export type ExecuteRequest = z.infer<typeof ExecuteRequest>;

export const ExecuteResponse = z.object({
  simulated: z.boolean(),
  worker: address,
  requestId: uint(256),
  requestHash: bytes32,
  status: z.number().int().min(0).max(65535),
  statusName: z.string(),
  output: hex,
  outputHash: bytes32,
  subAgentIds: z.array(uint(256)),
  /** Price budgeted for each call in subAgentIds (same length): the most the router pays the callee. */
  subAgentPrices: z.array(uint(96)),
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
  expiresAt: uint(64),
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
  deadline: uint(64),
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
