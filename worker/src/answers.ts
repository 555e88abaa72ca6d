import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { ExecuteResponse } from "../../protocol/worker-api.js";
import { RequestRejected } from "./errors.js";

interface Answer {
  requestHash: string;
  /** Unix seconds after which the router no longer accepts any answer for the request. */
  deadline: number;
  response: ExecuteResponse;
}

/** Answers kept this long past their request's deadline (clock skew between worker and chain). */
const RETENTION_AFTER_DEADLINE_S = 3600;
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Every answer this worker signed, by (chain, router, request id). Two different signed answers to
 * one request are slashable equivocation, so a request is executed and signed at most once: a
 * retry gets the stored answer, a concurrent duplicate waits for the first, and a different
 * request under an id already answered is refused. With a log file, this survives restarts.
 */
export class AnswerBook {
  readonly #answers = new Map<string, Answer>();
  readonly #inflight = new Map<string, { requestHash: string; promise: Promise<ExecuteResponse> }>();
  #lastPrune = 0;

  constructor(
    private readonly logPath?: string,
    private readonly clock: () => number = Date.now,
  ) {
    if (logPath !== undefined && existsSync(logPath)) this.#load(logPath);
  }

  get size(): number {
    return this.#answers.size;
  }

  /**
   * The stored answer for this request, or `produce()`'s answer, stored before it is returned.
   * `replayed` tells whether the answer existed already.
   */
  async answer(
    key: { chainId: bigint; router: string; requestId: bigint },
    requestHash: string,
    deadline: bigint,
    produce: () => Promise<ExecuteResponse>,
  ): Promise<{ response: ExecuteResponse; replayed: boolean }> {
    const id = `${key.chainId}:${key.router.toLowerCase()}:${key.requestId}`;
    const stored = this.#answers.get(id);
    if (stored !== undefined) return { response: this.#same(stored.requestHash, requestHash, stored.response), replayed: true };
    const running = this.#inflight.get(id);
    if (running !== undefined) {
      return { response: this.#same(running.requestHash, requestHash, await running.promise), replayed: true };
    }
    const promise = produce().then((response) => {
      const answer = { requestHash, deadline: Number(deadline), response };
      this.#persist(id, answer);
      this.#answers.set(id, answer);
      return response;
    });
    this.#inflight.set(id, { requestHash, promise });
    try {
      return { response: await promise, replayed: false };
    } finally {
      this.#inflight.delete(id);
      this.#prune();
    }
  }

  #same(storedHash: string, requestHash: string, response: ExecuteResponse): ExecuteResponse {
    if (storedHash.toLowerCase() !== requestHash.toLowerCase()) {
      throw new RequestRejected(409, "CONFLICTING_REQUEST", "this request id was already answered for a different request");
    }
    return response;
  }

  #persist(id: string, answer: Answer): void {
    if (this.logPath === undefined) return;
    // Written synchronously before the answer leaves the worker, so a crash cannot forget it.
    appendFileSync(this.logPath, `${JSON.stringify({ id, ...answer })}\n`);
  }

  #load(path: string): void {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const entry = JSON.parse(line) as { id: string; requestHash: string; deadline: number; response: unknown };
        const response = ExecuteResponse.parse(entry.response);
        this.#answers.set(entry.id, { requestHash: entry.requestHash, deadline: entry.deadline, response });
      } catch {
        // A torn last line from a crash mid-write: its answer was never sent.
      }
    }
  }

  /** Answers whose request can no longer be settled cannot be equivocated on: drop them. */
  #prune(): void {
    if (this.clock() - this.#lastPrune < PRUNE_INTERVAL_MS) return;
    this.#lastPrune = this.clock();
    const cutoff = Math.floor(this.clock() / 1000) - RETENTION_AFTER_DEADLINE_S;
    for (const [id, answer] of this.#answers) if (answer.deadline < cutoff) this.#answers.delete(id);
  }
}
