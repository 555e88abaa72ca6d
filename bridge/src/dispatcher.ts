import { agentRequestToJson } from "../../protocol/request.js";
import { ExecuteResponse, type ExecuteRequest } from "../../protocol/worker-api.js";
import { WorkerHealth, type WorkerHealthOptions } from "./dispatch/worker-health.js";
import { classifyRefusal, refusalCode, type RefusalDisposition } from "./dispatch/worker-refusals.js";
import { WorkerCallError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord } from "./store/store.js";
import type { AnswerVerifier } from "./verify.js";
import type { WorkerDirectory } from "./worker-directory.js";

export interface DispatcherOptions extends Omit<WorkerHealthOptions, "timeoutMs"> {
  timeoutMs: number;
  /** Calls in flight across all workers. */
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

/** How one attempt (every endpoint of the worker, hedged) ended. */
type AttemptOutcome = { kind: "answer"; answer: ExecuteResponse; endpoint: string } | { kind: "final"; reason: string } | { kind: "retry"; reason: string };

/** An endpoint's failure, with what it means for the request. */
class EndpointFailure {
  constructor(
    readonly disposition: RefusalDisposition | "invalid",
    readonly message: string,
  ) {}
}

/**
 * Sends confirmed requests to their worker: the assigned one, or the backup Failover handed the
 * request over to (asked with its `backupRank`). Slots are shared fairly: each worker has its
 * own concurrency limit and circuit breaker (WorkerHealth), so a hung or dead worker holds at most
 * its own slots and, once its circuit opens, only a probe. Each attempt calls the worker's primary
 * endpoint and hedges in its replicas (other endpoints of the same enclave key) when the primary is
 * slower than usual or fails. Only an answer signed by the worker called is stored; a final
 * refusal marks the request failed at once; anything else is retried with backoff until the
 * deadline, then left to the timeout sweep.
 */
export class Dispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  readonly health: WorkerHealth;
  /** Rotates which worker is served first, so no worker's queue waits behind another's every tick. */
  private rotation = 0;

  constructor(
    private readonly store: BridgeStore,
    private readonly directory: WorkerDirectory,
    private readonly verifier: AnswerVerifier,
    private readonly context: { chainId: bigint; router: string },
    private readonly options: DispatcherOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {
    this.health = new WorkerHealth(options);
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** Starts dispatches for due requests within the global and per-worker limits; does not wait for them. */
  async tick(chainTime: bigint, now = Date.now()): Promise<number> {
    let free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const workers = await this.store.dispatchWorkers();
    if (workers.length === 0) return 0;
    this.rotation = (this.rotation + 1) % workers.length;
    let started = 0;
    for (let i = 0; i < workers.length && free > 0; i++) {
      const worker = workers[(this.rotation + i) % workers.length]!;
      const capacity = Math.min(free, this.health.capacity(worker, now));
      if (capacity <= 0) continue;
      for (const record of await this.store.dueForWorker(worker, now, capacity, new Set(this.inFlight.keys()))) {
        this.start(record, chainTime);
        free--;
        started++;
      }
    }
    this.metrics.breakersOpen.set(this.health.unhealthy().length);
    return started;
  }

  private start(record: RequestRecord, chainTime: bigint): void {
    const key = record.id.toString();
    const run = this.dispatch(record, chainTime)
      .catch((error) => {
        this.metrics.loopErrors.inc({ component: "dispatcher" });
        this.log.error({ event: "dispatch_error", requestId: key, err: errorMessage(error) }, "dispatch failed unexpectedly");
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
  }

  /** Waits for in-flight dispatches (used on shutdown and in tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async dispatch(record: RequestRecord, chainTime: bigint): Promise<void> {
    const id = record.id.toString();
    // The primary, or the backup the request was handed over to (Failover).
    const worker = record.assignee;
    if (record.request.deadline < chainTime) {
      await this.store.markFailed(record.id, `deadline passed without a valid answer${record.lastError ? `: ${record.lastError}` : ""}`);
      this.log.warn({ event: "dispatch_expired", requestId: id }, "deadline passed before an answer; left to the timeout sweep");
      return;
    }
    const attempt = record.attempts + 1;
    const endpoints = this.directory.endpoints(worker);
    // Lease: if this process dies mid-call, another instance (or a restart) retries after the calls could have timed out.
    const lease = Date.now() + this.options.timeoutMs * Math.max(1, endpoints.length) + this.options.backoffBaseMs;
    await this.store.markDispatched(record.id, attempt, lease);
    if (endpoints.length === 0) {
      await this.retryLater(record, attempt, chainTime, `no endpoint configured for worker ${worker}`);
      return;
    }

    this.health.started(worker);
    const started = performance.now();
    const outcome = await this.attempt(record, endpoints);
    const elapsed = performance.now() - started;
    if (outcome.kind === "answer") {
      this.health.succeeded(worker, elapsed);
      // Kept even if the request was handed over meanwhile: a late primary answer settles it as well.
      await this.store.saveAnswer(record.id, outcome.answer, record.rank);
      this.metrics.dispatches.inc({ result: "ok" });
      this.metrics.dispatchSeconds.observe(elapsed / 1000);
      this.log.debug({ event: "signed", requestId: id, endpoint: outcome.endpoint, status: outcome.answer.status }, "worker answer verified");
    } else if (outcome.kind === "final") {
      // The worker answered, and will never sign: no reason to doubt its health.
      this.health.succeeded(worker, elapsed);
      this.metrics.dispatches.inc({ result: "refused" });
      // Unless the request was handed over to a backup meanwhile: this worker's refusal is not the
      // backup's. Checked in the write itself: a read first would leave a gap for the hand-over.
      await this.store.markFailed(record.id, `worker refused: ${outcome.reason}`, record.rank);
      this.log.warn({ event: "dispatch_refused", requestId: id, reason: outcome.reason }, "worker refused the request for good; left to the timeout sweep");
    } else {
      this.health.failed(worker, Date.now());
      await this.retryLater(record, attempt, chainTime, outcome.reason);
    }
  }

  /** Backoff, but never past the last moment an answer could still be submitted before the deadline. */
  private async retryLater(record: RequestRecord, attempt: number, chainTime: bigint, reason: string): Promise<void> {
    const remainingMs = Number(record.request.deadline - chainTime) * 1000;
    const delay = Math.min(backoffDelay(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs), Math.max(this.options.backoffBaseMs, remainingMs / 4));
    await this.store.recordDispatchFailure(record.id, reason, Date.now() + delay);
  }

  /**
   * One attempt over the worker's endpoints: the primary first; the next endpoint joins when the
   * current ones fail, or (hedging) when none has answered within the worker's usual latency. The
   * first verified answer or final refusal ends the attempt and aborts the other calls.
   */
  private attempt(record: RequestRecord, endpoints: string[]): Promise<AttemptOutcome> {
    const body: ExecuteRequest = {
      chainId: this.context.chainId.toString(),
      router: this.context.router,
      request: agentRequestToJson(record.request),
      input: record.input,
      ...(record.rank > 0 && { backupRank: String(record.rank) }),
    };
    const hedgeMs = this.health.hedgeDelayMs(record.assignee);
    const controllers: AbortController[] = [];
    const errors: string[] = [];
    return new Promise<AttemptOutcome>((resolve) => {
      let next = 0;
      let pending = 0;
      let done = false;
      let hedge: NodeJS.Timeout | undefined;
      const finish = (outcome: AttemptOutcome) => {
        if (done) return;
        done = true;
        clearTimeout(hedge);
        for (const controller of controllers) controller.abort();
        resolve(outcome);
      };
      const launch = () => {
        clearTimeout(hedge);
        if (done || next >= endpoints.length) return;
        const endpoint = endpoints[next++]!;
        if (next > 1) this.metrics.hedges.inc();
        const controller = new AbortController();
        controllers.push(controller);
        pending++;
        if (next < endpoints.length) hedge = setTimeout(launch, hedgeMs);
        this.call(endpoint, body, controller.signal)
          .then((answer) => {
            this.verifier.verify(record, answer, endpoint);
            finish({ kind: "answer", answer, endpoint });
          })
          .catch((error: unknown) => {
            pending--;
            if (done) return;
            const failure = this.describe(error, endpoint);
            this.metrics.dispatches.inc({ result: failure.disposition === "invalid" ? "invalid" : "error" });
            this.log.warn(
              { event: "dispatch_attempt_failed", requestId: record.id.toString(), endpoint, disposition: failure.disposition, err: failure.message },
              "worker endpoint failed",
            );
            if (failure.disposition === "final") return finish({ kind: "final", reason: failure.message });
            errors.push(failure.message);
            if (next < endpoints.length) launch();
            else if (pending === 0) finish({ kind: "retry", reason: errors.join("; ") });
          });
      };
      launch();
    });
  }

  private describe(error: unknown, endpoint: string): EndpointFailure {
    if (error instanceof WorkerCallError) return new EndpointFailure(error.disposition, error.message);
    return new EndpointFailure("invalid", `${errorMessage(error)} (${endpoint})`);
  }

  private async call(endpoint: string, body: ExecuteRequest, abort: AbortSignal): Promise<ExecuteResponse> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${endpoint}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.any([abort, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      throw new WorkerCallError(
        timedOut ? `no answer within ${this.options.timeoutMs} ms` : "unreachable",
        endpoint,
        "retry",
        timedOut ? {} : { cause: error },
      );
    }
    if (!response.ok) {
      const code = refusalCode(text);
      throw new WorkerCallError(`HTTP ${response.status}${code ? ` ${code}` : ""}`, endpoint, classifyRefusal(response.status, code), {
        details: text.slice(0, ERROR_BODY_PREVIEW),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WorkerCallError("answer is not JSON", endpoint, "retry", { details: text.slice(0, ERROR_BODY_PREVIEW) });
    }
    const parsed = ExecuteResponse.safeParse(json);
    if (!parsed.success) {
      throw new WorkerCallError("answer does not match the worker API", endpoint, "retry", {
        details: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join(", "),
      });
    }
    return parsed.data;
  }
}
