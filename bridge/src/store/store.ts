import type { Hex } from "../../../protocol/hex.js";
import type { AgentRequest } from "../../../protocol/request.js";
import type { ExecuteResponse } from "../../../protocol/worker-api.js";

/**
 * Life of a request inside the bridge:
 * seen -> confirmed -> dispatched -> signed -> submitted -> fulfilled | timed_out,
 * with `failed` (kept with a reason; the sweep still times it out on-chain) and `orphaned`
 * (its AgentRequested event left the canonical chain; never dispatched or submitted unless
 * a re-scan finds it again).
 */
export const REQUEST_STATES = [
  "seen",
  "confirmed",
  "dispatched",
  "signed",
  "submitted",
  "fulfilled",
  "timed_out",
  "failed",
  "orphaned",
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Settled on-chain (from the router's events): nothing more to do. */
export const SETTLED_STATES = ["fulfilled", "timed_out"] as const satisfies readonly RequestState[];
/** The dispatcher's queue. */
export const DISPATCHABLE_STATES = ["confirmed", "dispatched"] as const satisfies readonly RequestState[];
/** Still open on-chain as far as the bridge knows: the sweep times these out after their deadline. */
export const UNSETTLED_STATES: readonly RequestState[] = REQUEST_STATES.filter(
  (state) => !(SETTLED_STATES as readonly RequestState[]).includes(state) && state !== "orphaned",
);

export interface BlockRef {
  number: number;
  hash: string;
}

/** An AgentRequested event as the watcher decoded it. */
export interface ObservedRequest {
  request: AgentRequest;
  input: Hex;
  requestHash: string;
  block: BlockRef;
  logIndex: number;
  txHash: string;
}

/** A RequestFulfilled or RequestTimedOut event. */
export interface ObservedSettlement {
  requestId: bigint;
  outcome: "fulfilled" | "timed_out";
  block: BlockRef;
  txHash: string;
  /** RequestFulfilled: totalFee; RequestTimedOut: 0. */
  fee: bigint;
  refund: bigint;
}

export interface RequestRecord {
  id: bigint;
  request: AgentRequest;
  input: string;
  requestHash: string;
  block: BlockRef;
  logIndex: number;
  txHash: string;
  state: RequestState;
  /** The state an orphaned request had, restored if a re-scan finds the same request again. */
  previousState?: RequestState;
  attempts: number;
  /** Unix ms before which the dispatcher leaves the request alone (backoff). */
  nextAttemptAt: number;
  lastError?: string;
  answer?: ExecuteResponse;
  submitTx?: string;
  settleTx?: string;
  settleBlock?: number;
  fee?: bigint;
  refund?: bigint;
  seenAt: number;
  confirmedAt?: number;
  settledAt?: number;
}

/** pending: sent, no receipt; replaced: another transaction with its nonce was mined; dropped: never reached the node. */
export type TxStatus = "pending" | "mined" | "reverted" | "replaced" | "dropped";

/** A transaction the submitter sent; kept so a restarted bridge tracks and bumps it. */
export interface TxRecord {
  hash: Hex;
  kind: "fulfill" | "timeout";
  nonce: number;
  to: string;
  data: Hex;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  requestIds: bigint[];
  sentAt: number;
  status: TxStatus;
  blockNumber?: number;
  gasUsed?: bigint;
  effectiveGasPrice?: bigint;
}

export interface ScanResult {
  requests: ObservedRequest[];
  settlements: ObservedSettlement[];
  /** Hashes of scanned blocks (for reorg detection), including the new cursor. */
  blocks: BlockRef[];
  cursor: BlockRef;
}

export interface ListFilter {
  state?: RequestState;
  limit?: number;
  offset?: number;
}

/**
 * Everything the bridge persists. One implementation is embedded SQLite; the interface is narrow
 * and every multi-row change is one method so a shared SQL database (several bridge instances)
 * can implement each as one transaction.
 */
export interface BridgeStore {
  /** Binds the store to one chain and router; throws StoreMismatchError if it holds another's. */
  bind(chainId: bigint, router: string): void;
  cursor(): BlockRef | undefined;
  blockHash(number: number): string | undefined;
  /** Stored block hashes at or below `maxNumber`, newest first. */
  recentBlocks(maxNumber: number, limit: number): BlockRef[];
  /** Atomically records a scanned range: new requests (as `seen`), settlements, block hashes, cursor. */
  applyScan(scan: ScanResult, historyToKeep: number): { added: number; settled: number };
  /**
   * Reorg: forgets blocks above `ancestor`, orphans unsettled requests observed above it, reopens
   * settlements observed above it, and moves the cursor to `ancestor`. Returns the orphaned ids.
   */
  rewind(ancestor: BlockRef): bigint[];
  /** Distinct blocks (number and hash as observed) holding `seen` requests, at or below `blockNumber`, oldest first. */
  seenBlocks(blockNumber: number, limit: number): BlockRef[];
  /** Confirms the `seen` requests observed in `block` (same number and hash); returns how many. */
  confirmBlock(block: BlockRef, now: number): number;
  get(id: bigint): RequestRecord | undefined;
  list(filter?: ListFilter): RequestRecord[];
  counts(): Record<RequestState, number>;
  /** Confirmed or dispatched requests whose backoff has elapsed, oldest first. */
  dueForDispatch(now: number, limit: number, exclude: ReadonlySet<string>): RequestRecord[];
  markDispatched(id: bigint, attempts: number, nextAttemptAt: number): void;
  recordDispatchFailure(id: bigint, error: string, nextAttemptAt: number): void;
  saveAnswer(id: bigint, answer: ExecuteResponse): void;
  /** Signed requests not yet in a transaction, oldest first. */
  readyToSubmit(limit: number): RequestRecord[];
  markSubmitted(ids: bigint[], txHash: string): void;
  /** Puts submitted requests back to `signed` (their transaction reverted or skipped them). */
  reopenSubmitted(ids: bigint[]): void;
  markFailed(id: bigint, reason: string): void;
  /** Unsettled, non-orphaned requests whose deadline (unix s) is before `chainTime`. */
  expired(chainTime: bigint, limit: number): RequestRecord[];
  /** Distinct workers assigned to unsettled requests. */
  activeWorkers(): string[];
  saveTx(tx: TxRecord): void;
  updateTx(hash: string, patch: Partial<Pick<TxRecord, "status" | "blockNumber" | "gasUsed" | "effectiveGasPrice">>): void;
  pendingTxs(): TxRecord[];
  txStats(): { count: number; gasUsed: bigint; feesPaid: bigint };
  close(): void;
}
