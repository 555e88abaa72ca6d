import { getBytes, keccak256 } from "ethers";
import type { Logger } from "pino";
import { requestHash as hashRequest, toAgentRequest } from "../../protocol/request.js";
import { statusName } from "../../protocol/status.js";
import type { ExecuteRequest, ExecuteResponse, WorkerAttestation } from "../../protocol/worker-api.js";
import { REGISTRATION_SIGNATURE_LIFETIME_SECONDS, signWorkerRegistration } from "../../protocol/worker-registration.js";
import type { AnswerBook } from "./answers.js";
import type { ChainCheck, RequestCommitments } from "./commitments.js";
import type { Enclave } from "./enclave/enclave.js";
import { RequestRejected } from "./errors.js";
import type { Executor } from "./executor.js";
import type { WorkerMetrics } from "./metrics.js";
import type { GatekeeperProvisioner } from "./provisioning.js";
import type { FulfillmentSigner } from "./signer.js";

export interface Health {
  ok: boolean;
  simulated: boolean;
  worker: string;
  chainId: string;
  workerRegistry: string;
  answersHeld: number;
  /** Cluster-key epochs held (only with gatekeeper provisioning). */
  keyEpochs?: number[];
  /** A bounded read of the router through the worker's RPC: a hung or failing RPC makes the worker unhealthy. */
  chain?: ChainCheck;
}

/** The longest /health waits for the chain read: a hung RPC answers "not ok" after this, not never. */
export const HEALTH_RPC_TIMEOUT_MS = 2_000;

/** The worker's operations behind the HTTP API. */
export class WorkerService {
  constructor(
    private readonly deps: {
      enclave: Enclave;
      commitments: RequestCommitments;
      executor: Executor;
      signer: FulfillmentSigner;
      answers: AnswerBook;
      metrics: WorkerMetrics;
      logger: Logger;
      chainId: bigint;
      workerRegistry: string;
      /** The configured operator; without it the attestation carries no registration consent. */
      operator?: string;
      gatekeeper?: Pick<GatekeeperProvisioner, "evidence" | "keyring">;
    },
  ) {}

  get simulated(): boolean {
    return this.deps.enclave.simulated;
  }

  /** ok only when the worker could answer now: its chain read (bounded by `rpcTimeoutMs`) succeeds. */
  async health(rpcTimeoutMs = HEALTH_RPC_TIMEOUT_MS): Promise<Health> {
    const { enclave, chainId, workerRegistry, answers, gatekeeper, commitments } = this.deps;
    const chain = await commitments.check?.(rpcTimeoutMs);
    return {
      ok: chain?.ok ?? true,
      ...(chain && { chain }),
      simulated: enclave.simulated,
      worker: enclave.address,
      chainId: chainId.toString(),
      workerRegistry,
      answersHeld: answers.size,
      ...(gatekeeper && { keyEpochs: gatekeeper.keyring.epochs() }),
    };
  }

  /**
   * The enclave's own evidence, the gatekeepers' quorum evidence when provisioned from them, and the
   * key's consent to be registered by the configured operator (and by nobody else).
   */
  async attestation(): Promise<WorkerAttestation> {
    const { enclave, chainId, workerRegistry, operator } = this.deps;
    const own = await enclave.attest(chainId, workerRegistry);
    const gatekeeperEvidence = this.deps.gatekeeper?.evidence();
    const deadline = BigInt(Math.floor(Date.now() / 1000) + REGISTRATION_SIGNATURE_LIFETIME_SECONDS);
    const registration = operator === undefined ? undefined : await signWorkerRegistration(enclave, chainId, workerRegistry, operator, deadline);
    return {
      ...own,
      ...(gatekeeperEvidence && { gatekeeperEvidence }),
      ...(registration && { registration: { ...registration, deadline: registration.deadline.toString() } }),
    };
  }

  /**
   * Executes and signs one request, or returns the answer already signed for it. Requests not
   * meant for this worker, not pending on its router, or whose input does not match the committed
   * hash are refused unsigned; so is a backup dispatch (`backupRank`) unless the router draws this
   * worker as that backup and its window is open. Answers are always signed as this worker.
   */
  async execute(body: ExecuteRequest): Promise<ExecuteResponse> {
    const { enclave, answers, executor, signer, metrics, logger, commitments } = this.deps;
    const request = toAgentRequest(body.request);
    const chainId = BigInt(body.chainId);
    // Inputs and secrets are bound to the chain the worker is attested for; so are its answers.
    if (chainId !== this.deps.chainId) {
      throw new RequestRejected(421, "WRONG_CHAIN", `this worker serves chain ${this.deps.chainId}, not ${chainId}`);
    }
    const rank = body.backupRank === undefined ? undefined : BigInt(body.backupRank);
    const primary = request.worker.toLowerCase() === enclave.address.toLowerCase();
    if (rank === undefined && !primary) {
      throw new RequestRejected(421, "WRONG_WORKER", `request is assigned to ${request.worker}, this worker is ${enclave.address}`);
    }
    // A backup is never the primary: this worker answers its own requests as the primary, with fulfil.
    if (rank !== undefined && primary) {
      throw new RequestRejected(421, "WRONG_WORKER", `request is assigned to this worker ${enclave.address}: asked as its primary, not as backup ${rank}`);
    }
    if (body.router.toLowerCase() !== commitments.router.toLowerCase()) {
      throw new RequestRejected(421, "WRONG_ROUTER", `this worker serves router ${commitments.router}, not ${body.router}`);
    }
    const input = getBytes(body.input);
    if (keccak256(input) !== request.inputHash.toLowerCase()) {
      throw new RequestRejected(400, "INPUT_HASH_MISMATCH", "input does not match the request's inputHash");
    }
    const requestHash = hashRequest(request);
    const started = performance.now();
    const { response, replayed } = await answers.answer({ chainId, router: body.router, requestHash }, request.deadline, async () => {
      // Only a request the router committed to runs, is signed or takes a place in the answer store;
      // as a backup, only once the router would take this worker's answer (no work before its window).
      await commitments.requirePending(request, requestHash);
      if (rank !== undefined) await commitments.requireBackup(request, requestHash, rank, enclave.address);
      return signer.sign(chainId, body.router, request, requestHash, await executor.execute(request, input, requestHash));
    });
    const log = {
      requestId: response.requestId,
      agentId: request.agentId.toString(),
      status: response.statusName,
      ...(rank !== undefined && { backupRank: Number(rank) }),
    };
    if (replayed) {
      metrics.replays.inc();
      logger.info(log, "request answered again with its stored answer");
    } else {
      const seconds = (performance.now() - started) / 1000;
      metrics.executions.inc({ status: statusName(response.status) });
      metrics.executionSeconds.observe({ status: statusName(response.status) }, seconds);
      logger.info({ ...log, ms: Math.round(seconds * 1000), subAgentIds: response.subAgentIds }, "request executed and signed");
    }
    return response;
  }
}
