import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { ExecuteResponse } from "../../protocol/worker-api.js";

interface Answer {
  /** Unix seconds (the on-chain request's) after which the router no longer accepts any answer for it. */
  deadline: number;
  response: ExecuteResponse;
}

/** Answers kept this long past their request's deadline (clock skew between worker and chain). */
const RETENTION_AFTER_DEADLINE_S = 3600;
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Every answer this worker signed, by (chain, router, request hash). Two different signed answers to
 * one request are slashable equivocation, so a request is executed and signed at most once: a
 * retry gets the stored answer and a concurrent duplicate waits for the first. Keyed by the
 * request's hash, not its id, and `produce` checks the request is pending on-chain before anything
 * is stored: a made-up request under some id takes no place and cannot block the real one, and the
 * retention bound (the request's deadline) is the chain's, not a caller's. With a log file, this
 * survives restarts.
 */
export class AnswerBook {
  readonly #answers = new Map<string, Answer>();
  readonly #inflight = new Map<string, Promise<ExecuteResponse>>();
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
   * The stored answer for this request, or `produce()`'s answer, stored before it is returned
   * (nothing is stored when `produce` throws). `replayed` tells whether the answer existed already.
   */
  async answer(
    key: { chainId: bigint; router: string; requestHash: string },
    deadline: bigint,
    produce: () => Promise<ExecuteResponse>,
  ): Promise<{ response: ExecuteResponse; replayed: boolean }> {
    const id = `${key.chainId}:${key.router.toLowerCase()}:${key.requestHash.toLowerCase()}`;
    const stored = this.#answers.get(id);
    if (stored !== undefined) return { response: stored.response, replayed: true };
    const running = this.#inflight.get(id);
    if (running !== undefined) return { response: await running, replayed: true };
    const promise = produce().then((response) => {
      const answer = { deadline: Number(deadline), response };
      this.#persist(id, answer);
      this.#answers.set(id, answer);
      return response;
    });
    this.#inflight.set(id, promise);
    try {
      return { response: await promise, replayed: false };
    } finally {
      this.#inflight.delete(id);
      this.#prune();
    }
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
        const entry = JSON.parse(line) as { id: string; deadline: number; response: unknown };
        const response = ExecuteResponse.parse(entry.response);
        // Entries of earlier versions were keyed by request id: re-key them by the signed hash.
        const id = `${entry.id.split(":").slice(0, 2).join(":")}:${response.requestHash.toLowerCase()}`;
        this.#answers.set(id, { deadline: entry.deadline, response });
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
