import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Hex } from "../../../protocol/hex.js";
import type { ExecuteResponse } from "../../../protocol/worker-api.js";
import { LeaseLostError, RelayerInUseError, StoreMismatchError } from "../errors.js";
import { migratePg } from "./pg-migrations.js";
import { PgPool, type Statement } from "./pg-pool.js";
import { type AttemptRow, type RequestRow, type TxRow, serializeRequest, toAttempt, toRecord, toTx } from "./rows.js";
import { literal, literals, state, states } from "./sql.js";
import {
  DISPATCHABLE_STATES,
  FAILOVER_STATES,
  REQUEST_STATES,
  SETTLED_STATES,
  UNFINISHED_TX_STATES,
  UNSETTLED_STATES,
  type BlockRef,
  type BridgeStore,
  type ListFilter,
  type MinedAttempt,
  type NewAttempt,
  type NewTx,
  type ObservedRequest,
  type ObservedSettlement,
  type RequestRecord,
  type RequestState,
  type ScanResult,
  type TxRecord,
  type TxState,
} from "./store.js";

const tx = (value: TxState) => literal(value);

/** What a scan needs to know of a request already stored. */
interface FenceRow {
  id: string;
  state: string;
  lease_owner: string | null;
  fulfil_tx: number | null;
  timeout_tx: number | null;
}

interface StoredIdentity {
  id: string;
  state: string;
  previous_state: string | null;
  request_hash: string;
}

/** The database's clock in unix ms: every lease is set and compared on one clock, whatever the instances' clocks say. */
const NOW = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
/**
 * A monotonic clock (ms) for this instance's own throttles and caches (lease renewal, idle polls):
 * a wall-clock step back (NTP, VM resume) must not freeze them, nor a step forward expire them.
 */
const elapsedMs = (): number => performance.now();

export interface PostgresStoreOptions {
  url: string;
  /** This instance's relayer address: it owns the leases it takes and the transactions it signs. */
  relayer: string;
  /** How long a claim on a request lasts without being renewed; a dead instance's work is taken over after it (ms). */
  leaseMs?: number;
  /** A statement unanswered this long fails. */
  timeoutMs?: number;
  /** Connections this instance keeps open at most (its stages' store calls run side by side on them). */
  poolSize?: number;
}

export const DEFAULT_LEASE_MS = 30_000;
/** A starting instance waits this long past a lease for its key's previous holder to let it lapse. */
const LEASE_WAIT_MARGIN_MS = 100;

/** States in which a request is some instance's work (leased to it): only the holder may put it in a transaction. */
/** How long an empty dispatch queue is taken at its word (ms). */
const IDLE_POLL_MS = 100;

/** How long this relayer's unfinished transactions are taken as read (ms); every own write clears them. */
const TX_CACHE_MS = 1_000;

/** SQL: relayer `$relayer`'s key lease is not another instance's (it is `$instance`'s, given up, or not taken yet). */
const KEY_HELD = (relayer: string, instance: string) =>
  `NOT EXISTS (SELECT 1 FROM leases WHERE name = 'relayer:' || ${relayer} AND owner NOT IN (${instance}, ''))`;

const WORKED_STATES: ReadonlySet<string> = new Set<RequestState>([...DISPATCHABLE_STATES, "signed"]);

const byQueue = (a: RequestRow, b: RequestRow) => a.next_attempt_at - b.next_attempt_at || a.block_number - b.block_number || a.log_index - b.log_index;
const byEvent = (a: RequestRow, b: RequestRow) => a.block_number - b.block_number || a.log_index - b.log_index;

/**
 * BridgeStore on PostgreSQL, for a fleet: several bridge instances on one database. Each method is
 * one database transaction, as in the SQLite store; on top of that the work is shared by leases:
 *
 * - the dispatcher's queue (`dueForWorker`) and the submitter's (`readyToSubmit`) hand out only
 *   requests free, expired or already this instance's, and lease them to it (`FOR UPDATE SKIP
 *   LOCKED`: instances claiming at once get disjoint rows), so a request is worked on by one
 *   instance, and a dead instance's requests are taken over once their lease runs out;
 * - fencing: `createTx` persists (and so lets the broadcaster send) a transaction only while every
 *   open request in it is still this instance's: an instance that stalled past its lease while
 *   another claimed the request gets LeaseLostError and sends nothing; a request already held by
 *   another timeout transaction is likewise refused, so expired requests are timed out once;
 * - transactions and their nonces are per relayer address (each instance has its own key); the
 *   key's lease names the one process using it (its instance id): every claim, `createTx` and
 *   `addAttempt` reads it under a lock in the same transaction, and a process that lost it to a
 *   successor gets RelayerInUseError from then on (its claims, leased to the address, are the
 *   successor's);
 * - log scans are idempotent, so every instance may scan: requests and settlements are inserted
 *   once, and the shared cursor only moves forward (or back through a reorg's `rewind`).
 */
export class PostgresStore implements BridgeStore {
  private readonly db: PgPool;
  readonly relayer: string;
  readonly leaseMs: number;
  /**
   * This process (random per start): it holds its relayer key's lease and the scanning lease, so a
   * second live process given the same key is refused (RelayerInUseError) instead of sharing them.
   */
  readonly instance = randomUUID();

  /** The dispatcher's per-request writes, sent as three bulk statements ahead of the next call (PgPool.scheduleFlush). */
  private pending = {
    dispatched: new Map<string, { attempts: number; delayMs: number }>(),
    failures: new Map<string, { error: string; delayMs: number }>(),
    answers: new Map<string, { answer: string; rank: number }>(),
    broadcasts: new Map<string, number>(),
  };

  /**
   * The dispatcher polls its queue every 20 ms, a few µs on SQLite but a round trip here, during
   * which the event loop waits: an empty answer is remembered for IDLE_POLL_MS (new work this
   * instance records itself clears it; another instance's releases wait at most that long).
   */
  private idleWorkers = new Map<string, number>();
  private workersCache?: { at: number; workers: string[] };
  /** When the submitter's queue was last found empty (the same rule as idleWorkers). */
  private submitIdleSince?: number;

  /**
   * This relayer's unfinished transactions and unresolved nonces, read by every submitter pass
   * (pipeline room, resender, next nonce, confirmer) and written only by this instance: kept
   * between its own writes (each clears them) for at most TX_CACHE_MS, so another instance's
   * change (a reorg's rewind, a dead relayer's take-over) is seen within that time.
   */
  private txCache?: { at: number; txs: TxRecord[] };
  /** When the leases were last renewed, and whether this instance held the scanning lease then. */
  private leases?: { at: number; scanner: boolean };
  /**
   * Set once this process finds its key's lease held by another instance (it stalled past the
   * lease and a successor with the same key took it): from then on it claims and sends nothing.
   */
  private lost?: RelayerInUseError;
  private nonceCache?: { at: number; nonces: number[] };

  /** The key's lease row, locked until the transaction ends: a successor cannot take the key meanwhile. */
  private keyStatement(): Statement {
    return { text: "SELECT owner FROM leases WHERE name = 'relayer:' || $1 FOR SHARE", values: [this.relayer] };
  }

  /** Throws (and stays out) when the key's lease is another instance's; free or unheld is this process's to use. */
  private checkKey(owners: { owner: string | null }[] = []): void {
    const other = owners.find((r) => r.owner !== null && r.owner !== "" && r.owner !== this.instance)?.owner;
    if (other) this.lost ??= PostgresStore.keyLost(this.relayer, `held by instance ${other}`);
    if (this.lost) throw this.lost;
  }

  private static keyLost(relayer: string, details: string): RelayerInUseError {
    return new RelayerInUseError(`another bridge instance took relayer ${relayer}'s key: this one stalled past its lease`, {
      details: `${details}; this instance claims and sends nothing more (its work is the holder's)`,
    });
  }

  private wake(): void {
    this.idleWorkers.clear();
    this.workersCache = undefined;
    this.submitIdleSince = undefined;
  }

  private txsChanged(): void {
    this.txCache = undefined;
    this.nonceCache = undefined;
    this.submitIdleSince = undefined;
  }

  private constructor(options: PostgresStoreOptions) {
    this.relayer = options.relayer.toLowerCase();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.db = new PgPool(options.url, { timeoutMs: options.timeoutMs, applicationName: `bridge ${this.relayer}`, size: options.poolSize });
    this.db.deferredSource = () => this.takePending();
  }

  /** Connects and brings the schema to the latest migration. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await migratePg(store.db);
    } catch (error) {
      await store.db.close();
      throw error;
    }
    return store;
  }

  /**
   * In the order a request goes through them (dispatched, then failed or answered; a retry waits a
   * backoff far longer than a flush). Only while the request is this instance's, except an answer:
   * a verified answer is kept whoever fetched it, and the instance that stores it submits it. A
   * crash before they land costs a repeated worker call, never a wrong state.
   */
  private takePending(): Statement[] {
    const { dispatched, failures, answers, broadcasts } = this.pending;
    if (dispatched.size + failures.size + answers.size + broadcasts.size === 0) return [];
    this.pending = { dispatched: new Map(), failures: new Map(), answers: new Map(), broadcasts: new Map() };
    const statements: Statement[] = [];
    if (dispatched.size > 0)
      statements.push({
        text: `UPDATE requests r SET state = ${state("dispatched")}, attempts = u.attempts, next_attempt_at = ${NOW} + u.delay, lease_until = GREATEST(r.lease_until, ${NOW} + $5)
               FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(id, attempts, delay)
               WHERE r.id = u.id AND r.state IN ${states(DISPATCHABLE_STATES)} AND r.lease_owner = $4 AND ${KEY_HELD("$4", "$6")}`,
        values: [
          [...dispatched.keys()],
          [...dispatched.values()].map((d) => d.attempts),
          [...dispatched.values()].map((d) => d.delayMs),
          this.relayer,
          this.leaseMs,
          this.instance,
        ],
      });
    if (failures.size > 0)
      statements.push({
        text: `UPDATE requests r SET last_error = u.error, next_attempt_at = ${NOW} + u.delay FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, error, delay)
               WHERE r.id = u.id AND r.state = ${state("dispatched")} AND r.lease_owner = $4 AND ${KEY_HELD("$4", "$5")}`,
        values: [[...failures.keys()], [...failures.values()].map((f) => f.error), [...failures.values()].map((f) => f.delayMs), this.relayer, this.instance],
      });
    if (answers.size > 0)
      statements.push({
        text: `UPDATE requests r SET state = ${state("signed")}, answer = u.answer, answer_rank = u.rank, last_error = NULL, lease_owner = $4, lease_until = ${NOW} + $5
               FROM unnest($1::text[], $2::text[], $3::int[]) AS u(id, answer, rank) WHERE r.id = u.id AND r.state IN ${states(DISPATCHABLE_STATES)}`,
        values: [[...answers.keys()], [...answers.values()].map((a) => a.answer), [...answers.values()].map((a) => a.rank), this.relayer, this.leaseMs],
      });
    if (broadcasts.size > 0)
      statements.push({
        text: `WITH a AS (UPDATE tx_attempts t SET state = 'broadcast', broadcast_at = u.at FROM unnest($1::text[], $2::bigint[]) AS u(hash, at) WHERE t.hash = u.hash RETURNING t.tx_id)
               UPDATE transactions SET state = ${tx("unconfirmed")} WHERE id IN (SELECT tx_id FROM a) AND state = ${tx("in_progress")}`,
        values: [[...broadcasts.keys()], [...broadcasts.values()]],
      });
    return statements;
  }

  private async meta(key: string): Promise<string | undefined> {
    return (await this.db.query<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]))[0]?.value;
  }

  private async setMeta(key: string, value: string): Promise<void> {
    await this.db.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
  }

  async bind(chainId: bigint, router: string): Promise<void> {
    const identity = `${chainId}:${router.toLowerCase()}`;
    await this.db.query("INSERT INTO meta (key, value) VALUES ('identity', $1) ON CONFLICT (key) DO NOTHING", [identity]);
    const existing = await this.meta("identity");
    if (existing !== identity)
      throw new StoreMismatchError("store belongs to another chain or router; use another database", { details: `holds ${existing}, configured ${identity}` });
  }

  /**
   * The cursor and its requestCount, read by every watcher pass: while this instance holds the
   * scanning lease, kept for TX_CACHE_MS and moved by its own scans (another instance moves it only
   * around a hand-over, when a stale cursor costs an idempotent re-scan).
   */
  private cursorCache?: { at: number; cursor?: BlockRef; count?: { hash: string; count: bigint } };

  private async cursors(): Promise<{ cursor?: BlockRef; count?: { hash: string; count: bigint } }> {
    if (this.leases?.scanner && this.cursorCache && elapsedMs() - this.cursorCache.at < TX_CACHE_MS) return this.cursorCache;
    const rows = await this.db.query<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('cursor', 'cursor_request_count')");
    const cursor = rows.find((r) => r.key === "cursor")?.value;
    const count = rows.find((r) => r.key === "cursor_request_count")?.value;
    const parsed = count ? (JSON.parse(count) as { hash: string; count: string }) : undefined;
    this.cursorCache = {
      at: elapsedMs(),
      cursor: cursor ? (JSON.parse(cursor) as BlockRef) : undefined,
      count: parsed && { hash: parsed.hash, count: BigInt(parsed.count) },
    };
    return this.cursorCache;
  }

  async cursor(): Promise<BlockRef | undefined> {
    return (await this.cursors()).cursor;
  }

  async cursorRequestCount(): Promise<{ hash: string; count: bigint } | undefined> {
    return (await this.cursors()).count;
  }

  async blockHash(number: number): Promise<string | undefined> {
    return (await this.db.query<{ hash: string }>("SELECT hash FROM blocks WHERE number = $1", [number]))[0]?.hash;
  }

  async recentBlocks(maxNumber: number, limit: number): Promise<BlockRef[]> {
    return await this.db.query<BlockRef>("SELECT number, hash FROM blocks WHERE number <= $1 ORDER BY number DESC LIMIT $2", [maxNumber, limit]);
  }

  async applyScan(scan: ScanResult, historyToKeep: number): Promise<{ added: number; settled: number }> {
    const now = Date.now();
    if (scan.requests.length > 0) this.wake();
    // Two round trips: the rows already known are locked and read with BEGIN; the inserts, block
    // hashes, settlements and cursor go with COMMIT.
    return await this.db.split(scan.requests.length > 0 ? [this.lockStatement(scan.requests)] : [], async (opened) => {
      const existing = this.existingRows(opened[0]);
      const fresh = scan.requests.filter((r) => !existing.has(r.request.id.toString()));
      const reobserved = await this.reobserveOrphans(scan.requests, existing, now);
      const cursor = JSON.stringify({ number: scan.cursor.number, hash: scan.cursor.hash });
      const settlements = this.settlementStatement(scan.settlements, now);
      const commit: Statement[] = [
        ...(fresh.length > 0 ? [this.insertStatement(fresh, now)] : []),
        ...(settlements ? [settlements] : []),
        {
          text: "INSERT INTO blocks (number, hash) SELECT * FROM unnest($1::int[], $2::text[]) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
          values: [scan.blocks.map((b) => b.number), scan.blocks.map((b) => b.hash)],
        },
        { text: "DELETE FROM blocks WHERE number <= $1", values: [scan.cursor.number - historyToKeep] },
        // Any instance may scan (the leader, or two around a hand-over): the shared cursor only
        // moves forward here (a reorg moves it back in `rewind`), with its requestCount.
        {
          text: `WITH moved AS (INSERT INTO meta (key, value) VALUES ('cursor', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                   WHERE (meta.value::json->>'number')::bigint < $2 RETURNING key)
                 INSERT INTO meta (key, value) SELECT 'cursor_request_count', $3 FROM moved WHERE $3::text IS NOT NULL
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          values: [
            cursor,
            scan.cursor.number,
            scan.requestCount === undefined ? null : JSON.stringify({ hash: scan.cursor.hash, count: scan.requestCount.toString() }),
          ],
        },
      ];
      return {
        commit,
        result: (done) => {
          this.movedCursor(scan);
          return { added: reobserved + (fresh.length > 0 ? done[0]!.rowCount : 0), settled: settlements ? done[fresh.length > 0 ? 1 : 0]!.rowCount : 0 };
        },
      };
    });
  }

  /** The cursor as this scan left it (it moves forward only), without a read. */
  private movedCursor(scan: ScanResult): void {
    const cached = this.cursorCache;
    if (!cached || (cached.cursor && cached.cursor.number >= scan.cursor.number)) return;
    const count = scan.requestCount === undefined ? cached.count : { hash: scan.cursor.hash, count: scan.requestCount };
    this.cursorCache = { at: cached.at, cursor: { number: scan.cursor.number, hash: scan.cursor.hash }, count };
  }

  async observe(requests: ObservedRequest[], settlements: ObservedSettlement[]): Promise<{ added: number; settled: number }> {
    const now = Date.now();
    if (requests.length > 0) this.wake();
    return await this.db.transaction(async () => ({
      added: await this.insertRequests(requests, now),
      settled: await this.insertSettlements(settlements, now),
    }));
  }

  private async insertRequests(requests: ObservedRequest[], now: number): Promise<number> {
    if (requests.length === 0) return 0;
    const existing = this.existingRows((await this.db.batch([this.lockStatement(requests)]))[0]);
    const fresh = requests.filter((r) => !existing.has(r.request.id.toString()));
    // ON CONFLICT: another instance's scan may insert the same request in between.
    const added = fresh.length > 0 ? (await this.db.batch([this.insertStatement(fresh, now)]))[0]!.rowCount : 0;
    return added + (await this.reobserveOrphans(requests, existing, now));
  }

  /** Locks and reads the stored rows of these requests. */
  private lockStatement(requests: ObservedRequest[]): Statement {
    return {
      text: "SELECT id, state, previous_state, request_hash FROM requests WHERE id = ANY($1) FOR UPDATE",
      values: [requests.map((r) => r.request.id.toString())],
    };
  }

  private existingRows(result: { rows: Record<string, unknown>[] } | undefined): Map<string, StoredIdentity> {
    return new Map(((result?.rows ?? []) as unknown as StoredIdentity[]).map((row) => [row.id, row]));
  }

  private insertStatement(fresh: ObservedRequest[], now: number): Statement {
    return {
      text: `INSERT INTO requests (id, request, input, request_hash, worker, deadline, block_number, block_hash, log_index, tx_hash, state, seen_at)
             SELECT id, request, input, request_hash, worker, deadline, block_number, block_hash, log_index, tx_hash, ${state("seen")}, $11
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[], $8::text[], $9::int[], $10::text[])
               AS t(id, request, input, request_hash, worker, deadline, block_number, block_hash, log_index, tx_hash)
             ON CONFLICT (id) DO NOTHING`,
      values: [
        fresh.map((r) => r.request.id.toString()),
        fresh.map((r) => serializeRequest(r.request)),
        fresh.map((r) => r.input),
        fresh.map((r) => r.requestHash),
        fresh.map((r) => r.request.worker.toLowerCase()),
        fresh.map((r) => r.request.deadline.toString()),
        fresh.map((r) => r.block.number),
        fresh.map((r) => r.block.hash),
        fresh.map((r) => r.logIndex),
        fresh.map((r) => r.txHash),
        now,
      ],
    };
  }

  /** Orphaned requests a scan finds again (rare: after a reorg), one statement each. */
  private async reobserveOrphans(requests: ObservedRequest[], existing: Map<string, StoredIdentity>, now: number): Promise<number> {
    let added = 0;
    for (const observed of requests) {
      const row = existing.get(observed.request.id.toString());
      if (!row || row.state !== "orphaned") continue;
      const location = [observed.block.number, observed.block.hash, observed.logIndex, observed.txHash];
      if (row.request_hash === observed.requestHash) {
        // The same request came back in another block: keep its progress (a signed answer stays valid).
        const restored = row.previous_state === "seen" || row.previous_state === null ? "seen" : row.previous_state;
        await this.db.query(
          `UPDATE requests SET state = $1, previous_state = NULL, block_number = $2, block_hash = $3, log_index = $4, tx_hash = $5 WHERE id = $6`,
          [restored === "submitted" ? "signed" : restored, ...location, row.id],
        );
      } else {
        // Same id, different request (another worker or terms): start over.
        await this.db.query(
          `UPDATE requests SET request = $1, input = $2, request_hash = $3, worker = $4, deadline = $5, block_number = $6, block_hash = $7,
           log_index = $8, tx_hash = $9, state = ${state("seen")}, previous_state = NULL, attempts = 0, next_attempt_at = 0, last_error = NULL,
           answer = NULL, fulfil_tx = NULL, timeout_tx = NULL, worker_rank = 0, backup_at = 0, answer_rank = NULL, answered_by = NULL, seen_at = $10,
           lease_owner = NULL, lease_until = 0 WHERE id = $11`,
          [
            serializeRequest(observed.request),
            observed.input,
            observed.requestHash,
            observed.request.worker.toLowerCase(),
            observed.request.deadline.toString(),
            ...location,
            now,
            row.id,
          ],
        );
      }
      added++;
    }
    return added;
  }

  private async insertSettlements(settlements: ObservedSettlement[], now: number): Promise<number> {
    const statement = this.settlementStatement(settlements, now);
    return statement ? (await this.db.batch([statement]))[0]!.rowCount : 0;
  }

  /** Records settlements on requests not already settled (one statement; undefined when there are none). */
  private settlementStatement(settlements: ObservedSettlement[], now: number): Statement | undefined {
    if (settlements.length === 0) return undefined;
    return {
      text: `UPDATE requests r SET state = s.outcome, settle_tx = s.tx, settle_block = s.block, fee = s.fee, refund = s.refund, settled_at = $7, previous_state = NULL,
             answered_by = s.worker
             FROM (SELECT DISTINCT ON (id) * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $8::text[])
                   AS u(id, outcome, tx, block, fee, refund, worker)) s
             WHERE r.id = s.id AND r.state NOT IN ${states(SETTLED_STATES)}`,
      values: [
        settlements.map((s) => s.requestId.toString()),
        settlements.map((s) => s.outcome),
        settlements.map((s) => s.txHash),
        settlements.map((s) => s.block.number),
        settlements.map((s) => s.fee.toString()),
        settlements.map((s) => s.refund.toString()),
        now,
        settlements.map((s) => s.worker?.toLowerCase() ?? null),
      ],
    };
  }

  async knownIds(ids: bigint[]): Promise<Set<bigint>> {
    if (ids.length === 0) return new Set();
    return new Set((await this.db.query<{ id: string }>("SELECT id FROM requests WHERE id = ANY($1)", [ids.map(String)])).map((r) => BigInt(r.id)));
  }

  async blockOf(id: bigint): Promise<number | undefined> {
    return (await this.db.query<{ block_number: number }>("SELECT block_number FROM requests WHERE id = $1", [id.toString()]))[0]?.block_number;
  }

  async reconciledThrough(): Promise<bigint> {
    return BigInt((await this.meta("reconciled_through")) ?? "0");
  }

  async setReconciledThrough(id: bigint): Promise<void> {
    await this.setMeta("reconciled_through", id.toString());
  }

  async unsettledPage(afterId: string, limit: number): Promise<{ id: bigint; blockNumber: number }[]> {
    return (
      await this.db.query<{ id: string; block_number: number }>(
        `SELECT id, block_number FROM requests WHERE id > $1 AND state IN ${states(UNSETTLED_STATES)} ORDER BY id LIMIT $2`,
        [afterId, limit],
      )
    ).map((r) => ({ id: BigInt(r.id), blockNumber: r.block_number }));
  }

  async rewind(ancestor: BlockRef): Promise<bigint[]> {
    this.cursorCache = undefined;
    this.wake();
    this.txsChanged();
    return await this.db.transaction(async () => {
      const [, , , orphaned] = await this.db.batch([
        {
          text: `UPDATE requests SET state = CASE WHEN answer IS NULL THEN ${state("confirmed")} ELSE ${state("signed")} END, settle_tx = NULL, settle_block = NULL,
                 fee = NULL, refund = NULL, settled_at = NULL, fulfil_tx = NULL, answered_by = NULL WHERE settle_block > $1`,
          values: [ancestor.number],
        },
        // Every relayer's transactions: the chain is the same for the whole fleet; each instance's confirmer re-checks its own.
        {
          text: `UPDATE transactions SET resolved = 0 WHERE (relayer, nonce) IN (SELECT relayer, nonce FROM transactions WHERE state = ${tx("confirmed")} AND block_number > $1)`,
          values: [ancestor.number],
        },
        {
          text: `UPDATE transactions SET state = ${tx("unconfirmed")}, mined_hash = NULL, block_number = NULL, gas_used = NULL, effective_gas_price = NULL, success = NULL,
                 resolved = 0 WHERE state = ${tx("confirmed")} AND block_number > $1`,
          values: [ancestor.number],
        },
        {
          text: `UPDATE requests SET previous_state = state, state = ${state("orphaned")} WHERE block_number > $1 AND state IN ${states(UNSETTLED_STATES)} RETURNING id`,
          values: [ancestor.number],
        },
        { text: "DELETE FROM blocks WHERE number > $1", values: [ancestor.number] },
      ]);
      await this.setMeta("cursor", JSON.stringify({ number: ancestor.number, hash: ancestor.hash }));
      return (orphaned!.rows as { id: string }[]).map((r) => BigInt(r.id));
    });
  }

  async seenBlocks(blockNumber: number, limit: number): Promise<BlockRef[]> {
    return await this.db.query<BlockRef>(
      `SELECT DISTINCT block_number AS number, block_hash AS hash FROM requests WHERE state = ${state("seen")} AND block_number <= $1 ORDER BY block_number LIMIT $2`,
      [blockNumber, limit],
    );
  }

  async confirmBlock(block: BlockRef, now: number): Promise<number> {
    this.wake();
    return (
      await this.db.batch([
        {
          text: `UPDATE requests SET state = ${state("confirmed")}, confirmed_at = $1 WHERE state = ${state("seen")} AND block_number = $2 AND block_hash = $3`,
          values: [now, block.number, block.hash],
        },
      ])
    )[0]!.rowCount;
  }

  async confirmBlocks(blocks: BlockRef[], now: number): Promise<number> {
    if (blocks.length === 0) return 0;
    this.wake();
    return (
      await this.db.batch([
        {
          text: `UPDATE requests r SET state = ${state("confirmed")}, confirmed_at = $1 FROM unnest($2::int[], $3::text[]) AS b(number, hash)
               WHERE r.state = ${state("seen")} AND r.block_number = b.number AND r.block_hash = b.hash`,
          values: [now, blocks.map((b) => b.number), blocks.map((b) => b.hash)],
        },
      ])
    )[0]!.rowCount;
  }

  async get(id: bigint): Promise<RequestRecord | undefined> {
    const row = (await this.db.query<RequestRow>("SELECT * FROM requests WHERE id = $1", [id.toString()]))[0];
    return row ? toRecord(row) : undefined;
  }

  async list(filter: ListFilter = {}): Promise<RequestRecord[]> {
    const limit = filter.limit ?? 100;
    const offset = filter.offset ?? 0;
    const rows = filter.state
      ? await this.db.query<RequestRow>("SELECT * FROM requests WHERE state = $1 ORDER BY block_number, log_index LIMIT $2 OFFSET $3", [
          filter.state,
          limit,
          offset,
        ])
      : await this.db.query<RequestRow>("SELECT * FROM requests ORDER BY block_number, log_index LIMIT $1 OFFSET $2", [limit, offset]);
    return rows.map(toRecord);
  }

  async counts(): Promise<Record<RequestState, number>> {
    const counts = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
    for (const row of await this.db.query<{ state: RequestState; n: number }>("SELECT state, COUNT(*) AS n FROM requests GROUP BY state"))
      counts[row.state] = row.n;
    return counts;
  }

  async dispatchWorkers(): Promise<string[]> {
    const now = elapsedMs();
    if (this.workersCache && now - this.workersCache.at < IDLE_POLL_MS) return this.workersCache.workers;
    this.workersCache = { at: now, workers: await this.queryDispatchWorkers() };
    return this.workersCache.workers;
  }

  private async queryDispatchWorkers(): Promise<string[]> {
    // A skip-scan over the per-worker queue index: one probe per worker, however many requests each has queued.
    return (
      await this.db.query<{ worker: string }>(
        `WITH RECURSIVE w(worker) AS (
           (SELECT worker FROM requests WHERE state IN ${states(DISPATCHABLE_STATES)} ORDER BY worker LIMIT 1)
           UNION ALL
           SELECT (SELECT r.worker FROM requests r WHERE r.state IN ${states(DISPATCHABLE_STATES)} AND r.worker > w.worker ORDER BY r.worker LIMIT 1)
           FROM w WHERE w.worker IS NOT NULL)
         SELECT worker FROM w WHERE worker IS NOT NULL`,
      )
    ).map((r) => r.worker);
  }

  /**
   * Claims (leases to this instance) up to `limit` rows the subquery selects among free, expired or
   * own leases, only while this process holds its key's lease (read under a lock in the same
   * statement: requests are leased to the relayer address, which a successor on the same key
   * shares, so the process is fenced by its instance id). A process that lost the key gets
   * RelayerInUseError and claims nothing.
   */
  private async claim(where: string, order: string, values: unknown[], limit: number): Promise<RequestRow[]> {
    this.checkKey();
    const n = values.length;
    const [r, lease, max, me] = [n + 1, n + 2, n + 3, n + 4].map((i) => `$${i}`);
    const rows = await this.db.query<RequestRow & { key_holder: string | null }>(
      `WITH k AS (SELECT owner FROM leases WHERE name = 'relayer:' || ${r} FOR SHARE),
            other AS (SELECT (SELECT owner FROM k WHERE owner NOT IN (${me}, '') LIMIT 1) AS owner),
            c AS (UPDATE requests r SET lease_owner = ${r}, lease_until = ${NOW} + ${lease}
                  FROM (SELECT id FROM requests WHERE ${where} AND (lease_owner = ${r} OR lease_until < ${NOW} OR lease_owner IS NULL)
                          AND (SELECT owner FROM other) IS NULL
                        ORDER BY ${order} LIMIT ${max} FOR UPDATE SKIP LOCKED) c
                  WHERE r.id = c.id RETURNING r.*)
       SELECT c.*, other.owner AS key_holder FROM other LEFT JOIN c ON true`,
      [...values, this.relayer, this.leaseMs, limit, this.instance],
    );
    this.checkKey(rows.slice(0, 1).map((row) => ({ owner: row.key_holder })));
    return rows.filter((row) => row.id !== null);
  }

  async dueForWorker(worker: string, now: number, limit: number, exclude: ReadonlySet<string>): Promise<RequestRecord[]> {
    if (limit <= 0) return [];
    const key = worker.toLowerCase();
    const idleSince = this.idleWorkers.get(key);
    if (idleSince !== undefined && elapsedMs() - idleSince < IDLE_POLL_MS) return [];
    const rows = await this.claim(
      `state IN ${states(DISPATCHABLE_STATES)} AND worker = $1 AND next_attempt_at <= ${NOW} + $2 AND NOT (id = ANY($3))`,
      "next_attempt_at, block_number, log_index",
      [key, Math.round(now - Date.now()), [...exclude]],
      limit,
    );
    if (rows.length < limit) this.idleWorkers.set(key, elapsedMs());
    else this.idleWorkers.delete(key);
    return rows.sort(byQueue).map(toRecord);
  }

  async markDispatched(id: bigint, attempts: number, nextAttemptAt: number): Promise<void> {
    // Only while the request is this instance's: a stale instance must not reset the new owner's backoff.
    // Kept on the database's clock (as a delay from this instance's now): an instance whose clock runs
    // ahead would otherwise hold the request for other instances until THEIR clocks reach its mark.
    // Deferred (sent with the next call): per-request progress that a crash may lose and the next claim redoes.
    this.pending.dispatched.set(id.toString(), { attempts, delayMs: Math.round(nextAttemptAt - Date.now()) });
    this.db.scheduleFlush();
  }

  async recordDispatchFailure(id: bigint, error: string, nextAttemptAt: number): Promise<void> {
    this.pending.failures.set(id.toString(), { error, delayMs: Math.round(nextAttemptAt - Date.now()) });
    this.db.scheduleFlush();
  }

  async saveAnswer(id: bigint, answer: ExecuteResponse, rank = 0): Promise<void> {
    // A verified answer is kept whoever fetched it; the instance that stores it submits it. Deferred
    // like markDispatched: a crash before it lands costs one more worker call, never a wrong state.
    this.pending.answers.set(id.toString(), { answer: JSON.stringify(answer), rank });
    this.submitIdleSince = undefined;
    this.db.scheduleFlush();
  }

  async readyToSubmit(limit: number): Promise<RequestRecord[]> {
    if (this.submitIdleSince !== undefined && elapsedMs() - this.submitIdleSince < IDLE_POLL_MS) return [];
    const rows = await this.claim(`state = ${state("signed")}`, "block_number, log_index", [], limit);
    this.submitIdleSince = rows.length === 0 ? elapsedMs() : undefined;
    return rows.sort(byEvent).map(toRecord);
  }

  async markSettledElsewhere(ids: bigint[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`UPDATE requests SET state = ${state("submitted")}, fulfil_tx = NULL WHERE id = ANY($1) AND state = ${state("signed")}`, [
      ids.map(String),
    ]);
  }

  async requeueParked(ids: bigint[]): Promise<number> {
    if (ids.length === 0) return 0;
    // Free for any instance's submitter to claim.
    const rows = await this.db.query(
      `UPDATE requests SET state = ${state("signed")}, lease_owner = NULL, lease_until = 0
       WHERE id = ANY($1) AND state = ${state("submitted")} AND fulfil_tx IS NULL AND answer IS NOT NULL RETURNING id`,
      [ids.map(String)],
    );
    if (rows.length > 0) this.submitIdleSince = undefined;
    return rows.length;
  }

  async markFailed(id: bigint, reason: string, rank?: number): Promise<void> {
    await this.db.query(
      `UPDATE requests SET state = ${state("failed")}, last_error = $1 WHERE id = $2 AND state IN ${states(UNSETTLED_STATES)} AND ($3::int IS NULL OR worker_rank = $3)`,
      [reason, id.toString(), rank ?? null],
    );
  }

  async expired(chainTime: bigint, limit: number): Promise<RequestRecord[]> {
    return (
      await this.db.query<RequestRow>(
        `SELECT * FROM requests WHERE state IN ${states(UNSETTLED_STATES)} AND deadline < $1 AND timeout_tx IS NULL ORDER BY deadline, block_number, log_index LIMIT $2`,
        [chainTime.toString(), limit],
      )
    ).map(toRecord);
  }

  async failoverDue(chainTime: bigint, limit: number): Promise<RequestRecord[]> {
    return (
      await this.db.query<RequestRow>(
        `SELECT * FROM requests WHERE state IN ${states(FAILOVER_STATES)} AND backup_at >= 0 AND backup_at <= $1 AND deadline > $1 ORDER BY deadline, block_number, log_index LIMIT $2`,
        [chainTime.toString(), limit],
      )
    ).map(toRecord);
  }

  async scheduleBackups(entries: { id: bigint; at: number }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.query(
      `UPDATE requests r SET backup_at = u.at FROM unnest($1::text[], $2::bigint[]) AS u(id, at) WHERE r.id = u.id AND r.state IN ${states(FAILOVER_STATES)}`,
      [entries.map((e) => e.id.toString()), entries.map((e) => e.at)],
    );
  }

  async redrawBackup(id: bigint, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE requests SET state = ${state("failed")}, worker_rank = worker_rank - 1, backup_at = 0, answer = NULL, answer_rank = NULL, last_error = $1
       WHERE id = $2 AND state = ${state("signed")} AND answer_rank > 0 AND worker_rank = answer_rank`,
      [reason, id.toString()],
    );
  }

  async assignBackup(id: bigint, rank: number, worker: string, nextAt: number): Promise<boolean> {
    this.wake();
    // Free for any instance to dispatch: the lease of the worker call to the previous worker ends here.
    const rows = await this.db.query(
      `UPDATE requests SET worker = $1, worker_rank = $2, backup_at = $3, state = ${state("confirmed")}, attempts = 0, next_attempt_at = 0,
       last_error = NULL, answer = NULL, answer_rank = NULL, lease_owner = NULL, lease_until = 0
       WHERE id = $4 AND state IN ${states(FAILOVER_STATES)} AND worker_rank < $2 RETURNING id`,
      [worker.toLowerCase(), rank, nextAt, id.toString()],
    );
    return rows.length === 1;
  }

  async activeWorkers(): Promise<string[]> {
    return (await this.db.query<{ worker: string }>(`SELECT DISTINCT worker FROM requests WHERE state IN ${states(UNSETTLED_STATES)}`)).map((r) => r.worker);
  }

  async createTx(newTx: NewTx, attempt: NewAttempt): Promise<number> {
    this.txsChanged();
    const ids = newTx.requestIds.map(String);
    const fenced = newTx.kind !== "purge" && ids.length > 0;
    this.checkKey();
    // Two round trips: the key's lease and the requests locked and read with BEGIN (fencing: by
    // this process's instance id, then by request), the rest with COMMIT.
    return await this.db.split([this.keyStatement(), ...(fenced ? [this.fenceStatement(ids)] : [])], (opened) => {
      this.checkKey(opened[0]!.rows as { owner: string }[]);
      if (fenced) this.fence(newTx.kind as "fulfill" | "timeout", opened[1]!.rows as unknown as FenceRow[]);
      return { commit: [this.insertTxStatement(newTx, ids, attempt)], result: (done) => Number((done[0]!.rows[0] as { id: number }).id) };
    });
  }

  /**
   * The transaction, its first attempt and its requests' link in one statement: a fulfilment takes
   * its `signed` requests to `submitted` (and renews their lease, fencing's other half); a timeout
   * holds its unsettled requests.
   */
  private insertTxStatement(newTx: NewTx, ids: string[], attempt: NewAttempt): Statement {
    const link =
      newTx.kind === "fulfill"
        ? `UPDATE requests r SET state = CASE WHEN r.state = ${state("signed")} THEN ${state("submitted")} ELSE r.state END,
             fulfil_tx = CASE WHEN r.state = ${state("signed")} THEN t.id ELSE r.fulfil_tx END, lease_until = ${NOW} + p.lease_ms
           FROM t, p WHERE r.id = ANY(p.ids) AND r.state IN ${states(UNSETTLED_STATES)}`
        : newTx.kind === "timeout"
          ? `UPDATE requests r SET timeout_tx = t.id FROM t, p WHERE r.id = ANY(p.ids) AND r.state IN ${states(UNSETTLED_STATES)}`
          : undefined;
    return {
      // p names every parameter, so each kind's statement declares them all whichever it uses.
      text: `WITH p AS (SELECT $7::text[] AS ids, $13::bigint AS lease_ms),
                  t AS (INSERT INTO transactions (relayer, kind, nonce, to_address, data, gas_limit, request_ids, state, created_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $8, ${tx("in_progress")}, $9) RETURNING id),
                  a AS (INSERT INTO tx_attempts (hash, tx_id, max_fee, priority_fee, state, created_at) SELECT $10, t.id, $11, $12, 'in_progress', $9 FROM t)
                  ${link ? `, l AS (${link})` : ""}
             SELECT id FROM t`,
      values: [
        this.relayer,
        newTx.kind,
        newTx.nonce,
        newTx.to,
        newTx.data,
        newTx.gasLimit.toString(),
        ids,
        JSON.stringify(ids),
        attempt.createdAt,
        attempt.hash,
        attempt.maxFeePerGas.toString(),
        attempt.maxPriorityFeePerGas.toString(),
        this.leaseMs,
      ],
    };
  }

  private fenceStatement(ids: string[]): Statement {
    return {
      text: `SELECT id, state, lease_owner, fulfil_tx, timeout_tx FROM requests WHERE id = ANY($1) AND state IN ${states(UNSETTLED_STATES)} ORDER BY id FOR UPDATE`,
      values: [ids],
    };
  }

  /**
   * Fencing, under the rows' locks until the transaction commits: a fulfilment only of requests
   * this instance still holds (if its lease ran out but nobody claimed them, they are still its own,
   * and the lease is renewed) and of none another transaction already carries; a timeout
   * only of requests no other timeout transaction holds. Requests in other states are left out of
   * the link, as in the SQLite store.
   */
  private fence(kind: "fulfill" | "timeout", rows: FenceRow[]): void {
    const lost =
      kind === "fulfill"
        ? rows.filter((r) => (WORKED_STATES.has(r.state) && r.lease_owner !== this.relayer) || (r.state === "submitted" && r.fulfil_tx !== null))
        : rows.filter((r) => r.timeout_tx !== null);
    if (lost.length > 0)
      throw new LeaseLostError(
        kind === "fulfill" ? "requests are no longer leased to this instance" : "requests are already held by another timeout transaction",
        {
          details: lost
            .map((r) => `${r.id} (${r.state}, ${kind === "fulfill" ? `lease ${r.lease_owner ?? "none"}` : `timeout tx ${r.timeout_tx}`})`)
            .join(", "),
        },
      );
  }

  private async insertAttempt(txId: number, attempt: NewAttempt): Promise<void> {
    await this.db.query("INSERT INTO tx_attempts (hash, tx_id, max_fee, priority_fee, state, created_at) VALUES ($1, $2, $3, $4, 'in_progress', $5)", [
      attempt.hash,
      txId,
      attempt.maxFeePerGas.toString(),
      attempt.maxPriorityFeePerGas.toString(),
      attempt.createdAt,
    ]);
  }

  async addAttempt(txId: number, attempt: NewAttempt): Promise<void> {
    this.txsChanged();
    // Fencing for a replacement (fee bump), as createTx is for a first send: only while the
    // transaction is still this relayer's and unfinished. A relayer that stalled past its lease
    // finds it handed back to the fleet (abandoned) and must not send a new version of it.
    // And only while this process holds the key's lease (a successor on the same key owns its transactions).
    this.checkKey();
    const rows = await this.db.split([this.keyStatement()], (opened) => {
      this.checkKey(opened[0]!.rows as { owner: string }[]);
      return {
        commit: [
          {
            text: `INSERT INTO tx_attempts (hash, tx_id, max_fee, priority_fee, state, created_at) SELECT $1::text, $2::bigint, $3::text, $4::text, 'in_progress', $5::bigint
                   WHERE EXISTS (SELECT 1 FROM transactions WHERE id = $2 AND relayer = $6 AND state IN ${literals(UNFINISHED_TX_STATES)} FOR SHARE) RETURNING hash`,
            values: [attempt.hash, txId, attempt.maxFeePerGas.toString(), attempt.maxPriorityFeePerGas.toString(), attempt.createdAt, this.relayer],
          },
        ],
        result: (done) => done[0]!.rows,
      };
    });
    if (rows.length === 0)
      throw new LeaseLostError("the transaction is no longer this relayer's to replace", {
        details: `transaction ${txId}: handed back to the fleet (this relayer's lease expired) or finished`,
      });
  }

  async markBroadcast(hash: Hex, at: number): Promise<void> {
    // Deferred (sent with the next call): lost in a crash, the attempt stays in_progress and is
    // offered to a node again (the same signed bytes), which is what a crash before it does anyway.
    this.pending.broadcasts.set(hash, at);
    this.txsChanged();
    this.db.scheduleFlush();
  }

  /** Puts a transaction's requests back in their queue: unsettled fulfilments to `signed`, timeouts released. */
  private releaseStatements(txId: number, keep: readonly bigint[] = []): Statement[] {
    return [
      {
        text: `UPDATE requests SET state = ${state("signed")}, fulfil_tx = NULL WHERE fulfil_tx = $1 AND state = ${state("submitted")} AND NOT (id = ANY($2))`,
        values: [txId, keep.map(String)],
      },
      { text: "UPDATE requests SET timeout_tx = NULL WHERE timeout_tx = $1", values: [txId] },
    ];
  }

  async confirmTx(txId: number, mined: MinedAttempt): Promise<void> {
    this.txsChanged();
    const settlements = mined.success ? this.settlementStatement(mined.settlements, Date.now()) : undefined;
    await this.db.atomic([
      {
        text: `UPDATE transactions SET state = ${tx("confirmed")}, error = NULL, mined_hash = $1, block_number = $2, gas_used = $3, effective_gas_price = $4, success = $5
               WHERE id = $6`,
        values: [mined.hash, mined.blockNumber, mined.gasUsed.toString(), mined.effectiveGasPrice.toString(), mined.success ? 1 : 0, txId],
      },
      ...(settlements ? [settlements] : []),
      // What the transaction did not settle (it reverted, or skipped entries settled meanwhile) is handled afresh.
      ...this.releaseStatements(txId, mined.success ? mined.settlements.map((s) => s.requestId) : []),
    ]);
  }

  async abandonTx(txId: number, reason: string): Promise<void> {
    this.txsChanged();
    await this.db.atomic([
      {
        text: `UPDATE transactions SET state = ${tx("abandoned")}, error = $1 WHERE id = $2 AND state IN ${literals(UNFINISHED_TX_STATES)}`,
        values: [reason, txId],
      },
      ...this.releaseStatements(txId),
    ]);
  }

  /**
   * Transactions and their attempts (`where` selects transactions, with its values), read in one
   * snapshot: under READ COMMITTED each statement sees its own, and a transaction finished between
   * the two reads (by this instance's confirmer while /healthz reads, or a take-over) would come
   * back without attempts.
   */
  private async txsWhere(where: string, values: unknown[]): Promise<TxRecord[]> {
    const reads = [
      { text: `SELECT * FROM transactions WHERE ${where} ORDER BY nonce, id`, values },
      { text: `SELECT * FROM tx_attempts WHERE tx_id IN (SELECT id FROM transactions WHERE ${where}) ORDER BY created_at, seq`, values },
    ];
    const [txs, attemptRows] = this.db.inTransaction
      ? await this.db.batch(reads)
      : (await this.db.batch([{ text: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" }, ...reads, { text: "COMMIT" }])).slice(1, -1);
    const attempts = new Map<number, AttemptRow[]>();
    for (const a of attemptRows!.rows as unknown as AttemptRow[]) {
      const list = attempts.get(a.tx_id) ?? [];
      list.push(a);
      attempts.set(a.tx_id, list);
    }
    return (txs!.rows as unknown as TxRow[]).map((row) => toTx(row, (attempts.get(row.id) ?? []).map(toAttempt)));
  }

  async unfinishedTxs(): Promise<TxRecord[]> {
    if (this.txCache && elapsedMs() - this.txCache.at < TX_CACHE_MS) return this.txCache.txs;
    const txs = await this.txsWhere(`relayer = $1 AND state IN ${literals(UNFINISHED_TX_STATES)}`, [this.relayer]);
    this.txCache = { at: elapsedMs(), txs };
    return txs;
  }

  async txsWithNonce(nonce: number): Promise<TxRecord[]> {
    return await this.txsWhere("relayer = $1 AND nonce = $2", [this.relayer, nonce]);
  }

  async unresolvedNonces(below: number): Promise<number[]> {
    if (!this.nonceCache || elapsedMs() - this.nonceCache.at >= TX_CACHE_MS) {
      const nonces = (
        await this.db.query<{ nonce: number }>("SELECT DISTINCT nonce FROM transactions WHERE relayer = $1 AND resolved = 0 ORDER BY nonce", [this.relayer])
      ).map((r) => r.nonce);
      this.nonceCache = { at: elapsedMs(), nonces };
    }
    return this.nonceCache.nonces.filter((nonce) => nonce < below);
  }

  async resolveNonce(nonce: number): Promise<void> {
    this.txsChanged();
    await this.db.query("UPDATE transactions SET resolved = 1 WHERE relayer = $1 AND nonce = $2 AND resolved = 0", [this.relayer, nonce]);
  }

  async hasAttempt(hash: Hex): Promise<boolean> {
    return (await this.db.query("SELECT 1 FROM tx_attempts WHERE hash = $1", [hash])).length > 0;
  }

  async failoverStats(): Promise<{ handedOver: number; answeredByBackup: number }> {
    const row = (
      await this.db.query<{ handed_over: number; by_backup: number }>(
        "SELECT COUNT(*) FILTER (WHERE worker_rank > 0) AS handed_over, COUNT(*) FILTER (WHERE worker_rank > 0 AND answered_by = worker) AS by_backup FROM requests",
      )
    )[0]!;
    return { handedOver: Number(row.handed_over), answeredByBackup: Number(row.by_backup) };
  }

  async txStats(): Promise<{ count: number; gasUsed: bigint; feesPaid: bigint }> {
    const rows = await this.db.query<{ gas_used: string; effective_gas_price: string }>(
      `SELECT gas_used, effective_gas_price FROM transactions WHERE relayer = $1 AND state = ${tx("confirmed")}`,
      [this.relayer],
    );
    let gasUsed = 0n;
    let feesPaid = 0n;
    for (const row of rows) {
      const gas = BigInt(row.gas_used);
      gasUsed += gas;
      feesPaid += gas * BigInt(row.effective_gas_price);
    }
    return { count: rows.length, gasUsed, feesPaid };
  }

  async renewLeases(): Promise<{ scanner: boolean; handedOver?: { relayers: string[]; txs: number; requests: number } }> {
    if (this.lost) throw this.lost;
    const now = elapsedMs();
    if (this.leases && now - this.leases.at < this.leaseMs / 3) return { scanner: this.leases.scanner };
    // The first renewal (at start) waits out a dead predecessor's lease on this key, never a live one's.
    const giveUpAt = this.leases ? now : now + this.leaseMs + LEASE_WAIT_MARGIN_MS;
    for (;;) {
      const renewed = await this.renewOnce();
      if (renewed) return renewed;
      if (this.leases) {
        // Held before: a successor took the key while this process stalled. It stays out.
        this.leases = { at: this.leases.at, scanner: false };
        this.lost = PostgresStore.keyLost(this.relayer, "its lease was renewed by another instance");
        throw this.lost;
      }
      if (elapsedMs() >= giveUpAt)
        throw new RelayerInUseError(`another live bridge instance holds relayer ${this.relayer}'s lease`, {
          details: "each instance needs its own relayer key (its own nonces); this one claims and sends nothing",
        });
      await sleep(Math.max(10, Math.min(this.leaseMs / 3, giveUpAt - elapsedMs())));
    }
  }

  private async renewOnce(): Promise<{ scanner: boolean; handedOver?: { relayers: string[]; txs: number; requests: number } } | undefined> {
    const now = elapsedMs();
    const [renewed, handed] = await this.db.batch([
      {
        // The key's lease is this process's (or free: expired, or given up by a clean stop); the
        // scanning lease is taken only with it.
        text: `WITH me AS (INSERT INTO leases (name, owner, until) VALUES ('relayer:' || $1, $3, ${NOW} + $2)
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE leases.owner = excluded.owner OR leases.owner = '' OR leases.until < ${NOW} RETURNING 1),
               lead AS (INSERT INTO leases (name, owner, until) SELECT 'scanner', $3, ${NOW} + $2 WHERE EXISTS (SELECT 1 FROM me)
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE leases.owner = excluded.owner OR leases.until < ${NOW} RETURNING 1)
               SELECT (SELECT count(*) FROM me)::int AS alive, (SELECT count(*) FROM lead)::int AS scanner`,
        values: [this.relayer, this.leaseMs, this.instance],
      },
      // The scanner hands dead relayers' unfinished transactions to the fleet: abandoned (a
      // returning relayer still resolves its nonces: resolved stays 0), their unsettled requests
      // back to `signed` and free, or no longer held by a timeout transaction. The submitter that
      // claims them checks on-chain that they are pending before it sends anything.
      {
        text: `WITH dead AS (SELECT substr(name, 9) AS relayer FROM leases WHERE name LIKE 'relayer:%' AND until < ${NOW} AND name <> 'relayer:' || $1
                   AND EXISTS (SELECT 1 FROM leases WHERE name = 'scanner' AND owner = $2)),
               txs AS (UPDATE transactions t SET state = ${tx("abandoned")}, error = 'relayer ' || t.relayer || ' stopped renewing its lease; its requests were handed back to the fleet'
                 WHERE t.relayer IN (SELECT relayer FROM dead) AND t.state IN ${literals(UNFINISHED_TX_STATES)} RETURNING t.id, t.relayer),
               req AS (UPDATE requests r SET
                   state = CASE WHEN r.fulfil_tx IN (SELECT id FROM txs) AND r.state = ${state("submitted")} THEN ${state("signed")} ELSE r.state END,
                   lease_owner = CASE WHEN r.fulfil_tx IN (SELECT id FROM txs) THEN NULL ELSE r.lease_owner END,
                   lease_until = CASE WHEN r.fulfil_tx IN (SELECT id FROM txs) THEN 0 ELSE r.lease_until END,
                   fulfil_tx = CASE WHEN r.fulfil_tx IN (SELECT id FROM txs) THEN NULL ELSE r.fulfil_tx END,
                   timeout_tx = CASE WHEN r.timeout_tx IN (SELECT id FROM txs) THEN NULL ELSE r.timeout_tx END
                 WHERE (r.fulfil_tx IN (SELECT id FROM txs) OR r.timeout_tx IN (SELECT id FROM txs)) AND r.state IN ${states(UNSETTLED_STATES)} RETURNING r.id)
               SELECT (SELECT count(*) FROM txs)::int AS txs, (SELECT count(*) FROM req)::int AS requests,
                 (SELECT COALESCE(json_agg(DISTINCT relayer), '[]') FROM txs)::text AS relayers`,
        values: [this.relayer, this.instance],
      },
    ]);
    if ((renewed!.rows[0] as { alive: number }).alive === 0) return undefined;
    const scanner = (renewed!.rows[0] as { scanner: number }).scanner > 0;
    this.leases = { at: now, scanner };
    const { txs, requests, relayers } = handed!.rows[0] as { txs: number; requests: number; relayers: string };
    if (txs === 0) return { scanner };
    this.wake();
    return { scanner, handedOver: { relayers: JSON.parse(relayers) as string[], txs, requests } };
  }

  async close(): Promise<void> {
    // A clean stop gives the scanning lease up at once (a crash leaves it to expire).
    try {
      // The key's lease is given up to a successor with the same key; it still expires, after which
      // the scanner hands this relayer's unfinished transactions to the fleet.
      await this.db.batch([
        { text: "DELETE FROM leases WHERE name = 'scanner' AND owner = $1", values: [this.instance] },
        { text: "UPDATE leases SET owner = '' WHERE name = 'relayer:' || $1 AND owner = $2", values: [this.relayer, this.instance] },
      ]);
    } catch {
      // closing anyway: the lease expires
    }
    await this.db.close();
  }
}
