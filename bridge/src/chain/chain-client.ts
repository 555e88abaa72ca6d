import type { Hex } from "../../../protocol/hex.js";
import type { AgentRequest } from "../../../protocol/request.js";
import type { ObservedRequest, ObservedSettlement } from "../store/store.js";

export interface RouterEvents {
  requests: ObservedRequest[];
  settlements: ObservedSettlement[];
}

/** A scanned block range: its events and the header of its last block, from one view of the chain. */
export interface ScannedRange extends RouterEvents {
  end: BlockHeader;
}

export interface BlockHeader {
  number: number;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
}

/** The argument of AgentRouter.fulfill / one entry of fulfillBatch. */
export interface Fulfillment {
  request: AgentRequest;
  status: number;
  output: Hex;
  subAgentIds: bigint[];
  subAgentPrices: bigint[];
  signature: Hex;
}

export interface TxRequest {
  to: string;
  data: Hex;
  nonce: number;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TxReceipt {
  hash: Hex;
  success: boolean;
  blockNumber: number;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  /** RequestFulfilled / RequestTimedOut of this transaction: settled without waiting for a log scan. */
  settlements: ObservedSettlement[];
  /** Ids in FulfillmentSkipped logs (already settled by someone else). */
  skipped: bigint[];
}

/**
 * Everything the bridge asks of the chain. JsonRpcChainClient talks JSON-RPC; tests use fakes.
 * Methods throw RpcError when a call fails and SimulationError when it reverts.
 */
export interface ChainClient {
  readonly router: string;
  /** The account that signs and pays for the bridge's transactions. */
  readonly account: string;
  chainId(): Promise<bigint>;
  blockNumber(): Promise<number>;
  block(number: number | "latest"): Promise<BlockHeader | undefined>;
  /** Several headers in one round trip; undefined for a block the node does not have, an Error for a failed lookup. */
  headers(numbers: number[]): Promise<(BlockHeader | undefined | Error)[]>;
  /**
   * AgentRequested, RequestFulfilled and RequestTimedOut logs of the router in [from, to], with the
   * header of `to` read in the same request (one view of the chain). Throws StaleNodeError when that
   * node does not have block `to` yet: it would have answered for a silently clamped range.
   */
  routerEvents(from: number, to: number): Promise<ScannedRange>;
  /** The same events, only those of these request ids, in [from, to] (recovering what a scan missed). */
  requestEvents(ids: bigint[], from: number, to: number): Promise<RouterEvents>;
  /** AgentRouter.requestCount() as of `block` (by hash, EIP-1898). */
  requestCount(block: { hash: string }): Promise<bigint>;
  /**
   * isPending for each id (one round trip) as of block `atBlock` (default: the node's latest); an
   * entry is an Error when its call failed, as it does on a node that does not have that block yet.
   * A request opened after the block read is "not pending" there exactly like a settled one: callers
   * read at a block at or after the request's (see `stateBlock`).
   */
  isPending(requestIds: bigint[], atBlock?: number): Promise<(boolean | Error)[]>;
  encodeFulfillBatch(fulfillments: Fulfillment[]): Hex;
  /** fulfillAsBackup(fulfillment, rank): a backup's answer, one per transaction. */
  encodeFulfillAsBackup(fulfillment: Fulfillment, rank: number): Hex;
  /**
   * AgentRouter.backupWorker(request, rank) at block `atBlock` (default: latest): the backup of that
   * rank and when its window opens. Throws SimulationError when it reverts (NoBackup,
   * RequestNotPending, RequestMismatch); a node without that block fails with another error.
   */
  backupWorker(request: AgentRequest, rank: number, atBlock?: number): Promise<{ worker: string; opensAt: bigint }>;
  /** AgentRouter.MAX_BACKUPS(): backup ranks are 1 to this. */
  maxBackups(): Promise<number>;
  /** timeoutBatch(requests): the router skips (TimeoutSkipped) entries no longer pending. */
  encodeTimeoutBatch(requests: AgentRequest[]): Hex;
  /** eth_call of router calldata from the bridge account (at `tag`, default latest); throws SimulationError with the decoded reason. */
  simulate(data: Hex, tag?: "latest" | "pending"): Promise<void>;
  /**
   * Whether the node mines a block only when a transaction arrives (hardhat_getAutomine: Hardhat
   * and anvil automine, not interval mining); false for a node without the method (a real chain).
   */
  automine?(): Promise<boolean>;
  /** Timestamp of the node's pending block: an automining chain's clock between its blocks. */
  pendingTimestamp?(): Promise<bigint | undefined>;
  /** eth_estimateGas of calldata to `to` (the router unless given) from the bridge account. */
  estimateGas(data: Hex, to?: string): Promise<bigint>;
  fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>;
  nonce(tag: "latest" | "pending"): Promise<number>;
  /** Signs with the bridge account (the hash is known before broadcast, so it is persisted first). */
  sign(tx: TxRequest): Promise<{ hash: Hex; raw: Hex }>;
  /** eth_sendRawTransaction; a refusal is an RpcError the transaction manager classifies (txm/send-errors.ts). */
  broadcast(raw: Hex): Promise<void>;
  receipt(hash: Hex): Promise<TxReceipt | undefined>;
  /** Receipts of several transactions in one round trip; an entry is an Error when its lookup failed. */
  receipts(hashes: Hex[]): Promise<(TxReceipt | undefined | Error)[]>;
  /** Whether the node knows the transaction at all (pooled or mined): false once a node has dropped it. */
  transactionKnown(hash: Hex): Promise<boolean>;
  /** Endpoints announced in WorkerRegistry events (latest per worker, lower-case keys); empty without a registry. */
  workerEndpoints(): Promise<Map<string, string>>;
  /** WorkerRegistry.isActive, or undefined when no registry is configured. */
  isWorkerActive(worker: string): Promise<boolean | undefined>;
}

/**
 * The block to read a request's on-chain state at: the node's head, or the request's own block if
 * the node says it is behind it. Behind a load balancer or on a lagging node, "latest" may be older
 * than the block the scanner saw the request in, where the router does not hold it yet and answers
 * "not pending" as for a settled one; an explicit number at or after the request's block is either
 * answered from that block on or refused by a node that does not have it (retried later).
 */
export async function stateBlock(chain: Pick<ChainClient, "blockNumber">, requestBlocks: number[]): Promise<number> {
  return Math.max(await chain.blockNumber(), ...requestBlocks);
}
