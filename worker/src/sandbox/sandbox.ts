import { randomBytes } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3";
import { getBytes } from "ethers";
import { type QuickJSContext, type QuickJSDeferredPromise, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from "quickjs-emscripten";
import { AgentStatus, type AgentStatusCode, statusName } from "../../../protocol/status.js";
import { HostCallFailure, dispatchHostCall, type HostServices } from "./host-api.js";
import type { SandboxLimits } from "./limits.js";
import { type EngineInstance, EngineInstances } from "./instances.js";
import { HOST_API_SOURCE, PRELUDE_SOURCE, RANDOM_SOURCE } from "./prelude.js";

/** Everything a run needs that can cross a thread boundary (structured-clonable). */
export interface RunSpec {
  /** The verified agent bundle. */
  source: string;
  input: Uint8Array;
  agentId: bigint;
  /** What the agent sees as ctx.request (strings only). */
  request: Record<string, string>;
  /** Unix ms returned by Date.now()/ctx.now() inside the sandbox. */
  now: number;
  /** 32-byte hex seed of Math.random()/ctx.random(). */
  seed: string;
  secrets: Record<string, string>;
  limits: SandboxLimits;
  /** Absolute unix ms at which the run is stopped (shared by nested sub-agent runs). */
  deadline: number;
  /** The request's CPU budget, shared by every run of its call tree (on any thread). */
  cpu?: { usedMicros: SharedArrayBuffer; limitMicros: number };
  /** Set to 1 (by the pool) to stop the run at once, even while the thread is busy in agent code. */
  stop?: SharedArrayBuffer;
}

/** The host side of a run: host calls arrive as (op, JSON arguments) and resolve to JSON-able values. */
export interface RunHooks {
  hostCall(op: string, argsJson: string, signal: AbortSignal): Promise<unknown>;
  log(line: string): void;
  /** Aborts the run (the caller's own run ended). */
  signal?: AbortSignal;
}

export interface SandboxRunOptions extends RunSpec {
  host: HostServices;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface SandboxOutcome {
  status: AgentStatusCode;
  /** The agent's output when status is OK; otherwise empty. */
  output: Uint8Array;
  /** Why the run failed (short, no secrets); empty when OK. */
  message: string;
  hostCalls: number;
}

/** Anything that runs agent bundles: the in-process Sandbox or the thread-isolated SandboxPool. */
export interface SandboxRunner {
  run(options: SandboxRunOptions): Promise<SandboxOutcome>;
}

/**
 * Runs agent bundles in QuickJS on the current thread. Every run gets an engine instance of its own
 * (a WASM instance whose linear memory has a hard maximum: see instances.ts) and a fresh runtime and
 * context in it (heap limit, stack limit, interrupt handler), disposed when it ends. A run that
 * exhausts or breaks its instance loses only that instance.
 */
export class Sandbox implements SandboxRunner {
  private constructor(
    readonly instances: EngineInstances,
    /** Raised while agent code executes on this thread (the pool schedules around busy threads). */
    private readonly busy?: Int32Array,
  ) {}

  /** @param wasm the compiled QuickJS module (compiled once by the pool and shared with its threads). */
  static async load(options: { wasm?: object; busy?: Int32Array } = {}): Promise<Sandbox> {
    return new Sandbox(await EngineInstances.load(options.wasm), options.busy);
  }

  run(options: SandboxRunOptions): Promise<SandboxOutcome> {
    const { host, log, signal, ...spec } = options;
    return this.runSpec(spec, { hostCall: (op, args, abort) => dispatchHostCall(host, op, args, abort), log, signal });
  }

  async runSpec(spec: RunSpec, hooks: RunHooks): Promise<SandboxOutcome> {
    const instance = await this.instances.acquire(spec.limits.memoryBytes);
    const run = new SandboxRun(instance, spec, hooks, this.busy);
    try {
      return await run.execute();
    } finally {
      this.instances.release(instance, !run.broken);
    }
  }
}

interface Stop {
  status: AgentStatusCode;
  message: string;
}

const MEMORY_ERRORS = new Map([
  ["out of memory", "memory limit exceeded"],
  ["stack overflow", "stack limit exceeded"],
]);

/** One execution of one bundle; owns its runtime and every handle it creates. */
class SandboxRun {
  /** The engine threw or aborted (a trap, a V8 stack overflow inside WASM): its instance is discarded. */
  broken = false;
  #stop: Stop | undefined;
  #timedOut = false;
  #finished = false;
  #hostCalls = 0;
  #logLines = 0;
  #inflight = new Set<QuickJSDeferredPromise>();
  #tokens = new Map<string, Stop>();
  #wake: (() => void) | undefined;
  /** Created by the first host call: aborting a controller costs a DOMException, and most runs make none. */
  #abort: AbortController | undefined;

  readonly #module: QuickJSWASMModule;

  readonly #cpu: Int32Array | undefined;
  readonly #stopFlag: Int32Array | undefined;
  /** performance.now() when the current engine call began (undefined between calls). */
  #sectionStart: number | undefined;

  constructor(
    private readonly instance: EngineInstance,
    private readonly options: RunSpec,
    private readonly hooks: RunHooks,
    private readonly busy?: Int32Array,
  ) {
    this.#module = instance.module;
    this.#cpu = options.cpu && new Int32Array(options.cpu.usedMicros);
    this.#stopFlag = options.stop && new Int32Array(options.stop);
  }

  /**
   * Runs one engine call (where agent code executes), charging its time to the request's CPU
   * budget and marking the thread busy meanwhile.
   */
  #section<T>(call: () => T): T {
    const start = performance.now();
    this.#sectionStart = start;
    if (this.busy) Atomics.add(this.busy, 0, 1);
    try {
      return call();
    } finally {
      if (this.busy) Atomics.sub(this.busy, 0, 1);
      this.#sectionStart = undefined;
      if (this.#cpu) Atomics.add(this.#cpu, 0, Math.ceil((performance.now() - start) * 1000));
    }
  }

  async execute(): Promise<SandboxOutcome> {
    const { limits } = this.options;
    const { signal } = this.hooks;
    const onAbort = () => this.#halt({ status: AgentStatus.INTERNAL_ERROR, message: "run aborted by its caller" });
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let runtime: QuickJSRuntime | undefined;
    let context: QuickJSContext | undefined;
    try {
      runtime = this.#module.newRuntime();
      runtime.setMemoryLimit(limits.memoryBytes);
      runtime.setMaxStackSize(limits.stackBytes);
      runtime.setInterruptHandler(() => this.#shouldInterrupt());
      context = runtime.newContext();
      const stop = this.#stop ?? (await this.#runIn(runtime, context));
      return isOutcome(stop) ? stop : this.#outcome(stop.status, new Uint8Array(), stop.message);
    } catch (error) {
      // Only the engine throws here, driven by the agent's code: the failure is the agent's.
      this.broken = true;
      const stop = this.#engineFailure(error);
      return this.#outcome(stop.status, new Uint8Array(), stop.message);
    } finally {
      this.#finished = true;
      signal?.removeEventListener("abort", onAbort);
      this.#abort?.abort();
      if (!this.broken) {
        try {
          for (const deferred of this.#inflight) deferred.dispose();
          context?.dispose();
          runtime?.dispose();
        } catch {
          // E.g. JS_FreeRuntime's assertion after a deep JSON.stringify: the instance is dropped.
          this.broken = true;
        }
      }
      this.#inflight.clear();
    }
  }

  /** The agent's code made the engine throw or abort: a limit if one was hit, else an agent error. */
  #engineFailure(error: unknown): Stop {
    const limit = this.#limitStop();
    if (limit !== undefined) return limit;
    if (error instanceof RangeError) return { status: AgentStatus.MEMORY_LIMIT, message: "stack limit exceeded" };
    if (this.#memoryExhausted()) return { status: AgentStatus.MEMORY_LIMIT, message: "memory limit exceeded" };
    return { status: AgentStatus.AGENT_ERROR, message: "agent crashed the sandbox engine" };
  }

  /** The instance's linear memory could not grow: some allocation failed for lack of memory. */
  #memoryExhausted(): boolean {
    return this.instance.exhausted;
  }

  #outcome(status: AgentStatusCode, output: Uint8Array, message: string): SandboxOutcome {
    return { status, output, message, hostCalls: this.#hostCalls };
  }

  #shouldInterrupt(): boolean {
    if (this.#stop !== undefined) return true;
    if (this.#stopFlag !== undefined && Atomics.load(this.#stopFlag, 0) !== 0) {
      this.#halt({ status: AgentStatus.INTERNAL_ERROR, message: "run aborted by its caller" });
      return true;
    }
    const { cpu } = this.options;
    if (cpu !== undefined && this.#cpu !== undefined && this.#sectionStart !== undefined) {
      const used = Atomics.load(this.#cpu, 0) + (performance.now() - this.#sectionStart) * 1000;
      if (used > cpu.limitMicros) {
        this.#halt({ status: AgentStatus.TIME_LIMIT, message: `CPU time limit of the request (${cpu.limitMicros / 1000} ms) exceeded` });
        return true;
      }
    }
    // The engine's memory is at its cap: end the run even if the agent catches the out-of-memory.
    if (this.instance.exhausted) {
      this.#halt({ status: AgentStatus.MEMORY_LIMIT, message: "memory limit exceeded" });
      return true;
    }
    if (Date.now() > this.options.deadline) {
      this.#timedOut = true;
      return true;
    }
    return false;
  }

  #halt(stop: Stop): void {
    this.#stop ??= stop;
    this.#wake?.();
  }

  /** The stop caused by a limit, if any: limits win over whatever error they surfaced as. */
  #limitStop(): Stop | undefined {
    if (this.#timedOut) return { status: AgentStatus.TIME_LIMIT, message: "wall time limit exceeded" };
    return this.#stop;
  }

  async #runIn(runtime: QuickJSRuntime, context: QuickJSContext): Promise<Stop | SandboxOutcome> {
    const { options } = this;
    const install = context.unwrapResult(this.#section(() => context.evalCode(PRELUDE_SOURCE, "prelude.js", { type: "global", strict: true })));
    const hostCall = context.newFunction("hostCall", (op, args) => this.#hostCall(context, op, args));
    const hostLog = context.newFunction("hostLog", (line) => {
      this.#log(context.getString(line));
    });
    const config = context.newString(
      JSON.stringify({
        now: options.now,
        seed: seedWords(options.seed),
        agentId: options.agentId.toString(),
        request: options.request,
        secrets: options.secrets,
        inputText: new TextDecoder().decode(options.input),
        maxOutputBytes: options.limits.maxOutputBytes,
      }),
    );
    const apiSource = context.newString(HOST_API_SOURCE);
    const randomSource = context.newString(RANDOM_SOURCE);
    const installed = this.#section(() => context.callFunction(install, context.undefined, hostCall, hostLog, config, apiSource, randomSource));
    for (const handle of [install, hostCall, hostLog, config, apiSource, randomSource]) handle.dispose();
    if (installed.error) {
      installed.error.dispose();
      return this.#limitStop() ?? { status: AgentStatus.INTERNAL_ERROR, message: "sandbox prelude failed" };
    }
    const run = installed.value;
    const source = context.newString(options.source);
    const input = context.newArrayBuffer(options.input.slice().buffer);
    const started = this.#section(() => context.callFunction(run, context.undefined, source, input));
    for (const handle of [run, source, input]) handle.dispose();
    if (started.error) return this.#failedWith(context, started.error);
    const promise = started.value;
    try {
      return await this.#settle(runtime, context, promise);
    } finally {
      promise.dispose();
    }
  }

  /** Drives the guest's job queue until the run's promise settles or a limit stops it. */
  async #settle(runtime: QuickJSRuntime, context: QuickJSContext, promise: QuickJSHandle): Promise<Stop | SandboxOutcome> {
    for (;;) {
      const jobs = this.#section(() => runtime.executePendingJobs());
      if (jobs.error) return this.#failedWith(context, jobs.error);
      const limit = this.#limitStop();
      if (limit !== undefined) return limit;
      const state = context.getPromiseState(promise);
      if (state.type === "fulfilled") {
        try {
          return this.#readRecord(context, state.value);
        } finally {
          if (!state.notAPromise) state.value.dispose();
        }
      }
      if (state.type === "rejected") return this.#failedWith(context, state.error);
      if (this.#inflight.size === 0) {
        return { status: AgentStatus.AGENT_ERROR, message: "agent awaits a promise that can never settle" };
      }
      await this.#waitForHost();
      const stopped = this.#limitStop();
      if (stopped !== undefined) return stopped;
    }
  }

  #waitForHost(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#timedOut = true;
          done();
        },
        Math.max(0, this.options.deadline - Date.now()) + 1,
      );
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
    });
  }

  /** An exception escaped the prelude: only engine errors (interrupt, out of memory) get here. */
  #failedWith(context: QuickJSContext, error: QuickJSHandle): Stop {
    try {
      const limit = this.#limitStop();
      if (limit !== undefined) return limit;
      const dumped: unknown = context.dump(error);
      const message = typeof dumped === "object" && dumped !== null ? String((dumped as { message?: unknown }).message) : String(dumped);
      const memory = MEMORY_ERRORS.get(message);
      if (memory !== undefined) return { status: AgentStatus.MEMORY_LIMIT, message: memory };
      if (this.#memoryExhausted()) return { status: AgentStatus.MEMORY_LIMIT, message: "memory limit exceeded" };
      return { status: AgentStatus.AGENT_ERROR, message: clip(`agent failed: ${message}`) };
    } finally {
      error.dispose();
    }
  }

  /** Reads the null-prototype record the prelude's run() resolved to (never agent-shaped). */
  #readRecord(context: QuickJSContext, record: QuickJSHandle): Stop | SandboxOutcome {
    const field = (name: string): string => {
      const handle = context.getProp(record, name);
      try {
        return context.typeof(handle) === "string" ? context.getString(handle) : "";
      } finally {
        handle.dispose();
      }
    };
    const { maxOutputBytes } = this.options.limits;
    const tooLarge = { status: AgentStatus.OUTPUT_LIMIT, message: `output exceeds ${maxOutputBytes} bytes` };
    switch (field("kind")) {
      case "text": {
        const bytes = new TextEncoder().encode(field("text"));
        return bytes.byteLength > maxOutputBytes ? tooLarge : this.#outcome(AgentStatus.OK, bytes, "");
      }
      case "bytes": {
        const handle = context.getProp(record, "bytes");
        try {
          const view = context.getArrayBuffer(handle);
          const bytes = view.value.slice();
          view.dispose();
          return bytes.byteLength > maxOutputBytes ? tooLarge : this.#outcome(AgentStatus.OK, bytes, "");
        } finally {
          handle.dispose();
        }
      }
      case "too-large":
        return tooLarge;
      case "unserializable":
        return { status: AgentStatus.AGENT_ERROR, message: clip(`output is not serializable: ${field("message")}`) };
      case "no-entry":
        return { status: AgentStatus.INVALID_BUNDLE, message: "bundle defines no agent entry (__agent.default)" };
      case "invalid":
        return this.#errorStop(field, AgentStatus.INVALID_BUNDLE, "bundle failed to evaluate");
      case "error":
        return this.#errorStop(field, AgentStatus.AGENT_ERROR, "agent threw");
      default:
        return { status: AgentStatus.INTERNAL_ERROR, message: "sandbox returned no result" };
    }
  }

  #errorStop(field: (name: string) => string, status: AgentStatusCode, prefix: string): Stop {
    const hostError = this.#tokens.get(field("token"));
    if (hostError !== undefined) return hostError;
    const name = field("name");
    const message = field("message");
    if (name === "InternalError") {
      const memory = MEMORY_ERRORS.get(message);
      if (memory !== undefined) return { status: AgentStatus.MEMORY_LIMIT, message: memory };
    }
    if (this.#memoryExhausted()) return { status: AgentStatus.MEMORY_LIMIT, message: "memory limit exceeded" };
    return { status, message: clip(`${prefix}: ${name}: ${message}`) };
  }

  #log(line: string): void {
    const { maxLogLines, maxLogLineBytes } = this.options.limits;
    this.#logLines += 1;
    if (this.#logLines > maxLogLines) {
      if (this.#logLines === maxLogLines + 1) this.hooks.log(`(log limit of ${maxLogLines} lines reached; further lines dropped)`);
      return;
    }
    this.hooks.log(line.length > maxLogLineBytes ? `${line.slice(0, maxLogLineBytes)}…` : line);
  }

  #hostCall(context: QuickJSContext, opHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle {
    const op = context.typeof(opHandle) === "string" ? context.getString(opHandle) : "";
    const args = context.typeof(argsHandle) === "string" ? context.getString(argsHandle) : "";
    this.#hostCalls += 1;
    if (this.#hostCalls > this.options.limits.maxHostCalls) {
      this.#halt({ status: AgentStatus.HOST_CALL_LIMIT, message: `more than ${this.options.limits.maxHostCalls} host calls` });
      // The interrupt handler ends the run before the guest can observe this promise.
      const never = context.newPromise();
      this.#inflight.add(never);
      return never.handle;
    }
    const deferred = context.newPromise();
    this.#inflight.add(deferred);
    this.hooks.hostCall(op, args, (this.#abort ??= new AbortController()).signal).then(
      (value) => this.#reply(context, deferred, { ok: true, value }),
      (error: unknown) => this.#reply(context, deferred, this.#failureReply(error)),
    );
    return deferred.handle;
  }

  #failureReply(error: unknown): Record<string, unknown> {
    if (error instanceof HostCallFailure) {
      const token = randomBytes(16).toString("hex");
      this.#tokens.set(token, { status: error.status, message: clip(error.message) });
      return { ok: false, code: statusName(error.status), message: error.message, token };
    }
    const message = error instanceof Error ? error.message : "host call failed";
    return { ok: false, code: "HOST_CALL_FAILED", message, token: "" };
  }

  #reply(context: QuickJSContext, deferred: QuickJSDeferredPromise, reply: Record<string, unknown>): void {
    if (this.#finished || !this.#inflight.has(deferred)) return;
    this.#inflight.delete(deferred);
    try {
      const json = context.newString(JSON.stringify(reply));
      deferred.resolve(json);
      json.dispose();
    } catch {
      // Allocating the reply inside the guest failed: its heap is exhausted. The instance is
      // dropped rather than trusted after a failure in the middle of an engine call.
      this.broken = true;
      this.#halt({ status: AgentStatus.MEMORY_LIMIT, message: "memory limit exceeded" });
    } finally {
      if (!this.broken) deferred.dispose();
    }
    this.#wake?.();
  }
}

function seedWords(seed: string): number[] {
  const bytes = keccak_256(getBytes(seed));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [0, 4, 8, 12].map((offset) => view.getUint32(offset));
}

function clip(message: string): string {
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}

function isOutcome(value: Stop | SandboxOutcome): value is SandboxOutcome {
  return "hostCalls" in value;
}
