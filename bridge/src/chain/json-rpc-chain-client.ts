import { Wallet, getAddress, keccak256, type Log } from "ethers";
import { toHex, type Hex } from "../../../protocol/hex.js";
import { AGENT_REQUEST_FIELDS, type AgentRequest } from "../../../protocol/request.js";
import { RpcError, SimulationError, StaleNodeError } from "../errors.js";
import type { ObservedRequest, ObservedSettlement } from "../store/store.js";
import type { BlockHeader, ChainClient, Fulfillment, RouterEvents, ScannedRange, TxReceipt, TxRequest } from "./chain-client.js";
import { decodeRevert, routerInterface, workerRegistryInterface } from "./contracts.js";
import { Eip1559Signer } from "./eip1559-signer.js";
import { encodeFulfillBatchCalldata } from "./fulfill-calldata.js";
import { JsonRpc, revertData } from "./json-rpc.js";

export interface JsonRpcChainClientOptions {
  rpcUrl: string;
  router: string;
  privateKey: string;
  workerRegistry?: string;
  /** Per-call JSON-RPC timeout. */
  rpcTimeoutMs?: number;
  /** A call unanswered this long is sent once more (first answer wins). */
  rpcHedgeMs?: number;
}

const DEFAULT_RPC_TIMEOUT_MS = 10_000;
const MIN_PRIORITY_FEE = 1_000_000n;

const WORD_HEX = 64;
const REQUEST_WORDS = AGENT_REQUEST_FIELDS.length;

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

interface RawReceipt {
  status: string;
  blockNumber: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  logs: Log[];
}

const RECEIPTS_PER_BATCH = 100;

interface RawBlock {
  number: string;
  hash: Hex;
  parentHash: Hex;
  timestamp: string;
}

function toHeader(raw: RawBlock): BlockHeader {
  return { number: Number(raw.number), hash: raw.hash, parentHash: raw.parentHash, timestamp: BigInt(raw.timestamp) };
}

/**
 * Decodes AgentRequested's data, abi.encode(AgentRequest, bytes input), by hand: the request is a
 * static tuple of one word per field, so its ABI encoding (whose keccak256 is the request hash) is
 * simply the first words. ethers' generic decoder allocates ~60 KB per event, which dominated the bridge's
 * memory and CPU with blocks full of requests.
 */
export function decodeAgentRequested(data: string): { request: AgentRequest; input: Hex; requestHash: Hex } {
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
    capacityFee: word(data, 15),
  };
  const offsetWords = Number(word(data, REQUEST_WORDS)) / 32;
  const length = Number(word(data, offsetWords));
  const start = 2 + (offsetWords + 1) * WORD_HEX;
  const input: Hex = `0x${data.slice(start, start + length * 2)}`;
  return { request, input, requestHash: keccak256(`0x${data.slice(2, 2 + REQUEST_WORDS * WORD_HEX)}`) as Hex };
}

/**
 * ChainClient over plain JSON-RPC (JsonRpc on native fetch); works with any EVM node, anvil and
 * Hardhat's. The per-request hot paths are done by hand: AgentRequested decoding, fulfillBatch
 * encoding (chain/fulfill-calldata.ts) and transaction signing (chain/eip1559-signer.ts); ethers
 * only encodes the rare calls (timeout, views) from the artifacts' ABIs.
 */
export class JsonRpcChainClient implements ChainClient {
  readonly router: string;
  readonly account: string;
  private readonly rpc: JsonRpc;
  private readonly wallet: Wallet;
  private readonly registry?: string;
  private readonly topics = {
    requested: routerInterface.getEvent("AgentRequested")!.topicHash,
    fulfilled: routerInterface.getEvent("RequestFulfilled")!.topicHash,
    timedOut: routerInterface.getEvent("RequestTimedOut")!.topicHash,
    skipped: routerInterface.getEvent("FulfillmentSkipped")!.topicHash,
  };
  private readonly fulfillBatchSelector = routerInterface.getFunction("fulfillBatch")!.selector;
  private cachedChainId?: bigint;
  private signer?: Eip1559Signer;

  constructor(options: JsonRpcChainClientOptions) {
    this.rpc = new JsonRpc(options.rpcUrl, options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS, options.rpcHedgeMs);
    this.wallet = new Wallet(options.privateKey);
    this.account = this.wallet.address;
    this.router = options.router;
    this.registry = options.workerRegistry;
  }

  async chainId(): Promise<bigint> {
    this.cachedChainId ??= BigInt(await this.rpc.call<string>("eth_chainId", []));
    return this.cachedChainId;
  }

  async blockNumber(): Promise<number> {
    return Number(await this.rpc.call<string>("eth_blockNumber", []));
  }

  async block(number: number | "latest"): Promise<BlockHeader | undefined> {
    const tag = number === "latest" ? "latest" : `0x${number.toString(16)}`;
    const raw = await this.rpc.call<RawBlock | null>("eth_getBlockByNumber", [tag, false]);
    return raw ? toHeader(raw) : undefined;
  }

  async headers(numbers: number[]): Promise<(BlockHeader | undefined | Error)[]> {
    const answers = await this.rpc.batch(numbers.map((n) => ({ method: "eth_getBlockByNumber", params: [`0x${n.toString(16)}`, false] })));
    return answers.map((answer) => (answer instanceof RpcError ? answer : answer ? toHeader(answer as RawBlock) : undefined));
  }

  async routerEvents(from: number, to: number): Promise<ScannedRange> {
    const [logs, end] = await this.rpc.batch([
      { method: "eth_getLogs", params: [this.logFilter(from, to, [])] },
      { method: "eth_getBlockByNumber", params: [`0x${to.toString(16)}`, false] },
    ]);
    if (logs instanceof RpcError) throw logs;
    if (end instanceof RpcError) throw end;
    if (!end) throw new StaleNodeError("node does not have the end of the scanned range yet", { details: `block ${to}` });
    const header = toHeader(end as RawBlock);
    for (const log of logs as Log[]) {
      const number = Number(log.blockNumber);
      if (number > to || (number === to && log.blockHash !== header.hash)) {
        throw new StaleNodeError("logs and block header disagree", { details: `log in block ${number} ${log.blockHash}, header ${to} ${header.hash}` });
      }
    }
    return { ...this.parseLogs(logs as Log[]), end: header };
  }

  async requestEvents(ids: bigint[], from: number, to: number): Promise<RouterEvents> {
    if (ids.length === 0) return { requests: [], settlements: [] };
    return this.parseLogs(await this.rpc.call<Log[]>("eth_getLogs", [this.logFilter(from, to, ids)]));
  }

  async requestCount(block: { hash: string }): Promise<bigint> {
    const data = routerInterface.encodeFunctionData("requestCount");
    return BigInt(await this.rpc.call<string>("eth_call", [{ to: this.router, data }, { blockHash: block.hash }]));
  }

  private logFilter(from: number, to: number, ids: bigint[]) {
    const topics: (string | string[])[] = [[this.topics.requested, this.topics.fulfilled, this.topics.timedOut]];
    if (ids.length > 0) topics.push(ids.map((id) => `0x${id.toString(16).padStart(64, "0")}`));
    return { address: this.router, fromBlock: `0x${from.toString(16)}`, toBlock: `0x${to.toString(16)}`, topics };
  }

  private parseLogs(logs: Log[]): RouterEvents {
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
        const worker = `0x${log.topics[2]!.slice(-40)}`;
        settlements.push({ requestId: BigInt(log.topics[1]!), outcome: "fulfilled", block, txHash, fee: word(log.data, 3), refund: word(log.data, 4), worker });
      } else if (topic === this.topics.timedOut) {
        settlements.push({ requestId: BigInt(log.topics[1]!), outcome: "timed_out", block, txHash, fee: 0n, refund: word(log.data, 0) });
      }
    }
    return { requests, settlements };
  }

  async isPending(requestIds: bigint[], atBlock?: number): Promise<(boolean | Error)[]> {
    const tag = blockTag(atBlock);
    const calls = requestIds.map((id) => ({
      method: "eth_call",
      params: [{ to: this.router, data: routerInterface.encodeFunctionData("isPending", [id]) }, tag],
    }));
    const answers = await this.rpc.batch(calls);
    return answers.map((answer) => (answer instanceof RpcError ? answer : (routerInterface.decodeFunctionResult("isPending", answer as string)[0] as boolean)));
  }

  encodeFulfillBatch(fulfillments: Fulfillment[]): Hex {
    return encodeFulfillBatchCalldata(this.fulfillBatchSelector, fulfillments);
  }

  encodeFulfillAsBackup(fulfillment: Fulfillment, rank: number): Hex {
    // Rare (only after a worker missed its window): ethers' canonical encoding from the ABI.
    return routerInterface.encodeFunctionData("fulfillAsBackup", [fulfillment, rank]) as Hex;
  }

  async backupWorker(request: AgentRequest, rank: number, atBlock?: number): Promise<{ worker: string; opensAt: bigint }> {
    const data = routerInterface.encodeFunctionData("backupWorker", [request, rank]);
    const [worker, opensAt] = routerInterface.decodeFunctionResult("backupWorker", await this.call("eth_call", [{ to: this.router, data }, blockTag(atBlock)]));
    return { worker: (worker as string).toLowerCase(), opensAt: opensAt as bigint };
  }

  async maxBackups(): Promise<number> {
    const data = routerInterface.encodeFunctionData("MAX_BACKUPS");
    return Number(routerInterface.decodeFunctionResult("MAX_BACKUPS", await this.rpc.call<string>("eth_call", [{ to: this.router, data }, "latest"]))[0]);
  }

  encodeTimeoutBatch(requests: AgentRequest[]): Hex {
    return routerInterface.encodeFunctionData("timeoutBatch", [requests]) as Hex;
  }

  /** A call whose revert becomes a SimulationError (decoded from the contracts' ABIs); other failures stay RpcErrors. */
  private async call(method: string, params: unknown[]): Promise<string> {
    try {
      return await this.rpc.call<string>(method, params);
    } catch (error) {
      const data = revertData(error);
      if (data !== undefined) throw new SimulationError(method, decodeRevert(data), { cause: error });
      throw error;
    }
  }

  async simulate(data: Hex, tag: "latest" | "pending" = "latest"): Promise<void> {
    await this.call("eth_call", [{ from: this.account, to: this.router, data }, tag]);
  }

  async automine(): Promise<boolean> {
    try {
      return (await this.rpc.call<unknown>("hardhat_getAutomine", [])) === true;
    } catch (error) {
      // A node that answers without knowing the method is not a dev node; a node that does not answer is retried by the caller.
      if (error instanceof RpcError && !error.transport) return false;
      throw error;
    }
  }

  async pendingTimestamp(): Promise<bigint | undefined> {
    const raw = await this.rpc.call<RawBlock | null>("eth_getBlockByNumber", ["pending", false]);
    return raw ? BigInt(raw.timestamp) : undefined;
  }

  async estimateGas(data: Hex, to: string = this.router): Promise<bigint> {
    return BigInt(await this.call("eth_estimateGas", [{ from: this.account, to, data }]));
  }

  async fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const [latest, tip] = await this.rpc.batch([
      { method: "eth_getBlockByNumber", params: ["latest", false] },
      { method: "eth_maxPriorityFeePerGas", params: [] },
    ]);
    if (latest instanceof RpcError) throw latest;
    // A node without eth_maxPriorityFeePerGas gets the minimum tip.
    let priority = tip instanceof RpcError ? MIN_PRIORITY_FEE : BigInt(tip as string);
    if (priority < MIN_PRIORITY_FEE) priority = MIN_PRIORITY_FEE;
    const base = BigInt((latest as { baseFeePerGas?: string } | null)?.baseFeePerGas ?? "0");
    // Two base fees of headroom survive several full blocks of base-fee growth.
    return { maxFeePerGas: base * 2n + priority, maxPriorityFeePerGas: priority };
  }

  async nonce(tag: "latest" | "pending"): Promise<number> {
    return Number(await this.rpc.call<string>("eth_getTransactionCount", [this.account, tag]));
  }

  async sign(tx: TxRequest): Promise<{ hash: Hex; raw: Hex }> {
    this.signer ??= new Eip1559Signer(this.wallet.privateKey, await this.chainId());
    return this.signer.sign(tx);
  }

  async broadcast(raw: Hex): Promise<void> {
    await this.rpc.call("eth_sendRawTransaction", [raw]);
  }

  async receipt(hash: Hex): Promise<TxReceipt | undefined> {
    return this.toReceipt(hash, await this.rpc.call<RawReceipt | null>("eth_getTransactionReceipt", [hash]));
  }

  async receipts(hashes: Hex[]): Promise<(TxReceipt | undefined | Error)[]> {
    const found: (TxReceipt | undefined | Error)[] = [];
    for (let i = 0; i < hashes.length; i += RECEIPTS_PER_BATCH) {
      const chunk = hashes.slice(i, i + RECEIPTS_PER_BATCH);
      const answers = await this.rpc.batch(chunk.map((hash) => ({ method: "eth_getTransactionReceipt", params: [hash] })));
      answers.forEach((answer, j) => found.push(answer instanceof RpcError ? answer : this.toReceipt(chunk[j]!, answer as RawReceipt | null)));
    }
    return found;
  }

  private toReceipt(hash: Hex, raw: RawReceipt | null): TxReceipt | undefined {
    if (!raw) return undefined;
    const ours = raw.logs.filter((log) => log.address.toLowerCase() === this.router.toLowerCase());
    return {
      hash,
      success: raw.status === "0x1",
      blockNumber: Number(raw.blockNumber),
      gasUsed: BigInt(raw.gasUsed),
      effectiveGasPrice: BigInt(raw.effectiveGasPrice ?? "0"),
      settlements: this.parseLogs(ours).settlements,
      skipped: ours.filter((log) => log.topics[0] === this.topics.skipped && log.topics[1]).map((log) => BigInt(log.topics[1]!)),
    };
  }

  async transactionKnown(hash: Hex): Promise<boolean> {
    return (await this.rpc.call<unknown>("eth_getTransactionByHash", [hash])) !== null;
  }

  async workerEndpoints(): Promise<Map<string, string>> {
    const endpoints = new Map<string, string>();
    if (!this.registry) return endpoints;
    const topics = [workerRegistryInterface.getEvent("WorkerRegistered")!.topicHash, workerRegistryInterface.getEvent("WorkerEndpointUpdated")!.topicHash];
    const logs = await this.rpc.call<Log[]>("eth_getLogs", [{ address: this.registry, fromBlock: "0x0", toBlock: "latest", topics: [topics] }]);
    for (const log of logs) {
      const parsed = workerRegistryInterface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed) endpoints.set((parsed.args.worker as string).toLowerCase(), parsed.args.endpoint as string);
    }
    return endpoints;
  }

  async isWorkerActive(worker: string): Promise<boolean | undefined> {
    if (!this.registry) return undefined;
    const data = workerRegistryInterface.encodeFunctionData("isActive", [worker]);
    const result = await this.rpc.call<string>("eth_call", [{ to: this.registry, data }, "latest"]);
    return workerRegistryInterface.decodeFunctionResult("isActive", toHex(result))[0] as boolean;
  }
}

function blockTag(block: number | undefined): string {
  return block === undefined ? "latest" : `0x${block.toString(16)}`;
}
