import { Wallet, keccak256, toBeHex, toUtf8Bytes, hexlify } from "ethers";
import type { Hex } from "../../protocol/hex.js";
import { requestHash, type AgentRequest } from "../../protocol/request.js";
import type { BlockHeader, ChainClient, Fulfillment, RouterEvents, ScannedRange, TxReceipt, TxRequest } from "../src/chain/chain-client.js";
import { SimulationError, StaleNodeError } from "../src/errors.js";
import type { ObservedRequest, ObservedSettlement } from "../src/store/store.js";

const FAR_DEADLINE_S = 10_000_000n;

/**
 * An in-memory chain for tests and the memory benchmark: `requests` AgentRequested events spread
 * over blocks of `perBlock`, a mutable block list (so tests can reorganise it), and no settlement
 * unless a test adds one. Transactions are refused: it only feeds the watcher and dispatcher.
 */
export class SyntheticChain implements ChainClient {
  readonly router = "0x00000000000000000000000000000000000a9e17";
  readonly account = new Wallet(keccak256(toUtf8Bytes("synthetic bridge account"))).address;
  readonly worker = new Wallet(keccak256(toUtf8Bytes("synthetic worker"))).address;
  /** Block number -> its hash and its requests' id range; events are generated on demand (no memory per request). */
  readonly blocks: { hash: Hex; firstId: bigint; count: number; tag: string; settlements: ObservedSettlement[] }[] = [];
  private readonly now = BigInt(Math.floor(Date.now() / 1000));
  failNext = 0;

  /** The worker each request is assigned to (default: `worker` for all). */
  workerFor?: (id: bigint) => string;

  constructor(options: { requests?: number; perBlock?: number } = {}) {
    this.mine(0);
    const total = options.requests ?? 0;
    const perBlock = options.perBlock ?? 100;
    for (let id = 1; id <= total; id += perBlock) this.mine(Math.min(perBlock, total - id + 1));
  }

  makeRequest(id: bigint, input = `input-${id}`): { request: AgentRequest; input: Hex } {
    const inputHex = hexlify(toUtf8Bytes(input)) as Hex;
    return {
      input: inputHex,
      request: {
        id,
        agentId: 1n,
        consumer: "0x000000000000000000000000000000000000c0de",
        accountId: 1n,
        worker: this.workerFor?.(id) ?? this.worker,
        agentVersion: 1n,
        keyEpoch: 0n,
        callbackGasLimit: 100_000n,
        agentOwner: "0x0000000000000000000000000000000000000a11",
        agentPrice: 1n,
        maxFee: 10n,
        deadline: this.now + FAR_DEADLINE_S,
        codeHash: keccak256(toUtf8Bytes("code")),
        inputHash: keccak256(inputHex),
        configVersion: 1n,
        capacityFee: 1n,
      },
    };
  }

  private nextId = 1n;

  /** Appends a block with `count` new requests (inputs optionally tagged) and returns its number. */
  mine(count: number, tag = ""): number {
    const number = this.blocks.length;
    const hash = keccak256(toUtf8Bytes(`block ${number} ${tag} ${this.blocks[number - 1]?.hash ?? ""}`)) as Hex;
    this.blocks.push({ hash, firstId: this.nextId, count, tag, settlements: [] });
    this.nextId += BigInt(count);
    return number;
  }

  /** Drops blocks above `keep` (their request ids are reused by later blocks, as on a real chain). */
  reorg(keep: number): void {
    const dropped = this.blocks.splice(keep + 1);
    this.nextId -= BigInt(dropped.reduce((n, b) => n + b.count, 0));
  }

  private maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("injected RPC failure");
    }
  }

  async chainId(): Promise<bigint> {
    return 31337n;
  }

  async blockNumber(): Promise<number> {
    return this.blocks.length - 1;
  }

  /** Blocks the node answering is behind the chain (a lagging backend): newer ones it does not have. */
  lagBy = 0;
  /** Same, only for the node that answers event scans (a load balancer sending eth_getLogs to a lagging backend). */
  eventsLagBy = 0;
  /** Event scans leave out the last `logsLagBy` blocks' logs while block headers are current (a log index that trails). */
  logsLagBy = 0;
  /** Request ids the router no longer holds (isPending false). */
  readonly settled = new Set<bigint>();

  private get visibleHead(): number {
    return Math.max(0, this.blocks.length - 1 - this.lagBy);
  }

  async block(number: number | "latest"): Promise<BlockHeader | undefined> {
    this.maybeFail();
    const n = number === "latest" ? this.visibleHead : number;
    const block = n <= this.visibleHead ? this.blocks[n] : undefined;
    if (!block) return undefined;
    return { number: n, hash: block.hash, parentHash: this.blocks[n - 1]?.hash ?? "0x", timestamp: this.now + BigInt(n) };
  }

  async headers(numbers: number[]): Promise<(BlockHeader | undefined | Error)[]> {
    return Promise.all(numbers.map((n) => this.block(n)));
  }

  private events(from: number, to: number, ids?: ReadonlySet<bigint>): RouterEvents {
    const requests: ObservedRequest[] = [];
    const settlements: ObservedSettlement[] = [];
    for (let number = from; number <= Math.min(to, this.visibleHead) && number < this.blocks.length; number++) {
      const block = this.blocks[number]!;
      for (let i = 0; i < block.count; i++) {
        const id = block.firstId + BigInt(i);
        if (ids && !ids.has(id)) continue;
        const { request, input } = this.makeRequest(id, `${block.tag}input-${id}`);
        requests.push({ request, input, requestHash: requestHash(request), block: { number, hash: block.hash }, logIndex: i, txHash: toBeHex(number, 32) });
      }
      settlements.push(...block.settlements.filter((s) => !ids || ids.has(s.requestId)));
    }
    return { requests, settlements };
  }

  async routerEvents(from: number, to: number): Promise<ScannedRange> {
    this.maybeFail();
    const visible = this.blocks.length - 1 - Math.max(this.lagBy, this.eventsLagBy);
    const end = to <= visible ? await this.block(to) : undefined;
    if (!end) throw new StaleNodeError("node does not have the end of the scanned range yet", { details: `block ${to}` });
    return { ...this.events(from, Math.min(to, this.blocks.length - 1 - this.logsLagBy)), end };
  }

  async requestEvents(ids: bigint[], from: number, to: number): Promise<RouterEvents> {
    this.maybeFail();
    return this.events(from, to, new Set(ids));
  }

  async requestCount(block: { hash: string }): Promise<bigint> {
    const number = this.blocks.findIndex((b) => b.hash === block.hash);
    if (number < 0) throw new Error(`unknown block ${block.hash}`);
    const last = this.blocks[number]!;
    return last.firstId + BigInt(last.count) - 1n;
  }

  async isPending(requestIds: bigint[]): Promise<(boolean | Error)[]> {
    return requestIds.map((id) => !this.settled.has(id));
  }

  encodeFulfillBatch(_fulfillments: Fulfillment[]): Hex {
    return "0x";
  }

  encodeTimeoutBatch(_requests: AgentRequest[]): Hex {
    return "0x";
  }

  encodeFulfillAsBackup(_fulfillment: Fulfillment, _rank: number): Hex {
    return "0x";
  }

  /** The router's backups (default: none, NoBackup); `backupCalls` counts backupWorker reads. */
  backupFor?: (request: AgentRequest, rank: number) => { worker: string; opensAt: bigint } | undefined;
  backupCalls = 0;

  /** The router's MAX_BACKUPS. */
  maxBackupRank = 2;

  async maxBackups(): Promise<number> {
    return this.maxBackupRank;
  }

  async backupWorker(request: AgentRequest, rank: number): Promise<{ worker: string; opensAt: bigint }> {
    this.maybeFail();
    this.backupCalls++;
    if (this.settled.has(request.id))
      throw new SimulationError("eth_call", { data: "0x", name: "RequestNotPending", reason: `RequestNotPending(${request.id})` });
    const backup = this.backupFor?.(request, rank);
    if (!backup) throw new SimulationError("eth_call", { data: "0x", name: "NoBackup", reason: `NoBackup(${request.id}, ${rank})` });
    return { worker: backup.worker.toLowerCase(), opensAt: backup.opensAt };
  }

  async simulate(_data: Hex): Promise<void> {
    throw new SimulationError("eth_call", { data: "0x", reason: "synthetic chain accepts no transactions" });
  }

  async estimateGas(_data: Hex, _to?: string): Promise<bigint> {
    throw new SimulationError("eth_estimateGas", { data: "0x", reason: "synthetic chain accepts no transactions" });
  }

  async fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    return { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n };
  }

  async nonce(): Promise<number> {
    return 0;
  }

  async sign(_tx: TxRequest): Promise<{ hash: Hex; raw: Hex }> {
    throw new Error("synthetic chain accepts no transactions");
  }

  async broadcast(_raw: Hex): Promise<void> {
    throw new Error("synthetic chain accepts no transactions");
  }

  async receipt(_hash: Hex): Promise<TxReceipt | undefined> {
    return undefined;
  }

  async receipts(hashes: Hex[]): Promise<(TxReceipt | undefined | Error)[]> {
    return Promise.all(hashes.map((hash) => this.receipt(hash)));
  }

  async transactionKnown(_hash: Hex): Promise<boolean> {
    return false;
  }

  async workerEndpoints(): Promise<Map<string, string>> {
    return new Map();
  }

  async isWorkerActive(): Promise<boolean | undefined> {
    return undefined;
  }
}
