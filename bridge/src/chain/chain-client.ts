import type { AgentRequest } from "../../../protocol/request.js";
import type { ObservedRequest, ObservedSettlement } from "../store/store.js";

export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: bigint;
}

/** The argument of AgentRouter.fulfill / one entry of fulfillBatch. */
export interface Fulfillment {
  request: AgentRequest;
  status: number;
  output: string;
  subAgentIds: bigint[];
  subAgentPrices: bigint[];
  signature: string;
}

export interface TxRequest {
  to: string;
  data: string;
  nonce: number;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TxReceipt {
  hash: string;
  success: boolean;
  blockNumber: number;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  /** Ids in RequestFulfilled / RequestTimedOut logs of this transaction. */
  settled: bigint[];
  /** Ids in FulfillmentSkipped logs (already settled by someone else). */
  skipped: bigint[];
}

/**
 * Everything the bridge asks of the chain. The ethers implementation talks JSON-RPC; tests use
 * fakes. Methods throw RpcError on transport failures and SimulationError when a call reverts.
 */
export interface ChainClient {
  readonly router: string;
  /** The account that signs and pays for the bridge's transactions. */
  readonly account: string;
  chainId(): Promise<bigint>;
  blockNumber(): Promise<number>;
  block(number: number | "latest"): Promise<BlockHeader | undefined>;
  /** AgentRequested, RequestFulfilled and RequestTimedOut logs of the router in [from, to]. */
  routerEvents(from: number, to: number): Promise<{ requests: ObservedRequest[]; settlements: ObservedSettlement[] }>;
  /** isPending for each id (one round trip); an entry is an Error when its call failed. */
  isPending(requestIds: bigint[]): Promise<(boolean | Error)[]>;
  encodeFulfillBatch(fulfillments: Fulfillment[]): string;
  encodeTimeout(request: AgentRequest): string;
  /** eth_call of router calldata from the bridge account; throws SimulationError with the decoded reason. */
  simulate(data: string): Promise<void>;
  estimateGas(data: string): Promise<bigint>;
  fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>;
  nonce(tag: "latest" | "pending"): Promise<number>;
  /** Signs with the bridge account (the hash is known before broadcast, so it is persisted first). */
  sign(tx: TxRequest): Promise<{ hash: string; raw: string }>;
  /** eth_sendRawTransaction; a node that already holds the transaction counts as success. */
  broadcast(raw: string): Promise<void>;
  receipt(hash: string): Promise<TxReceipt | undefined>;
  /** Endpoints announced in WorkerRegistry events (latest per worker, lower-case keys); empty without a registry. */
  workerEndpoints(): Promise<Map<string, string>>;
  /** WorkerRegistry.isActive, or undefined when no registry is configured. */
  isWorkerActive(worker: string): Promise<boolean | undefined>;
}
