import { Worker } from "node:worker_threads";
import { compileEngine } from "./instances.js";
import { AgentStatus } from "../../../protocol/status.js";
import { HostCallFailure, dispatchHostCall } from "./host-api.js";
import type { RunSpec, SandboxOutcome, SandboxRunOptions, SandboxRunner } from "./sandbox.js";
import type { FromThread, HostReply, ToThread } from "./thread-protocol.js";

export interface SandboxPoolOptions {
  /** Threads kept running. */
  threads: number;
  /**
   * Most threads at once (default: 2 × threads). When every thread is executing agent code (a
   * tenant's busy loop, say), a new run goes to a spare thread so the OS shares the CPU between
   * them instead of queueing it behind the loop. One spare is kept started (starting a thread takes
   * longer than a run); further idle extra threads stop after EXTRA_THREAD_IDLE_MS.
   */
  maxThreads?: number;
  /** How long past its deadline a run may stay silent before its thread is terminated. */
  graceMs: number;
  /** Told when a thread is terminated or crashes (for logs and metrics). */
  onRecycle?: (reason: "watchdog" | "crash") => void;
}

interface PendingRun {
  runId: number;
  options: SandboxRunOptions;
  spec: RunSpec;
  resolve: (outcome: SandboxOutcome) => void;
  /** Aborts the run's host calls (when it is finished). */
  hostAbort: AbortController;
  /**
   * Every host call the run made, in order, with its (possibly pending) reply. A run restarted on a
   * new thread is deterministic up to its host replies, so it makes the same calls again: they are
   * answered from here and never performed twice (a payment-style fetch runs once).
   */
  journal: { op: string; args: string; reply: Promise<HostReply> }[];
  /** Host calls of the current attempt (its position in the journal). */
  replayed: number;
  watchdog: NodeJS.Timeout;
  crashes: number;
  /** The caller has its outcome (it may have aborted while the thread still runs the agent). */
  settled: boolean;
  /** Raised to stop the run even while its thread is busy in agent code (checked by the interrupt handler). */
  stop: Int32Array;
}

interface ThreadSlot {
  worker: Worker;
  ready: Promise<void>;
  runs: Map<number, PendingRun>;
  dead: boolean;
  /** > 0 while the thread executes agent code (written by the thread). */
  busy: Int32Array;
  /** The thread said it is ready. */
  started: boolean;
  /** Above the configured thread count: stopped when idle. */
  extra: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** How long an extra thread may stay without runs before it is stopped. */
const EXTRA_THREAD_IDLE_MS = 10_000;

const THREAD_ENTRY = import.meta.url.endsWith(".ts") ? "./thread.ts" : "./thread.js";

/** A run that crashed this many threads is failed instead of retried. */
const MAX_CRASHES_PER_RUN = 2;

/**
 * Runs sandboxes on worker threads so no agent can stall the HTTP server. QuickJS interrupts
 * bytecode at the wall-time deadline, but a single builtin call (a huge Array.fill near the memory
 * limit, say) cannot be interrupted; the watchdog terminates such a thread, fails the run with
 * TIME_LIMIT and restarts the other runs of that thread on a fresh one (nothing of theirs was
 * signed yet, and their host calls are replayed from a journal, never performed again). Engine
 * crashes (traps, aborts) stay inside the run's own engine instance (instances.ts) and do not
 * reach the thread.
 */
export class SandboxPool implements SandboxRunner {
  readonly #slots: ThreadSlot[] = [];
  #nextRunId = 0;
  #closed = false;

  private constructor(
    private readonly options: SandboxPoolOptions,
    /** The QuickJS module, compiled once and shared with every thread. */
    private readonly wasm: object,
  ) {}

  static async start(options: SandboxPoolOptions): Promise<SandboxPool> {
    const pool = new SandboxPool(options, await compileEngine());
    for (let i = 0; i < options.threads; i++) pool.#slots.push(pool.#spawn(false));
    await Promise.all(pool.#slots.map((slot) => slot.ready));
    return pool;
  }

  /** Resolves when every thread started so far (spares included) can take runs. */
  async whenReady(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  /** Threads running now (tests and metrics). */
  get threadCount(): number {
    return this.#slots.length;
  }

  run(options: SandboxRunOptions): Promise<SandboxOutcome> {
    if (this.#closed) return Promise.resolve(failed(AgentStatus.INTERNAL_ERROR, "sandbox pool is closed"));
    const { host: _host, log: _log, signal, ...rest } = options;
    // A sub-call whose caller finished before it started never runs.
    if (signal?.aborted) return Promise.resolve(failed(AgentStatus.INTERNAL_ERROR, "run aborted by its caller"));
    const stop = new SharedArrayBuffer(4);
    const spec = { ...rest, stop };
    return new Promise((resolve) => {
      const run: PendingRun = {
        stop: new Int32Array(stop),
        runId: this.#nextRunId++,
        options,
        spec,
        resolve,
        hostAbort: new AbortController(),
        journal: [],
        replayed: 0,
        watchdog: setTimeout(() => this.#onWatchdog(run), Math.max(0, spec.deadline - Date.now()) + this.options.graceMs),
        crashes: 0,
        settled: false,
      };
      signal?.addEventListener("abort", () => this.#abortRun(run), { once: true });
      this.#dispatch(run);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const slot of this.#slots) {
      for (const run of [...slot.runs.values()]) this.#finish(slot, run, failed(AgentStatus.INTERNAL_ERROR, "sandbox pool closed"));
      slot.dead = true;
      clearTimeout(slot.idleTimer);
    }
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(extra: boolean): ThreadSlot {
    const busy = new SharedArrayBuffer(4);
    // Running from TypeScript sources (tsx) the thread needs the same loader.
    const worker = new Worker(new URL(THREAD_ENTRY, import.meta.url), {
      execArgv: [...process.execArgv, "--import", import.meta.resolve("tsx")],
      workerData: { wasm: this.wasm, busy },
    });
    let markReady: () => void = () => {};
    const slot: ThreadSlot = {
      worker,
      runs: new Map(),
      dead: false,
      busy: new Int32Array(busy),
      started: false,
      extra,
      ready: new Promise((resolve) => (markReady = resolve)),
    };
    worker.on("message", (message: FromThread) => {
      if (message.type === "ready") {
        slot.started = true;
        markReady();
      } else this.#onMessage(slot, message);
    });
    worker.on("error", () => this.#onCrash(slot));
    worker.on("exit", () => this.#onCrash(slot));
    return slot;
  }

  /**
   * A thread that is not executing agent code right now (fewest runs first); if every thread is
   * busy, a new extra thread up to maxThreads, so one tenant's loop does not hold another's run.
   */
  #dispatch(run: PendingRun): void {
    const free = this.#slots.filter((slot) => Atomics.load(slot.busy, 0) === 0);
    const started = free.filter((slot) => slot.started);
    const slot = fewestRuns(started.length > 0 ? started : free.length > 0 ? free : this.#slots);
    clearTimeout(slot.idleTimer);
    slot.runs.set(run.runId, run);
    this.#ensureSpare();
    void slot.ready.then(() => {
      if (!slot.dead && slot.runs.has(run.runId)) this.#post(slot, { type: "run", runId: run.runId, spec: run.spec });
    });
  }

  #post(slot: ThreadSlot, message: ToThread): void {
    if (!slot.dead) slot.worker.postMessage(message);
  }

  #onMessage(slot: ThreadSlot, message: Exclude<FromThread, { type: "ready" }>): void {
    const run = slot.runs.get(message.runId);
    if (run === undefined) return;
    switch (message.type) {
      case "log":
        run.options.log(message.line);
        break;
      case "done":
        this.#finish(slot, run, message.outcome);
        break;
      case "host-call": {
        const { callId, op, args } = message;
        const index = run.replayed++;
        let entry = run.journal[index];
        if (entry === undefined) {
          const reply = dispatchHostCall(run.options.host, op, args, run.hostAbort.signal).then(
            (value): HostReply => ({ ok: true, value }),
            (error: unknown) => toReply(error),
          );
          entry = { op, args, reply };
          run.journal.push(entry);
        } else if (entry.op !== op || entry.args !== args) {
          // Cannot happen for a deterministic run; never perform a call the first attempt did not.
          this.#finish(slot, run, failed(AgentStatus.INTERNAL_ERROR, "restarted run diverged from its first attempt"));
          break;
        }
        void entry.reply.then((reply) => {
          if (slot.runs.get(run.runId) === run) this.#post(slot, { type: "host-reply", runId: run.runId, callId, reply });
        });
        break;
      }
    }
  }

  #finish(slot: ThreadSlot, run: PendingRun, outcome: SandboxOutcome): void {
    if (slot.runs.get(run.runId) !== run) return;
    slot.runs.delete(run.runId);
    clearTimeout(run.watchdog);
    run.hostAbort.abort();
    this.#settle(run, outcome);
    if (slot.extra && slot.runs.size === 0 && !slot.dead) {
      slot.idleTimer = setTimeout(() => this.#retire(slot), EXTRA_THREAD_IDLE_MS);
      slot.idleTimer.unref();
    }
  }

  /** Keeps one thread without runs started, up to maxThreads. */
  #ensureSpare(): void {
    if (this.#closed || this.#slots.length >= (this.options.maxThreads ?? this.options.threads * 2)) return;
    if (this.#slots.some((slot) => slot.runs.size === 0)) return;
    this.#slots.push(this.#spawn(true));
  }

  #retire(slot: ThreadSlot): void {
    if (slot.dead || slot.runs.size > 0) return;
    // The last idle thread stays as the spare.
    if (!this.#slots.some((other) => other !== slot && other.runs.size === 0)) return;
    slot.dead = true;
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    void slot.worker.terminate();
  }

  #settle(run: PendingRun, outcome: SandboxOutcome): void {
    if (run.settled) return;
    run.settled = true;
    run.resolve(outcome);
  }

  /**
   * The caller gets its answer at once; the thread may be inside synchronous agent code and only
   * sees the abort later, so the run stays under the watchdog until the thread lets go of it.
   */
  #abortRun(run: PendingRun): void {
    const slot = this.#slots.find((candidate) => candidate.runs.get(run.runId) === run);
    if (slot === undefined) return;
    // The thread may be busy in this run's agent code: the shared flag reaches its interrupt handler.
    Atomics.store(run.stop, 0, 1);
    this.#post(slot, { type: "abort", runId: run.runId });
    run.hostAbort.abort();
    this.#settle(run, failed(AgentStatus.INTERNAL_ERROR, "run aborted by its caller"));
  }

  #onWatchdog(run: PendingRun): void {
    const slot = this.#slots.find((candidate) => candidate.runs.get(run.runId) === run);
    if (slot === undefined) return;
    this.#finish(slot, run, failed(AgentStatus.TIME_LIMIT, "wall time limit exceeded (sandbox thread stopped)"));
    this.#recycle(slot, "watchdog");
  }

  #onCrash(slot: ThreadSlot): void {
    if (slot.dead || this.#closed) return;
    this.#recycle(slot, "crash");
  }

  /**
   * Replaces a thread; its other runs start again on the new threads, their host calls answered
   * from their journals (nothing they did is done twice, nothing of theirs was signed yet).
   */
  #recycle(slot: ThreadSlot, reason: "watchdog" | "crash"): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.idleTimer);
    void slot.worker.terminate();
    this.#slots[this.#slots.indexOf(slot)] = this.#spawn(slot.extra);
    this.options.onRecycle?.(reason);
    for (const run of [...slot.runs.values()]) {
      slot.runs.delete(run.runId);
      run.crashes += reason === "crash" ? 1 : 0;
      if (run.settled || run.crashes >= MAX_CRASHES_PER_RUN) {
        clearTimeout(run.watchdog);
        run.hostAbort.abort();
        // A run on every thread that crashed is the likely cause: the failure is its own.
        this.#settle(run, failed(AgentStatus.AGENT_ERROR, "agent crashed its sandbox thread"));
        continue;
      }
      run.replayed = 0;
      this.#dispatch(run);
    }
  }
}

function fewestRuns(slots: ThreadSlot[]): ThreadSlot {
  return slots.reduce((best, candidate) => (candidate.runs.size < best.runs.size ? candidate : best));
}

function toReply(error: unknown): HostReply {
  if (error instanceof HostCallFailure) return { ok: false, failure: { status: error.status, message: error.message } };
  return { ok: false, error: error instanceof Error ? error.message : "host call failed" };
}

function failed(status: SandboxOutcome["status"], message: string): SandboxOutcome {
  return { status, output: new Uint8Array(), message, hostCalls: 0 };
}
