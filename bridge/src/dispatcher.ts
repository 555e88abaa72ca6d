import { agentRequestToJson } from "../../protocol/request.js";
import { ExecuteResponse, type ExecuteRequest } from "../../protocol/worker-api.js";
import { WorkerCallError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord } from "./store/store.js";
import type { AnswerVerifier } from "./verify.js";
import type { WorkerDirectory } from "./worker-directory.js";

export interface DispatcherOptions {
  timeoutMs: number;
  concurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

const ERROR_BODY_PREVIEW = 200;

/** Exponential backoff with full jitter in [delay/2, delay]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/**
 * Sends confirmed requests to their assigned worker. Each attempt tries the worker's endpoints in
 * order (primary, then replicas of the same enclave key); a failed attempt is retried after a
 * backoff persisted in the store, until the request's deadline. Only an answer signed by the
 * assigned worker is accepted; past the deadline the request is left to the timeout sweep.
 */
export class Dispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly store: BridgeStore,
    private readonly directory: WorkerDirectory,
    private readonly verifier: AnswerVerifier,
    private readonly context: { chainId: bigint; router: string },
    private readonly options: DispatcherOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  get busy(): number {
    return this.inFlight.size;
  }

  /** Starts dispatches for due requests, up to the concurrency limit; does not wait for them. */
  tick(chainTime: bigint): number {
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const due = this.store.dueForDispatch(Date.now(), free, new Set(this.inFlight.keys()));
    for (const record of due) {
      const key = record.id.toString();
      const run = this.dispatch(record, chainTime)
        .catch((error) => {
          this.metrics.loopErrors.inc({ component: "dispatcher" });
          this.log.error({ event: "dispatch_error", requestId: key, err: errorMessage(error) }, "dispatch failed unexpectedly");
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, run);
    }
    return due.length;
  }

  /** Waits for in-flight dispatches (used on shutdown and in tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async dispatch(record: RequestRecord, chainTime: bigint): Promise<void> {
    if (record.request.deadline < chainTime) {
      this.store.markFailed(record.id, `deadline passed without a valid answer${record.lastError ? `: ${record.lastError}` : ""}`);
      this.log.warn({ event: "dispatch_expired", requestId: record.id.toString() }, "deadline passed before an answer; left to the timeout sweep");
      return;
    }
    const attempt = record.attempts + 1;
    const endpoints = this.directory.endpoints(record.request.worker);
    // Lease: if this process dies mid-call, another instance (or a restart) retries after the calls could have timed out.
    const lease = Date.now() + this.options.timeoutMs * Math.max(1, endpoints.length) + this.options.backoffBaseMs;
    this.store.markDispatched(record.id, attempt, lease);

    const errors: string[] = [];
    if (endpoints.length === 0) errors.push(`no endpoint configured for worker ${record.request.worker}`);
    const body: ExecuteRequest = {
      chainId: this.context.chainId.toString(),
      router: this.context.router,
      request: agentRequestToJson(record.request),
      input: record.input,
    };
    for (const endpoint of endpoints) {
      const started = performance.now();
      try {
        const answer = await this.call(endpoint, body);
        this.verifier.verify(record, answer, endpoint);
        this.store.saveAnswer(record.id, answer);
        this.metrics.dispatches.inc({ result: "ok" });
        this.metrics.dispatchSeconds.observe((performance.now() - started) / 1000);
        this.log.debug({ event: "signed", requestId: record.id.toString(), endpoint, status: answer.status }, "worker answer verified");
        return;
      } catch (error) {
        const result = error instanceof WorkerCallError ? "error" : "invalid";
        this.metrics.dispatches.inc({ result });
        errors.push(errorMessage(error));
        this.log.warn({ event: "dispatch_attempt_failed", requestId: record.id.toString(), endpoint, attempt, err: errorMessage(error) }, "worker endpoint failed");
      }
    }
    const delay = backoffDelay(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs);
    this.store.recordDispatchFailure(record.id, errors.join("; "), Date.now() + delay);
  }

  private async call(endpoint: string, body: ExecuteRequest): Promise<ExecuteResponse> {
    let response: Response;
    try {
      response = await fetch(`${endpoint}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      throw new WorkerCallError(timedOut ? `no answer within ${this.options.timeoutMs} ms` : "unreachable", endpoint, true, timedOut ? {} : { cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      throw new WorkerCallError(`HTTP ${response.status}`, endpoint, response.status >= 500 || response.status === 429, { details: text.slice(0, ERROR_BODY_PREVIEW) });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WorkerCallError("answer is not JSON", endpoint, true, { details: text.slice(0, ERROR_BODY_PREVIEW) });
    }
    const parsed = ExecuteResponse.safeParse(json);
    if (!parsed.success) {
      throw new WorkerCallError("answer does not match the worker API", endpoint, true, { details: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join(", ") });
    }
    return parsed.data;
  }
}
