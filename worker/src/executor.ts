import { getBytes, keccak256, toUtf8Bytes } from "ethers";
import type { Logger } from "pino";
import { EnvelopeError, splitForwardedInput, type InputBinding } from "../../protocol/confidential.js";
import { DecryptionError, type InputDecryptor } from "../../protocol/decryptor.js";
import type { AgentRequest } from "../../protocol/request.js";
import { AgentStatus, type AgentStatusCode, statusName } from "../../protocol/status.js";
import type { BundleStore } from "./bundle/cache.js";
import type { LimitsConfig } from "./config.js";
import type { AgentCode, AgentDirectory } from "./directory.js";
import type { AgentFetcher } from "./egress.js";
import { ExecutionFailure } from "./errors.js";
import type { LlmClient } from "./llm.js";
import type { WorkerMetrics } from "./metrics.js";
import { HostCallFailure, type HostServices } from "./sandbox/host-api.js";
import type { SandboxRunner } from "./sandbox/sandbox.js";

export interface ExecutionResult {
  status: AgentStatusCode;
  /** The agent's output when OK, else the UTF-8 error message. */
  output: Uint8Array;
  /**
   * Agents that completed a call and delivered their output on the way, nested calls included, in
   * completion order: listed (and so paid) whatever the final status, because their work was used.
   */
  subAgentIds: bigint[];
  /** The price budgeted for each of subAgentIds' calls, signed as the most each callee is paid. */
  subAgentPrices: bigint[];
}

export interface ExecutorDeps {
  /** The chain this worker serves: part of the binding of every confidential input and secret. */
  chainId: bigint;
  runner: SandboxRunner;
  directory: AgentDirectory;
  bundles: BundleStore;
  decryptor: InputDecryptor;
  fetcher: AgentFetcher;
  llm: LlmClient;
  limits: LimitsConfig;
  /** Part of maxFee kept back from sub-agent calls. */
  feeReserve: bigint;
  logger: Logger;
  metrics?: WorkerMetrics;
}

/** What one request's whole call tree shares. */
interface Tree {
  request: AgentRequest;
  requestHash: string;
  deadline: number;
  /** Sandbox runs started for the request (maxRunsPerRequest). */
  runs: number;
  /** Engine CPU time used by the whole tree, in µs, shared with the sandbox threads (maxCpuMsPerRequest). */
  cpu: SharedArrayBuffer;
  /** PHA still available for sub-agent prices. */
  budget: { remaining: bigint };
}

interface Frame {
  agentId: bigint;
  code: AgentCode;
  input: Uint8Array;
  /** Call path from the main agent ("0", "0.1", ...): seeds the run's randomness. */
  path: string;
  stack: bigint[];
  signal?: AbortSignal;
}

/** Sub-calls a frame listed so far, each with the price it was budgeted at. */
interface Listed {
  ids: bigint[];
  prices: bigint[];
  cost: bigint;
  closed: boolean;
}

interface FrameResult {
  status: AgentStatusCode;
  output: Uint8Array;
  message: string;
  subAgentIds: bigint[];
  subAgentPrices: bigint[];
  /** Prices of the listed sub-calls. */
  cost: bigint;
}

/**
 * Turns a request into a result the worker can sign: loads the agent's code from the registry,
 * checks it against the request's code hash, decrypts input and secrets, runs the agent and its
 * sub-agents within the limits and the request's budget. Every failure becomes a status, never an
 * exception.
 */
export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  async execute(request: AgentRequest, input: Uint8Array, requestHash: string): Promise<ExecutionResult> {
    const { limits, feeReserve } = this.deps;
    // The capacity fee is paid from maxFee at settlement like the agent's price: never budget it to callees.
    const spare = request.maxFee - request.capacityFee - request.agentPrice - feeReserve;
    const tree: Tree = {
      request,
      requestHash,
      deadline: Date.now() + limits.wallTimeMs,
      runs: 1,
      cpu: new SharedArrayBuffer(4),
      budget: { remaining: spare > 0n ? spare : 0n },
    };
    try {
      if (input.byteLength > limits.maxInputBytes) {
        throw new ExecutionFailure(AgentStatus.INTERNAL_ERROR, `input exceeds ${limits.maxInputBytes} bytes`);
      }
      const plain = request.keyEpoch === 0n ? input : await this.#input(request, input);
      const registered = await this.#registry(() => this.deps.directory.codeOf(request.agentId, request.agentVersion));
      if (registered.codeHash.toLowerCase() !== request.codeHash.toLowerCase()) {
        throw new ExecutionFailure(AgentStatus.CODE_HASH_MISMATCH, `registry code hash of version ${request.agentVersion} differs from the request's`);
      }
      const result = await this.#runFrame(tree, {
        agentId: request.agentId,
        code: { codeHash: request.codeHash, uri: registered.uri },
        input: plain,
        path: "0",
        stack: [request.agentId],
      });
      if (result.status !== AgentStatus.OK) return errorResult(result.status, result.message, result.subAgentIds, result.subAgentPrices);
      return { status: AgentStatus.OK, output: result.output, subAgentIds: result.subAgentIds, subAgentPrices: result.subAgentPrices };
    } catch (error) {
      const failure = ExecutionFailure.from(error);
      if (!(error instanceof ExecutionFailure)) this.deps.logger.error({ err: error }, "execution failed unexpectedly");
      return errorResult(failure.status, failure.message);
    }
  }

  async #runFrame(tree: Tree, frame: Frame): Promise<FrameResult> {
    const depth = frame.stack.length - 1;
    const listed: Listed = { ids: [], prices: [], cost: 0n, closed: false };
    let result: FrameResult;
    try {
      const bundle = await this.deps.bundles.get(frame.code.codeHash, frame.code.uri);
      const secrets = await this.#secrets(frame.agentId);
      const seed = keccak256(toUtf8Bytes(`${tree.requestHash}/${frame.path}`));
      let nextChild = 0;
      const host: HostServices = {
        fetch: (args, signal) => this.#counted("fetch", () => this.deps.fetcher.fetch(args, signal)),
        llmChat: (args, signal) => this.#counted("llm.chat", () => this.deps.llm.chat(args, Number.parseInt(seed.slice(2, 10), 16), signal)),
        callAgent: (agentId, input, signal) =>
          this.#counted("callAgent", () => this.#callAgent(tree, frame, listed, agentId, input, `${frame.path}.${nextChild++}`, signal)),
        openForwardedInput: (sealed, client) => this.#counted("openForwardedInput", () => this.#forwardedInput(tree.request, frame, sealed, client)),
      };
      const outcome = await this.deps.runner.run({
        source: bundle.source,
        input: frame.input,
        agentId: frame.agentId,
        request: {
          requestId: tree.request.id.toString(),
          requestHash: tree.requestHash,
          consumer: tree.request.consumer,
          caller: frame.stack.length > 1 ? String(frame.stack[frame.stack.length - 2]) : "",
          deadline: tree.request.deadline.toString(),
        },
        now: Number(tree.request.deadline) * 1000,
        seed,
        secrets,
        limits: this.deps.limits,
        deadline: tree.deadline,
        cpu: { usedMicros: tree.cpu, limitMicros: this.deps.limits.maxCpuMsPerRequest * 1000 },
        signal: frame.signal,
        host,
        log: (line) => this.deps.logger.info({ agentId: frame.agentId.toString(), requestId: tree.request.id.toString(), depth }, `agent: ${line}`),
      });
      result = { status: outcome.status, output: outcome.output, message: outcome.message, subAgentIds: [], subAgentPrices: [], cost: 0n };
    } catch (error) {
      const failure = ExecutionFailure.from(error);
      if (!(error instanceof ExecutionFailure)) this.deps.logger.error({ err: error }, "agent run failed unexpectedly");
      result = { status: failure.status, output: new Uint8Array(), message: failure.message, subAgentIds: [], subAgentPrices: [], cost: 0n };
    }
    // Sub-calls finishing after this point belong to nothing: they refund themselves.
    listed.closed = true;
    this.deps.metrics?.sandboxRuns.inc({ status: statusName(result.status), depth: String(depth) });
    // Callees that delivered their output are paid whatever this frame's status: the frame may
    // have used their output (even to fail with it), so a failing caller is no way to free work.
    return { ...result, subAgentIds: [...listed.ids], subAgentPrices: [...listed.prices], cost: listed.cost };
  }

  async #callAgent(tree: Tree, caller: Frame, listed: Listed, agentId: bigint, input: Uint8Array, path: string, signal: AbortSignal): Promise<Uint8Array> {
    const { maxCallDepth } = this.deps.limits;
    if (caller.stack.includes(agentId)) {
      const cycle = [...caller.stack, agentId].join(" -> ");
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `callAgent denied: cycle ${cycle}`);
    }
    if (caller.stack.length > maxCallDepth) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `callAgent denied: call depth limit ${maxCallDepth} reached`);
    }
    const { maxRunsPerRequest } = this.deps.limits;
    if (tree.runs >= maxRunsPerRequest) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `callAgent denied: the request's limit of ${maxRunsPerRequest} sandbox runs is reached`);
    }
    // Counted before anything awaits, so a burst of parallel calls cannot pass the limit together.
    tree.runs += 1;
    const { owner, price } = await this.#registry(() => this.deps.directory.ownerAndPrice(agentId));
    if (/^0x0{40}$/i.test(owner)) throw new HostCallFailure(AgentStatus.SUB_AGENT_FAILED, `agent ${agentId} is not registered`);
    if (price > tree.budget.remaining) {
      throw new HostCallFailure(
        AgentStatus.BUDGET_EXCEEDED,
        `callAgent denied: agent ${agentId} costs ${price}, ${tree.budget.remaining} left of the request's budget`,
      );
    }
    tree.budget.remaining -= price;
    let result: FrameResult;
    try {
      const code = await this.#registry(() => this.deps.directory.currentCode(agentId));
      result = await this.#runFrame(tree, { agentId, code, input, path, stack: [...caller.stack, agentId], signal });
    } catch (error) {
      tree.budget.remaining += price;
      throw error;
    }
    if (listed.closed) {
      // The caller already finished: the output reaches no one, nobody pays for it.
      tree.budget.remaining += price + result.cost;
      throw new HostCallFailure(AgentStatus.SUB_AGENT_FAILED, `agent ${agentId} finished after its caller`);
    }
    if (result.status !== AgentStatus.OK) {
      // A failed callee delivered nothing and is not paid; the callees it used still are.
      tree.budget.remaining += price;
      listed.ids.push(...result.subAgentIds);
      listed.prices.push(...result.subAgentPrices);
      listed.cost += result.cost;
      throw new HostCallFailure(AgentStatus.SUB_AGENT_FAILED, `agent ${agentId} failed with ${statusName(result.status)}: ${result.message}`);
    }
    listed.ids.push(agentId, ...result.subAgentIds);
    listed.prices.push(price, ...result.subAgentPrices);
    listed.cost += price + result.cost;
    return result.output;
  }

  async #counted<T>(op: string, call: () => Promise<T>): Promise<T> {
    try {
      const value = await call();
      this.deps.metrics?.hostCalls.inc({ op, outcome: "ok" });
      return value;
    } catch (error) {
      const outcome = error instanceof HostCallFailure ? statusName(error.status) : "error";
      this.deps.metrics?.hostCalls.inc({ op, outcome });
      throw error;
    }
  }

  /**
   * Opens a confidential input; only a ciphertext sealed for this request's consumer and agent
   * opens, and one pinned to a code hash only in a request for that code (the committed codeHash).
   */
  async #input(request: AgentRequest, ciphertext: Uint8Array): Promise<Uint8Array> {
    const epoch = Number(request.keyEpoch);
    const binding = { chainId: this.deps.chainId, consumer: request.consumer, agentId: request.agentId };
    return this.#decrypting(epoch, "input", () => this.#openInput(epoch, ciphertext, binding, request.codeHash));
  }

  /**
   * ctx.openForwardedInput: a forwarding consumer's client sealed data for this consumer, this agent
   * and itself, and the agent names the client from what the consumer wrote into the input. Only
   * the requested agent may ask: a sub-agent's input comes from its caller's code, not from the
   * consumer, so the client it would name is vouched for by nobody.
   */
  async #forwardedInput(request: AgentRequest, frame: Frame, sealed: Uint8Array, client: string): Promise<Uint8Array> {
    if (frame.stack.length > 1) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "openForwardedInput denied: a sub-agent call cannot open forwarded inputs");
    }
    let parsed: { keyEpoch: number; ciphertext: Uint8Array };
    try {
      parsed = splitForwardedInput(sealed);
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      throw new HostCallFailure(AgentStatus.DECRYPTION_FAILED, "cannot decrypt forwarded input: it is not a sealed forwarded input");
    }
    // Lower case: an address names the client whatever its checksum casing.
    const binding = { chainId: this.deps.chainId, consumer: request.consumer, agentId: frame.agentId, client: client.toLowerCase() };
    try {
      return await this.#decrypting(parsed.keyEpoch, "forwarded input", () => this.#openInput(parsed.keyEpoch, parsed.ciphertext, binding, request.codeHash));
    } catch (error) {
      if (error instanceof ExecutionFailure) throw new HostCallFailure(error.status, error.message);
      throw error;
    }
  }

  /** Opens an input pinned to `codeHash`, or else one sealed for any version of the agent. */
  async #openInput(epoch: number, ciphertext: Uint8Array, binding: InputBinding, codeHash: string): Promise<Uint8Array> {
    const { decryptor } = this.deps;
    try {
      return await decryptor.decryptInput(epoch, ciphertext, { ...binding, codeHash });
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      return decryptor.decryptInput(epoch, ciphertext, binding);
    }
  }

  /** An agent's own secrets, opened for (chain, the registry they were read from, the agent). */
  async #secrets(agentId: bigint): Promise<Record<string, string>> {
    const { directory, decryptor, chainId } = this.deps;
    const sealed = await this.#registry(() => directory.secretsOf(agentId));
    if (sealed.ciphertext.byteLength === 0) return {};
    const agentRegistry = directory.agentRegistry;
    if (agentRegistry === undefined) {
      throw new ExecutionFailure(
        AgentStatus.DECRYPTION_FAILED,
        `cannot decrypt secrets of agent ${agentId}: the worker knows no AgentRegistry to bind them to`,
      );
    }
    const binding = { chainId, agentRegistry, agentId };
    const secrets = await this.#decrypting(sealed.keyEpoch, `secrets of agent ${agentId}`, () =>
      decryptor.decryptAgentSecrets(sealed.keyEpoch, sealed.ciphertext, binding),
    );
    return { ...secrets };
  }

  /** A DecryptionError becomes a signed DECRYPTION_FAILED naming what and the epoch; the reason goes to the log. */
  async #decrypting<T>(epoch: number, what: string, open: () => Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (error) {
      if (error instanceof DecryptionError) {
        this.deps.logger.info({ epoch, what, reason: error.message }, "decryption refused");
        throw new ExecutionFailure(AgentStatus.DECRYPTION_FAILED, `cannot decrypt ${what} (key epoch ${epoch})`);
      }
      throw error;
    }
  }

  async #registry<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.deps.logger.warn({ err: error }, "agent registry read failed");
      throw new ExecutionFailure(AgentStatus.INTERNAL_ERROR, "agent registry unavailable");
    }
  }
}

function errorResult(status: AgentStatusCode, message: string, subAgentIds: bigint[] = [], subAgentPrices: bigint[] = []): ExecutionResult {
  return { status, output: getBytes(toUtf8Bytes(message)), subAgentIds, subAgentPrices };
}
