import { Interface, Wallet, getAddress, keccak256, type Log } from "ethers";
import type { AgentRequest } from "../../../protocol/request.js";
import { RpcError, SimulationError, errorMessage } from "../errors.js";
import type { ObservedRequest, ObservedSettlement } from "../store/store.js";
import type { BlockHeader, ChainClient, Fulfillment, TxReceipt, TxRequest } from "./chain-client.js";
import { Eip1559Signer } from "./eip1559-signer.js";
import { encodeFulfillBatchCalldata } from "./fulfill-calldata.js";
import { ROUTER_ABI, WORKER_REGISTRY_ABI } from "./router-abi.js";

export interface EthersChainClientOptions {
  rpcUrl: string;
  router: string;
  privateKey: string;
  workerRegistry?: string;
  /** Extra ABI fragments (the router's custom errors) to decode revert reasons. */
  errorAbi?: readonly string[];
  /** Per-call JSON-RPC timeout. */
  rpcTimeoutMs?: number;
}

const DEFAULT_RPC_TIMEOUT_MS = 10_000;
const MIN_PRIORITY_FEE = 1_000_000n;

const WORD_HEX = 64;
const REQUEST_WORDS = 15;

/** The `index`-th 32-byte word of ABI data as an unsigned integer. */
function word(data: string, index: number): bigint {
  return BigInt(`0x${data.slice(2 + index * WORD_HEX, 2 + (index + 1) * WORD_HEX)}`);
}

function addressWord(data: string, index: number): string {
  return getAddress(`0x${data.slice(2 + index * WORD_HEX + 24, 2 + (index + 1) * WORD_HEX)}`);
}

function bytes32Word(data: string, index: number): string {
  return `0x${data.slice(2 + index * WORD_HEX, 2 + (index + 1) * WORD_HEX)}`;
}

/**
 * Decodes AgentRequested's data, abi.encode(AgentRequest, bytes input), by hand: the request is a
 * static tuple of 15 words, so its ABI encoding (whose keccak256 is the request hash) is simply the
 * first 15 words. ethers' generic decoder allocates ~60 KB per event, which dominated the bridge's
 * memory and CPU with blocks full of requests.
 */
export function decodeAgentRequested(data: string): { request: AgentRequest; input: string; requestHash: string } {
  const request: AgentRequest = {
    id: word(data, 0),
    agentId: word(data, 1),
    consumer: addressWord(data, 2),
    accountId: word(data, 3),
    worker: addressWord(data, 4),
    agentVersion: word(data, 5),
    keyEpoch: word(data, 6),
    callbackGasLimit: word(data, 7),
    agentOwner: addressWord(data, 8),
    agentPrice: word(data, 9),
    maxFee: word(data, 10),
    deadline: word(data, 11),
    codeHash: bytes32Word(data, 12),
    inputHash: bytes32Word(data, 13),
    configVersion: word(data, 14),
  };
  const offsetWords = Number(word(data, REQUEST_WORDS)) / 32;
  const length = Number(word(data, offsetWords));
  const start = 2 + (offsetWords + 1) * WORD_HEX;
  const input = `0x${data.slice(start, start + length * 2)}`;
  return { request, input, requestHash: keccak256(`0x${data.slice(2, 2 + REQUEST_WORDS * WORD_HEX)}`) };
}

/** ChainClient over JSON-RPC with ethers v6; works with Hardhat's node and anvil. */
export class EthersChainClient implements ChainClient {
  readonly router: string;
  readonly account: string;
  private readonly rpcUrl: string;
  private readonly rpcTimeoutMs: number;
  private rpcId = 0;
  private readonly wallet: Wallet;
  private readonly iface: Interface;
  private readonly registry?: string;
  private readonly registryIface = new Interface(WORKER_REGISTRY_ABI);
  private readonly topics: { requested: string; fulfilled: string; timedOut: string; skipped: string };
  private cachedChainId?: bigint;
  private signer?: Eip1559Signer;
  private readonly fulfillBatchSelector: string;

  constructor(options: EthersChainClientOptions) {
    this.rpcUrl = options.rpcUrl;
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
    this.wallet = new Wallet(options.privateKey);
    this.account = this.wallet.address;
    this.router = options.router;
    this.iface = new Interface([...ROUTER_ABI, ...(options.errorAbi ?? [])]);
    this.topics = {
      requested: this.iface.getEvent("AgentRequested")!.topicHash,
      fulfilled: this.iface.getEvent("RequestFulfilled")!.topicHash,
      timedOut: this.iface.getEvent("RequestTimedOut")!.topicHash,
      skipped: this.iface.getEvent("FulfillmentSkipped")!.topicHash,
    };
    this.registry = options.workerRegistry;
    this.fulfillBatchSelector = this.iface.getFunction("fulfillBatch")!.selector;
  }

  /**
   * One JSON-RPC call over fetch, one HTTP request each (no batching: a failure belongs to one call
   * and is retried by its loop). Not ethers' provider: its byte-by-byte body decoding allocated
   * ~25 KB per log in large eth_getLogs answers.
   */
  private async send(method: string, params: unknown[]): Promise<unknown> {
    const response = await fetch(this.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++this.rpcId, method, params }),
      signal: AbortSignal.timeout(this.rpcTimeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
    return body.result;
  }

  /** A JSON-RPC batch: one HTTP request; per-call errors come back as Error entries. */
  private async sendBatch(calls: { method: string; params: unknown[] }[]): Promise<(string | Error)[]> {
    const first = this.rpcId + 1;
    this.rpcId += calls.length;
    const response = await fetch(this.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls.map((call, i) => ({ jsonrpc: "2.0", id: first + i, ...call }))),
      signal: AbortSignal.timeout(this.rpcTimeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as { id: number; result?: string; error?: { message: string } }[];
    if (!Array.isArray(body)) throw new Error("node does not support JSON-RPC batches");
    const byId = new Map(body.map((entry) => [entry.id, entry]));
    return calls.map((_, i) => {
      const entry = byId.get(first + i);
      if (!entry) return new Error("missing answer in batch");
      return entry.error ? new Error(entry.error.message) : (entry.result as string);
    });
  }

  private async rpc<T>(method: string, params: unknown[]): Promise<T> {
    try {
      return (await this.send(method, params)) as T;
    } catch (error) {
      throw new RpcError(`${method} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async chainId(): Promise<bigint> {
    this.cachedChainId ??= BigInt(await this.rpc<string>("eth_chainId", []));
    return this.cachedChainId;
  }

  async blockNumber(): Promise<number> {
    return Number(await this.rpc<string>("eth_blockNumber", []));
  }

  async block(number: number | "latest"): Promise<BlockHeader | undefined> {
    const tag = number === "latest" ? "latest" : `0x${number.toString(16)}`;
    const raw = await this.rpc<{ number: string; hash: string; parentHash: string; timestamp: string } | null>("eth_getBlockByNumber", [tag, false]);
    if (!raw) return undefined;
    return { number: Number(raw.number), hash: raw.hash, parentHash: raw.parentHash, timestamp: BigInt(raw.timestamp) };
  }

  async routerEvents(from: number, to: number): Promise<{ requests: ObservedRequest[]; settlements: ObservedSettlement[] }> {
    const logs = await this.rpc<Log[]>("eth_getLogs", [
      {
        address: this.router,
        fromBlock: `0x${from.toString(16)}`,
        toBlock: `0x${to.toString(16)}`,
        topics: [[this.topics.requested, this.topics.fulfilled, this.topics.timedOut]],
      },
    ]);
    const requests: ObservedRequest[] = [];
    const settlements: ObservedSettlement[] = [];
    for (const log of logs) {
      if ((log as unknown as { removed?: boolean }).removed) continue;
      const block = { number: Number(log.blockNumber), hash: log.blockHash };
      const txHash = log.transactionHash;
      const topic = log.topics[0];
      if (topic === this.topics.requested) {
        const { request, input, requestHash } = decodeAgentRequested(log.data);
        const logIndex = Number((log as unknown as { logIndex?: string }).logIndex ?? log.index);
        requests.push({ request, input, requestHash, block, logIndex, txHash });
      } else if (topic === this.topics.fulfilled) {
        settlements.push({ requestId: BigInt(log.topics[1]!), outcome: "fulfilled", block, txHash, fee: word(log.data, 3), refund: word(log.data, 4) });
      } else if (topic === this.topics.timedOut) {
        settlements.push({ requestId: BigInt(log.topics[1]!), outcome: "timed_out", block, txHash, fee: 0n, refund: word(log.data, 0) });
      }
    }
    return { requests, settlements };
  }

  async isPending(requestIds: bigint[]): Promise<(boolean | Error)[]> {
    if (requestIds.length === 0) return [];
    const calls = requestIds.map((id) => ({ method: "eth_call", params: [{ to: this.router, data: this.iface.encodeFunctionData("isPending", [id]) }, "latest"] }));
    let answers: (string | Error)[];
    try {
      answers = await this.sendBatch(calls);
    } catch (error) {
      throw new RpcError(`isPending batch failed: ${errorMessage(error)}`, { cause: error });
    }
    return answers.map((answer) => (answer instanceof Error ? answer : (this.iface.decodeFunctionResult("isPending", answer)[0] as boolean)));
  }

  encodeFulfillBatch(fulfillments: Fulfillment[]): string {
    return encodeFulfillBatchCalldata(this.fulfillBatchSelector, fulfillments);
  }

  encodeTimeout(request: AgentRequest): string {
    return this.iface.encodeFunctionData("timeout", [request]);
  }

  /** Turns a JSON-RPC revert into a readable reason (custom error name and args when the ABI knows it). */
  private revertReason(error: unknown): string | undefined {
    let cursor: unknown = error;
    for (let depth = 0; depth < 6 && cursor && typeof cursor === "object"; depth++) {
      const data = (cursor as { data?: unknown }).data;
      if (typeof data === "string" && data.startsWith("0x")) {
        if (data === "0x") return "reverted without reason";
        try {
          const parsed = this.iface.parseError(data);
          if (parsed) return parsed.name === "Error" ? String(parsed.args[0]) : `${parsed.name}(${parsed.args.map(String).join(", ")})`;
        } catch {
          /* unknown selector: fall through */
        }
        return `custom error ${data.slice(0, 10)}`;
      }
      if (data && typeof data === "object") {
        cursor = data;
        continue;
      }
      cursor = (cursor as { error?: unknown; info?: unknown }).error ?? (cursor as { info?: { error?: unknown } }).info?.error;
    }
    const message = errorMessage(error);
    return /revert/i.test(message) ? message : undefined;
  }

  private async call(method: string, params: unknown[]): Promise<string> {
    try {
      return (await this.send(method, params)) as string;
    } catch (error) {
      const reason = this.revertReason(error);
      if (reason !== undefined) throw new SimulationError(`${method} reverted: ${reason}`, reason, { cause: error });
      throw new RpcError(`${method} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async simulate(data: string): Promise<void> {
    await this.call("eth_call", [{ from: this.account, to: this.router, data }, "latest"]);
  }

  async estimateGas(data: string): Promise<bigint> {
    return BigInt(await this.call("eth_estimateGas", [{ from: this.account, to: this.router, data }]));
  }

  async fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const latest = await this.rpc<{ baseFeePerGas?: string } | null>("eth_getBlockByNumber", ["latest", false]);
    let priority: bigint;
    try {
      priority = BigInt(await this.rpc<string>("eth_maxPriorityFeePerGas", []));
    } catch {
      priority = MIN_PRIORITY_FEE;
    }
    if (priority < MIN_PRIORITY_FEE) priority = MIN_PRIORITY_FEE;
    const base = BigInt(latest?.baseFeePerGas ?? "0");
    // Two base fees of headroom survive several full blocks of base-fee growth.
    return { maxFeePerGas: base * 2n + priority, maxPriorityFeePerGas: priority };
  }

  async nonce(tag: "latest" | "pending"): Promise<number> {
    return Number(await this.rpc<string>("eth_getTransactionCount", [this.account, tag]));
  }

  async sign(tx: TxRequest): Promise<{ hash: string; raw: string }> {
    this.signer ??= new Eip1559Signer(this.wallet.privateKey, await this.chainId());
    return this.signer.sign(tx);
  }

  async broadcast(raw: string): Promise<void> {
    try {
      await this.send("eth_sendRawTransaction", [raw]);
    } catch (error) {
      const message = errorMessage(error);
      if (/already known|known transaction|already imported/i.test(message)) return;
      throw new RpcError(`eth_sendRawTransaction failed: ${message}`, { cause: error });
    }
  }

  async receipt(hash: string): Promise<TxReceipt | undefined> {
    const raw = await this.rpc<{
      status: string;
      blockNumber: string;
      gasUsed: string;
      effectiveGasPrice?: string;
      logs: { address: string; topics: string[]; data: string }[];
    } | null>("eth_getTransactionReceipt", [hash]);
    if (!raw) return undefined;
    const settled: bigint[] = [];
    const skipped: bigint[] = [];
    for (const log of raw.logs) {
      if (log.address.toLowerCase() !== this.router.toLowerCase() || !log.topics[0] || !log.topics[1]) continue;
      const topic = log.topics[0];
      if (topic === this.topics.fulfilled || topic === this.topics.timedOut) settled.push(BigInt(log.topics[1]));
      else if (topic === this.topics.skipped) skipped.push(BigInt(log.topics[1]));
    }
    return {
      hash,
      success: raw.status === "0x1",
      blockNumber: Number(raw.blockNumber),
      gasUsed: BigInt(raw.gasUsed),
      effectiveGasPrice: BigInt(raw.effectiveGasPrice ?? "0"),
      settled,
      skipped,
    };
  }

  async workerEndpoints(): Promise<Map<string, string>> {
    const endpoints = new Map<string, string>();
    if (!this.registry) return endpoints;
    const topics = [this.registryIface.getEvent("WorkerRegistered")!.topicHash, this.registryIface.getEvent("WorkerEndpointUpdated")!.topicHash];
    const logs = await this.rpc<Log[]>("eth_getLogs", [{ address: this.registry, fromBlock: "0x0", toBlock: "latest", topics: [topics] }]);
    for (const log of logs) {
      const parsed = this.registryIface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed) endpoints.set((parsed.args.worker as string).toLowerCase(), parsed.args.endpoint as string);
    }
    return endpoints;
  }

  async isWorkerActive(worker: string): Promise<boolean | undefined> {
    if (!this.registry) return undefined;
    const data = this.registryIface.encodeFunctionData("isActive", [worker]);
    const result = await this.rpc<string>("eth_call", [{ to: this.registry, data }, "latest"]);
    return this.registryIface.decodeFunctionResult("isActive", result)[0] as boolean;
  }

}
