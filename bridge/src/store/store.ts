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
export const REQUEST_STATES = ["seen", "confirmed", "dispatched", "signed", "submitted", "fulfilled", "timed_out", "failed", "orphaned"] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Settled on-chain (from the router's events): nothing more to do. */
export const SETTLED_STATES = ["fulfilled", "timed_out"] as const satisfies readonly RequestState[];
/** The dispatcher's queue. */
export const DISPATCHABLE_STATES = ["confirmed", "dispatched"] as const satisfies readonly RequestState[];
/**
 * Unsettled with no answer on its way to the chain: a backup may take the request over when its
 * window opens (failed: the worker refused for good, or its answer would revert).
 */
export const FAILOVER_STATES = ["confirmed", "dispatched", "failed"] as const satisfies readonly RequestState[];
/** `backupAt` of a request with no further backup to try. */
export const NO_MORE_BACKUPS = -1;
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
  /** RequestFulfilled: the worker whose answer settled it (the primary or a backup). */
  worker?: string;
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
  /** The worker the request is dispatched to (lower case): the primary, `request.worker`, or the backup of `rank`. */
  assignee: string;
  /** 0: dispatched to the primary; k: handed over to backup k (its window opened, the lower ranks had not answered). */
  rank: number;
  /** Chain time (unix s) from which backup `rank + 1` is looked at; 0: not known yet; NO_MORE_BACKUPS: none. */
  backupAt: number;
  answer?: ExecuteResponse;
  /** Rank of the worker that signed `answer`: 0 goes on-chain with fulfillBatch, k with fulfillAsBackup(answer, k). */
  answerRank?: number;
  /** The worker whose answer settled the request (from RequestFulfilled). */
  answeredBy?: string;
  /** The logical transaction (fulfillBatch) a `submitted` request is in. */
  fulfilTx?: number;
  /** An unfinished timeout transaction holding the request. */
  timeoutTx?: number;
  settleTx?: string;
  settleBlock?: number;
  fee?: bigint;
  refund?: bigint;
  seenAt: number;
  confirmedAt?: number;
  settledAt?: number;
}

/**
 * A logical transaction: one nonce, one payload, one purpose; it is mined through one of its
 * attempts. in_progress: signed and persisted, no node has acknowledged it yet (after a crash it may
 * or may not have been sent); unconfirmed: a node accepted an attempt; confirmed: an attempt's
 * receipt is on-chain (`success` says whether it reverted); abandoned: it will not be mined (its nonce
 * went to another transaction, or no node would take it) and its requests went back to their queue.
 */
export const TX_STATES = ["in_progress", "unconfirmed", "confirmed", "abandoned"] as const;
export type TxState = (typeof TX_STATES)[number];
export const UNFINISHED_TX_STATES = ["in_progress", "unconfirmed"] as const satisfies readonly TxState[];

/** fulfill: fulfillBatch; timeout: timeout(s) of expired requests; purge: a self-transfer that takes over an abandoned nonce. */
export type TxKind = "fulfill" | "timeout" | "purge";

/** One signed version (fees) of a logical transaction, persisted before it is broadcast. */
export interface TxAttempt {
  hash: Hex;
  txId: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** in_progress: signed and stored, not acknowledged by a node yet; broadcast: a node accepted it. */
  state: "in_progress" | "broadcast";
  createdAt: number;
  broadcastAt?: number;
}

export interface TxRecord {
  id: number;
  kind: TxKind;
  nonce: number;
  to: string;
  data: Hex;
  gasLimit: bigint;
  requestIds: bigint[];
  state: TxState;
  createdAt: number;
  /** Why it was abandoned. */
  error?: string;
  /** The attempt that was mined and its receipt (confirmed only). */
  minedHash?: Hex;
  blockNumber?: number;
  gasUsed?: bigint;
  effectiveGasPrice?: bigint;
  success?: boolean;
  /** Known which transaction used its nonce (until then even an abandoned transaction may be mined). */
  resolved: boolean;
  /** Oldest first. */
  attempts: TxAttempt[];
}

/** What the broadcaster persists for a new logical transaction and its first attempt. */
export interface NewTx {
  kind: TxKind;
  nonce: number;
  to: string;
  data: Hex;
  gasLimit: bigint;
  requestIds: bigint[];
}

export type NewAttempt = Pick<TxAttempt, "hash" | "maxFeePerGas" | "maxPriorityFeePerGas" | "createdAt">;

export interface MinedAttempt {
  hash: Hex;
  blockNumber: number;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  success: boolean;
  /** What the transaction settled (RequestFulfilled / RequestTimedOut in its receipt), recorded at once. */
  settlements: ObservedSettlement[];
}

export interface ScanResult {
  requests: ObservedRequest[];
  settlements: ObservedSettlement[];
  /** Hashes of scanned blocks (for reorg detection), including the new cursor. */
  blocks: BlockRef[];
  cursor: BlockRef;
  /** AgentRouter.requestCount() as of the cursor's block, when the scan was verified with it. */
  requestCount?: bigint;
}

export interface ListFilter {
  state?: RequestState;
  limit?: number;
  offset?: number;
}

/**
 * Everything the bridge persists. Two implementations: embedded SQLite (node:sqlite) and Postgres
 * (a fleet). The interface is narrow and every multi-row change is one method, so a shared SQL
 * database (several bridge instances) implements each as one transaction. Every method is
 * asynchronous: a Postgres round trip never holds the event loop, so between two awaits another
 * stage (or another instance) may change any row; callers re-check state through the store's
 * guarded writes (each write names the state it expects), never through what they read before.
 */
export interface BridgeStore {
  /** Binds the store to one chain and router; throws StoreMismatchError if it holds another's. */
  bind(chainId: bigint, router: string): Promise<void>;
  cursor(): Promise<BlockRef | undefined>;
  /** requestCount() as of the cursor's block, as recorded with the scan that set the cursor (keyed by its hash). */
  cursorRequestCount(): Promise<{ hash: string; count: bigint } | undefined>;
  blockHash(number: number): Promise<string | undefined>;
  /** Stored block hashes at or below `maxNumber`, newest first. */
  recentBlocks(maxNumber: number, limit: number): Promise<BlockRef[]>;
  /** Atomically records a scanned range: new requests (as `seen`), settlements, block hashes, cursor. */
  applyScan(scan: ScanResult, historyToKeep: number): Promise<{ added: number; settled: number }>;
  /** Records requests and settlements found outside a range scan (the reconciler's), without moving the cursor. */
  observe(requests: ObservedRequest[], settlements: ObservedSettlement[]): Promise<{ added: number; settled: number }>;
  /** Which of these request ids the store holds (in any state). */
  knownIds(ids: bigint[]): Promise<Set<bigint>>;
  /** Block of a stored request's event. */
  blockOf(id: bigint): Promise<number | undefined>;
  /** Every request id up to this one is known or was found settled (the reconciler's watermark). */
  reconciledThrough(): Promise<bigint>;
  setReconciledThrough(id: bigint): Promise<void>;
  /** Unsettled requests with ids after `afterId` (string order; "" from the start), a page at a time. */
  unsettledPage(afterId: string, limit: number): Promise<{ id: bigint; blockNumber: number }[]>;
  /**
   * Reorg: forgets blocks above `ancestor`, orphans unsettled requests observed above it, reopens
   * settlements observed above it, tracks the bridge's transactions mined above it as unconfirmed
   * again, and moves the cursor to `ancestor`. Returns the orphaned ids.
   */
  rewind(ancestor: BlockRef): Promise<bigint[]>;
  /** Distinct blocks (number and hash as observed) holding `seen` requests, at or below `blockNumber`, oldest first. */
  seenBlocks(blockNumber: number, limit: number): Promise<BlockRef[]>;
  /** Confirms the `seen` requests observed in `block` (same number and hash); returns how many. */
  confirmBlock(block: BlockRef, now: number): Promise<number>;
  /** confirmBlock for each of these blocks (one round trip on a shared database); returns how many requests. */
  confirmBlocks(blocks: BlockRef[], now: number): Promise<number>;
  get(id: bigint): Promise<RequestRecord | undefined>;
  list(filter?: ListFilter): Promise<RequestRecord[]>;
  counts(): Promise<Record<RequestState, number>>;
  /** Workers with confirmed or dispatched requests (due or not). */
  dispatchWorkers(): Promise<string[]>;
  /** One worker's confirmed or dispatched requests whose backoff has elapsed, oldest first, leaving out `exclude` (ids). */
  dueForWorker(worker: string, now: number, limit: number, exclude: ReadonlySet<string>): Promise<RequestRecord[]>;
  markDispatched(id: bigint, attempts: number, nextAttemptAt: number): Promise<void>;
  recordDispatchFailure(id: bigint, error: string, nextAttemptAt: number): Promise<void>;
  /** Stores a verified answer signed by the worker of `rank` (0: the primary). */
  saveAnswer(id: bigint, answer: ExecuteResponse, rank?: number): Promise<void>;
  /**
   * Requests in FAILOVER_STATES whose next backup is due (`backupAt` at or before `chainTime`, 0
   * included) and whose deadline is after `chainTime`, soonest deadline first.
   */
  failoverDue(chainTime: bigint, limit: number): Promise<RequestRecord[]>;
  /** Sets when each request's next backup is looked at again (unix s, or NO_MORE_BACKUPS). */
  scheduleBackups(entries: { id: bigint; at: number }[]): Promise<void>;
  /**
   * Hands a request in FAILOVER_STATES over to backup `rank` (higher than its current one), `worker`:
   * back in the dispatch queue as `confirmed` under that worker, attempts reset, any refused answer
   * dropped, the next backup looked at from `nextAt`. Returns whether it was handed over.
   */
  assignBackup(id: bigint, rank: number, worker: string, nextAt: number): Promise<boolean>;
  /**
   * The backup whose answer is signed is no longer the router's draw for its rank (a stake change
   * moved it: fulfillAsBackup reverts WrongSigner): the answer is dropped and the request `failed`
   * one rank lower with its next window due now, so Failover reads that rank's backup again.
   */
  redrawBackup(id: bigint, reason: string): Promise<void>;
  /** Signed requests not yet in a transaction, oldest first. */
  readyToSubmit(limit: number): Promise<RequestRecord[]>;
  /**
   * Marks requests found settled on-chain (isPending false) before the watcher has seen the event;
   * they wait in `submitted`, outside any transaction, for the event.
   */
  markSettledElsewhere(ids: bigint[]): Promise<void>;
  /**
   * Of these requests (found pending on-chain), those waiting in `submitted` outside any
   * transaction (markSettledElsewhere) with an answer go back to `signed`; returns how many.
   */
  requeueParked(ids: bigint[]): Promise<number>;
  /**
   * Marks an unsettled request `failed`. With `rank`: only while it is still with the worker of
   * that rank, in the same statement, so a hand-over to a backup that lands while the caller awaits
   * (Failover.assignBackup) is never undone by the previous worker's refusal.
   */
  markFailed(id: bigint, reason: string, rank?: number): Promise<void>;
  /** Unsettled, non-orphaned requests whose deadline (unix s) is before `chainTime` and that no unfinished timeout transaction holds. */
  expired(chainTime: bigint, limit: number): Promise<RequestRecord[]>;
  /** Distinct workers (primaries, or the backups they were handed over to) of unsettled requests. */
  activeWorkers(): Promise<string[]>;

  /**
   * Persists a new logical transaction with its first attempt, and links its requests (fulfill:
   * `signed` -> `submitted`; timeout: held by it), in one atomic step: after a crash the transaction
   * is known whether or not it reached a node. Returns its id.
   */
  createTx(tx: NewTx, attempt: NewAttempt): Promise<number>;
  /** A new attempt (bumped fees) of a logical transaction, persisted before its broadcast. */
  addAttempt(txId: number, attempt: NewAttempt): Promise<void>;
  /** A node accepted the attempt: the attempt is `broadcast`, its transaction at least `unconfirmed`. */
  markBroadcast(hash: Hex, at: number): Promise<void>;
  /**
   * An attempt of the transaction was mined: it is confirmed, the settlements in its receipt are
   * recorded (a log scan that missed them cannot leave them open), requests it did not settle go
   * back to their queue.
   */
  confirmTx(txId: number, mined: MinedAttempt): Promise<void>;
  /** The transaction will never be mined: its requests go back to their queue. */
  abandonTx(txId: number, reason: string): Promise<void>;
  /** In-progress and unconfirmed transactions, by nonce. */
  unfinishedTxs(): Promise<TxRecord[]>;
  /** Every transaction (any state) that used `nonce`. */
  txsWithNonce(nonce: number): Promise<TxRecord[]>;
  /** Nonces below `below` some transaction of which is not resolved (not known which transaction used the nonce). */
  unresolvedNonces(below: number): Promise<number[]>;
  /** Records that it is known which transaction used `nonce`: none of its transactions is looked at again. */
  resolveNonce(nonce: number): Promise<void>;
  hasAttempt(hash: Hex): Promise<boolean>;
  txStats(): Promise<{ count: number; gasUsed: bigint; feesPaid: bigint }>;
  /** Requests handed over to a backup, and those of them the backup's answer settled. */
  failoverStats(): Promise<{ handedOver: number; answeredByBackup: number }>;
  /**
   * A fleet's leases, renewed when due (cheap otherwise; call it often): this instance's liveness,
   * and the log-scanning lease, which one instance holds at a time (`scanner`: this one scans logs
   * and confirms; the others only follow the head). The scanner also hands a relayer's unfinished
   * transactions back to the fleet once that relayer's lease expired (it died for good): their
   * unsettled requests return to `signed` for any instance to check on-chain and carry again
   * (`handedOver`). A single store is its only instance: always the scanner.
   */
  renewLeases(): Promise<{ scanner: boolean; handedOver?: { relayers: string[]; txs: number; requests: number } }>;
  close(): Promise<void>;
}
