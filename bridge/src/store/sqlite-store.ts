import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Hex } from "../../../protocol/hex.js";
import type { ExecuteResponse } from "../../../protocol/worker-api.js";
import { StoreMismatchError } from "../errors.js";
import { migrate } from "./migrations.js";
import { literal, literals, state, states } from "./sql.js";
import {
  DISPATCHABLE_STATES,
  FAILOVER_STATES,
  REQUEST_STATES,
  SETTLED_STATES,
  UNFINISHED_TX_STATES,
  UNSETTLED_STATES,
  type MinedAttempt,
  type NewAttempt,
  type NewTx,
  type ObservedRequest,
  type ObservedSettlement,
  type TxState,
  type BlockRef,
  type BridgeStore,
  type ListFilter,
  type RequestRecord,
  type RequestState,
  type ScanResult,
  type TxRecord,
} from "./store.js";
import { type AttemptRow, type RequestRow, type TxRow, serializeRequest, toAttempt, toRecord, toTx } from "./rows.js";

const tx = (value: TxState) => literal(value);

/**
 * BridgeStore on node:sqlite (WAL, synchronous=NORMAL: a crash loses at most the last commits, never
 * consistency). node:sqlite is synchronous: each method runs to its end inside one call, with no
 * await in it, so it is as atomic as the database transaction it opens; the async signatures only
 * match the shared interface (a local file answers in microseconds, not worth a thread).
 */
export class SqliteStore implements BridgeStore {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    migrate(this.db, path);
  }

  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  private meta(key: string): string | undefined {
    const row = this.sql("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  async bind(chainId: bigint, router: string): Promise<void> {
    const identity = `${chainId}:${router.toLowerCase()}`;
    const existing = this.meta("identity");
    if (existing === undefined) this.setMeta("identity", identity);
    else if (existing !== identity)
      throw new StoreMismatchError("store belongs to another chain or router; use another dbPath", { details: `holds ${existing}, configured ${identity}` });
  }

  async cursor(): Promise<BlockRef | undefined> {
    const value = this.meta("cursor");
    return value ? (JSON.parse(value) as BlockRef) : undefined;
  }

  async cursorRequestCount(): Promise<{ hash: string; count: bigint } | undefined> {
    const value = this.meta("cursor_request_count");
    if (!value) return undefined;
    const parsed = JSON.parse(value) as { hash: string; count: string };
    return { hash: parsed.hash, count: BigInt(parsed.count) };
  }

  async blockHash(number: number): Promise<string | undefined> {
    const row = this.sql("SELECT hash FROM blocks WHERE number = ?").get(number) as { hash: string } | undefined;
    return row?.hash;
  }

  async recentBlocks(maxNumber: number, limit: number): Promise<BlockRef[]> {
    return this.sql("SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC LIMIT ?").all(maxNumber, limit) as unknown as BlockRef[];
  }

  async applyScan(scan: ScanResult, historyToKeep: number): Promise<{ added: number; settled: number }> {
    const now = Date.now();
    return this.transaction(() => {
      const added = this.insertRequests(scan.requests, now);
      const settled = this.insertSettlements(scan.settlements, now);
      const insertBlock = this.sql("INSERT INTO blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash");
      for (const block of scan.blocks) insertBlock.run(block.number, block.hash);
      this.sql("DELETE FROM blocks WHERE number <= ?").run(scan.cursor.number - historyToKeep);
      this.setMeta("cursor", JSON.stringify({ number: scan.cursor.number, hash: scan.cursor.hash }));
      if (scan.requestCount !== undefined)
        this.setMeta("cursor_request_count", JSON.stringify({ hash: scan.cursor.hash, count: scan.requestCount.toString() }));
      return { added, settled };
    });
  }

  async observe(requests: ObservedRequest[], settlements: ObservedSettlement[]): Promise<{ added: number; settled: number }> {
    const now = Date.now();
    return this.transaction(() => ({ added: this.insertRequests(requests, now), settled: this.insertSettlements(settlements, now) }));
  }

  private insertRequests(requests: ObservedRequest[], now: number): number {
    let added = 0;
    for (const observed of requests) {
      const id = observed.request.id.toString();
      const existing = this.sql("SELECT state, previous_state, request_hash FROM requests WHERE id = ?").get(id) as
        { state: string; previous_state: string | null; request_hash: string } | undefined;
      const location = [observed.block.number, observed.block.hash, observed.logIndex, observed.txHash] as const;
      if (!existing) {
        this.sql(
          `INSERT INTO requests (id, request, input, request_hash, worker, deadline, block_number, block_hash, log_index, tx_hash, state, seen_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${state("seen")}, ?)`,
        ).run(
          id,
          serializeRequest(observed.request),
          observed.input,
          observed.requestHash,
          observed.request.worker.toLowerCase(),
          Number(observed.request.deadline),
          ...location,
          now,
        );
        added++;
      } else if (existing.state === "orphaned") {
        if (existing.request_hash === observed.requestHash) {
          // The same request came back in another block: keep its progress (a signed answer stays valid).
          const restored = existing.previous_state === "seen" || existing.previous_state === null ? "seen" : existing.previous_state;
          this.sql(`UPDATE requests SET state = ?, previous_state = NULL, block_number = ?, block_hash = ?, log_index = ?, tx_hash = ? WHERE id = ?`).run(
            restored === "submitted" ? "signed" : restored,
            ...location,
            id,
          );
        } else {
          // Same id, different request (another worker or terms): start over.
          this.sql(
            `UPDATE requests SET request = ?, input = ?, request_hash = ?, worker = ?, deadline = ?, block_number = ?, block_hash = ?,
             log_index = ?, tx_hash = ?, state = ${state("seen")}, previous_state = NULL, attempts = 0, next_attempt_at = 0, last_error = NULL,
             answer = NULL, fulfil_tx = NULL, timeout_tx = NULL, worker_rank = 0, backup_at = 0, answer_rank = NULL, answered_by = NULL, seen_at = ?
             WHERE id = ?`,
          ).run(
            serializeRequest(observed.request),
            observed.input,
            observed.requestHash,
            observed.request.worker.toLowerCase(),
            Number(observed.request.deadline),
            ...location,
            now,
            id,
          );
        }
        added++;
      }
    }
    return added;
  }

  private insertSettlements(settlements: ObservedSettlement[], now: number): number {
    let settled = 0;
    for (const s of settlements) {
      const result = this.sql(
        `UPDATE requests SET state = ?, settle_tx = ?, settle_block = ?, fee = ?, refund = ?, settled_at = ?, previous_state = NULL, answered_by = ?
         WHERE id = ? AND state NOT IN ${states(SETTLED_STATES)}`,
      ).run(s.outcome, s.txHash, s.block.number, s.fee.toString(), s.refund.toString(), now, s.worker?.toLowerCase() ?? null, s.requestId.toString());
      settled += Number(result.changes);
    }
    return settled;
  }

  async knownIds(ids: bigint[]): Promise<Set<bigint>> {
    const known = new Set<bigint>();
    const lookup = this.sql("SELECT 1 FROM requests WHERE id = ?");
    for (const id of ids) if (lookup.get(id.toString())) known.add(id);
    return known;
  }

  async blockOf(id: bigint): Promise<number | undefined> {
    const row = this.sql("SELECT block_number FROM requests WHERE id = ?").get(id.toString()) as { block_number: number } | undefined;
    return row?.block_number;
  }

  async reconciledThrough(): Promise<bigint> {
    return BigInt(this.meta("reconciled_through") ?? "0");
  }

  async setReconciledThrough(id: bigint): Promise<void> {
    this.setMeta("reconciled_through", id.toString());
  }

  async unsettledPage(afterId: string, limit: number): Promise<{ id: bigint; blockNumber: number }[]> {
    return (
      this.sql(`SELECT id, block_number FROM requests WHERE id > ? AND state IN ${states(UNSETTLED_STATES)} ORDER BY id LIMIT ?`).all(afterId, limit) as {
        id: string;
        block_number: number;
      }[]
    ).map((r) => ({ id: BigInt(r.id), blockNumber: r.block_number }));
  }

  async rewind(ancestor: BlockRef): Promise<bigint[]> {
    return this.transaction(() => {
      // A settlement that left the chain is reopened; the submitter re-checks isPending before paying gas again.
      this.sql(
        `UPDATE requests SET state = CASE WHEN answer IS NULL THEN ${state("confirmed")} ELSE ${state("signed")} END, settle_tx = NULL, settle_block = NULL,
         fee = NULL, refund = NULL, settled_at = NULL, fulfil_tx = NULL, answered_by = NULL WHERE settle_block > ?`,
      ).run(ancestor.number);
      // Our transactions mined above the ancestor may be gone with their blocks: tracked (and counted) again until
      // re-mined, and any transaction of those nonces may be the one mined on the new chain.
      this.sql(
        `UPDATE transactions SET resolved = 0 WHERE nonce IN (SELECT nonce FROM transactions WHERE state = ${tx("confirmed")} AND block_number > ?)`,
      ).run(ancestor.number);
      this.sql(
        `UPDATE transactions SET state = ${tx("unconfirmed")}, mined_hash = NULL, block_number = NULL, gas_used = NULL, effective_gas_price = NULL, success = NULL,
         resolved = 0 WHERE state = ${tx("confirmed")} AND block_number > ?`,
      ).run(ancestor.number);
      const orphaned = this.sql(`SELECT id FROM requests WHERE block_number > ? AND state IN ${states(UNSETTLED_STATES)}`).all(ancestor.number) as {
        id: string;
      }[];
      this.sql(`UPDATE requests SET previous_state = state, state = ${state("orphaned")} WHERE block_number > ? AND state IN ${states(UNSETTLED_STATES)}`).run(
        ancestor.number,
      );
      this.sql("DELETE FROM blocks WHERE number > ?").run(ancestor.number);
      this.setMeta("cursor", JSON.stringify({ number: ancestor.number, hash: ancestor.hash }));
      return orphaned.map((r) => BigInt(r.id));
    });
  }

  async seenBlocks(blockNumber: number, limit: number): Promise<BlockRef[]> {
    return this.sql(
      `SELECT DISTINCT block_number AS number, block_hash AS hash FROM requests INDEXED BY requests_seen WHERE state = ${state("seen")} AND block_number <= ? ORDER BY block_number LIMIT ?`,
    ).all(blockNumber, limit) as unknown as BlockRef[];
  }

  async confirmBlock(block: BlockRef, now: number): Promise<number> {
    return this.confirmOne(block, now);
  }

  private confirmOne(block: BlockRef, now: number): number {
    const result = this.sql(
      `UPDATE requests SET state = ${state("confirmed")}, confirmed_at = ? WHERE state = ${state("seen")} AND block_number = ? AND block_hash = ?`,
    ).run(now, block.number, block.hash);
    return Number(result.changes);
  }

  async confirmBlocks(blocks: BlockRef[], now: number): Promise<number> {
    return this.transaction(() => blocks.reduce((sum, block) => sum + this.confirmOne(block, now), 0));
  }

  async renewLeases(): Promise<{ scanner: boolean }> {
    return { scanner: true };
  }

  async get(id: bigint): Promise<RequestRecord | undefined> {
    const row = this.sql("SELECT * FROM requests WHERE id = ?").get(id.toString()) as unknown as RequestRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async list(filter: ListFilter = {}): Promise<RequestRecord[]> {
    const limit = filter.limit ?? 100;
    const offset = filter.offset ?? 0;
    const rows = filter.state
      ? this.sql("SELECT * FROM requests WHERE state = ? ORDER BY block_number, log_index LIMIT ? OFFSET ?").all(filter.state, limit, offset)
      : this.sql("SELECT * FROM requests ORDER BY block_number, log_index LIMIT ? OFFSET ?").all(limit, offset);
    return (rows as unknown as RequestRow[]).map(toRecord);
  }

  async counts(): Promise<Record<RequestState, number>> {
    const counts = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
    for (const row of this.sql("SELECT state, COUNT(*) AS n FROM requests GROUP BY state").all() as { state: RequestState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  async dispatchWorkers(): Promise<string[]> {
    // A skip-scan: one index probe per worker, however many requests each has queued.
    const next = this.sql(
      `SELECT worker FROM requests INDEXED BY requests_due_worker WHERE state IN ${states(DISPATCHABLE_STATES)} AND worker > ? ORDER BY worker LIMIT 1`,
    );
    const workers: string[] = [];
    for (let row = next.get("") as { worker: string } | undefined; row; row = next.get(row.worker) as { worker: string } | undefined) workers.push(row.worker);
    return workers;
  }

  async dueForWorker(worker: string, now: number, limit: number, exclude: ReadonlySet<string>): Promise<RequestRecord[]> {
    const rows = this.sql(
      `SELECT * FROM requests INDEXED BY requests_due_worker WHERE state IN ${states(DISPATCHABLE_STATES)} AND worker = ? AND next_attempt_at <= ?
       ORDER BY next_attempt_at, block_number, log_index LIMIT ?`,
    ).all(worker.toLowerCase(), now, limit + exclude.size) as unknown as RequestRow[];
    return rows
      .filter((r) => !exclude.has(r.id))
      .slice(0, limit)
      .map(toRecord);
  }

  async markDispatched(id: bigint, attempts: number, nextAttemptAt: number): Promise<void> {
    this.sql(
      `UPDATE requests SET state = ${state("dispatched")}, attempts = ?, next_attempt_at = ? WHERE id = ? AND state IN ${states(DISPATCHABLE_STATES)}`,
    ).run(attempts, nextAttemptAt, id.toString());
  }

  async recordDispatchFailure(id: bigint, error: string, nextAttemptAt: number): Promise<void> {
    this.sql(`UPDATE requests SET last_error = ?, next_attempt_at = ? WHERE id = ? AND state = ${state("dispatched")}`).run(
      error,
      nextAttemptAt,
      id.toString(),
    );
  }

  async saveAnswer(id: bigint, answer: ExecuteResponse, rank = 0): Promise<void> {
    this.sql(
      `UPDATE requests SET state = ${state("signed")}, answer = ?, answer_rank = ?, last_error = NULL WHERE id = ? AND state IN ${states(DISPATCHABLE_STATES)}`,
    ).run(JSON.stringify(answer), rank, id.toString());
  }

  async failoverDue(chainTime: bigint, limit: number): Promise<RequestRecord[]> {
    const time = Number(chainTime);
    return (
      this.sql(
        `SELECT * FROM requests INDEXED BY requests_failover WHERE state IN ${states(FAILOVER_STATES)} AND backup_at >= 0 AND backup_at <= ? AND deadline > ?
         ORDER BY deadline, block_number, log_index LIMIT ?`,
      ).all(time, time, limit) as unknown as RequestRow[]
    ).map(toRecord);
  }

  async scheduleBackups(entries: { id: bigint; at: number }[]): Promise<void> {
    this.transaction(() => {
      const update = this.sql(`UPDATE requests SET backup_at = ? WHERE id = ? AND state IN ${states(FAILOVER_STATES)}`);
      for (const { id, at } of entries) update.run(at, id.toString());
    });
  }

  async redrawBackup(id: bigint, reason: string): Promise<void> {
    this.sql(
      `UPDATE requests SET state = ${state("failed")}, worker_rank = worker_rank - 1, backup_at = 0, answer = NULL, answer_rank = NULL, last_error = ?
       WHERE id = ? AND state = ${state("signed")} AND answer_rank > 0 AND worker_rank = answer_rank`,
    ).run(reason, id.toString());
  }

  async assignBackup(id: bigint, rank: number, worker: string, nextAt: number): Promise<boolean> {
    const result = this.sql(
      `UPDATE requests SET worker = ?, worker_rank = ?, backup_at = ?, state = ${state("confirmed")}, attempts = 0, next_attempt_at = 0,
       last_error = NULL, answer = NULL, answer_rank = NULL WHERE id = ? AND state IN ${states(FAILOVER_STATES)} AND worker_rank < ?`,
    ).run(worker.toLowerCase(), rank, nextAt, id.toString(), rank);
    return Number(result.changes) === 1;
  }

  async readyToSubmit(limit: number): Promise<RequestRecord[]> {
    return (
      this.sql(`SELECT * FROM requests WHERE state = ${state("signed")} ORDER BY block_number, log_index LIMIT ?`).all(limit) as unknown as RequestRow[]
    ).map(toRecord);
  }

  async markSettledElsewhere(ids: bigint[]): Promise<void> {
    this.transaction(() => {
      const update = this.sql(`UPDATE requests SET state = ${state("submitted")}, fulfil_tx = NULL WHERE id = ? AND state = ${state("signed")}`);
      for (const id of ids) update.run(id.toString());
    });
  }

  async requeueParked(ids: bigint[]): Promise<number> {
    return this.transaction(() => {
      const update = this.sql(
        `UPDATE requests SET state = ${state("signed")} WHERE id = ? AND state = ${state("submitted")} AND fulfil_tx IS NULL AND answer IS NOT NULL`,
      );
      let count = 0;
      for (const id of ids) count += Number(update.run(id.toString()).changes);
      return count;
    });
  }

  async markFailed(id: bigint, reason: string, rank?: number): Promise<void> {
    this.sql(
      `UPDATE requests SET state = ${state("failed")}, last_error = ? WHERE id = ? AND state IN ${states(UNSETTLED_STATES)} AND (? IS NULL OR worker_rank = ?)`,
    ).run(reason, id.toString(), rank ?? null, rank ?? null);
  }

  async expired(chainTime: bigint, limit: number): Promise<RequestRecord[]> {
    return (
      this.sql(
        `SELECT * FROM requests INDEXED BY requests_deadline WHERE state IN ${states(UNSETTLED_STATES)} AND deadline < ? AND timeout_tx IS NULL
         ORDER BY deadline LIMIT ?`,
      ).all(Number(chainTime), limit) as unknown as RequestRow[]
    ).map(toRecord);
  }

  async activeWorkers(): Promise<string[]> {
    return (this.sql(`SELECT DISTINCT worker FROM requests WHERE state IN ${states(UNSETTLED_STATES)}`).all() as { worker: string }[]).map((r) => r.worker);
  }

  async createTx(newTx: NewTx, attempt: NewAttempt): Promise<number> {
    return this.transaction(() => {
      const { lastInsertRowid } = this.sql(
        `INSERT INTO transactions (kind, nonce, to_address, data, gas_limit, request_ids, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ${tx("in_progress")}, ?)`,
      ).run(newTx.kind, newTx.nonce, newTx.to, newTx.data, newTx.gasLimit.toString(), JSON.stringify(newTx.requestIds.map(String)), attempt.createdAt);
      const id = Number(lastInsertRowid);
      this.insertAttempt(id, attempt);
      if (newTx.kind === "fulfill") {
        const link = this.sql(`UPDATE requests SET state = ${state("submitted")}, fulfil_tx = ? WHERE id = ? AND state = ${state("signed")}`);
        for (const requestId of newTx.requestIds) link.run(id, requestId.toString());
      } else if (newTx.kind === "timeout") {
        const link = this.sql(`UPDATE requests SET timeout_tx = ? WHERE id = ? AND state IN ${states(UNSETTLED_STATES)}`);
        for (const requestId of newTx.requestIds) link.run(id, requestId.toString());
      }
      return id;
    });
  }

  private insertAttempt(txId: number, attempt: NewAttempt): void {
    this.sql("INSERT INTO tx_attempts (hash, tx_id, max_fee, priority_fee, state, created_at) VALUES (?, ?, ?, ?, 'in_progress', ?)").run(
      attempt.hash,
      txId,
      attempt.maxFeePerGas.toString(),
      attempt.maxPriorityFeePerGas.toString(),
      attempt.createdAt,
    );
  }

  async addAttempt(txId: number, attempt: NewAttempt): Promise<void> {
    this.insertAttempt(txId, attempt);
  }

  async markBroadcast(hash: Hex, at: number): Promise<void> {
    this.transaction(() => {
      const row = this.sql("UPDATE tx_attempts SET state = 'broadcast', broadcast_at = ? WHERE hash = ? RETURNING tx_id").get(at, hash) as
        { tx_id: number } | undefined;
      if (row) this.sql(`UPDATE transactions SET state = ${tx("unconfirmed")} WHERE id = ? AND state = ${tx("in_progress")}`).run(row.tx_id);
    });
  }

  /** Puts a transaction's requests back in their queue: unsettled fulfilments to `signed`, timeouts released. */
  private release(txId: number, keep: readonly bigint[] = []): void {
    const kept = new Set(keep.map(String));
    const linked = this.sql(`SELECT id FROM requests WHERE fulfil_tx = ? AND state = ${state("submitted")}`).all(txId) as { id: string }[];
    const reopen = this.sql(
      `UPDATE requests SET state = ${state("signed")}, fulfil_tx = NULL WHERE id = ? AND fulfil_tx = ? AND state = ${state("submitted")}`,
    );
    for (const { id } of linked) if (!kept.has(id)) reopen.run(id, txId);
    this.sql("UPDATE requests SET timeout_tx = NULL WHERE timeout_tx = ?").run(txId);
  }

  async confirmTx(txId: number, mined: MinedAttempt): Promise<void> {
    this.transaction(() => {
      this.sql(
        `UPDATE transactions SET state = ${tx("confirmed")}, error = NULL, mined_hash = ?, block_number = ?, gas_used = ?, effective_gas_price = ?, success = ?
         WHERE id = ?`,
      ).run(mined.hash, mined.blockNumber, mined.gasUsed.toString(), mined.effectiveGasPrice.toString(), mined.success ? 1 : 0, txId);
      if (mined.success) this.insertSettlements(mined.settlements, Date.now());
      // What the transaction did not settle (it reverted, or skipped entries settled meanwhile) is handled afresh.
      this.release(txId, mined.success ? mined.settlements.map((s) => s.requestId) : []);
    });
  }

  async abandonTx(txId: number, reason: string): Promise<void> {
    this.transaction(() => {
      this.sql(`UPDATE transactions SET state = ${tx("abandoned")}, error = ? WHERE id = ? AND state IN ${literals(UNFINISHED_TX_STATES)}`).run(reason, txId);
      this.release(txId);
    });
  }

  private withAttempts(rows: TxRow[]): TxRecord[] {
    const attempts = this.sql("SELECT * FROM tx_attempts WHERE tx_id = ? ORDER BY created_at, rowid");
    return rows.map((row) => toTx(row, (attempts.all(row.id) as unknown as AttemptRow[]).map(toAttempt)));
  }

  async unfinishedTxs(): Promise<TxRecord[]> {
    return this.withAttempts(
      this.sql(
        `SELECT * FROM transactions INDEXED BY transactions_unfinished WHERE state IN ${literals(UNFINISHED_TX_STATES)} ORDER BY nonce, id`,
      ).all() as unknown as TxRow[],
    );
  }

  async txsWithNonce(nonce: number): Promise<TxRecord[]> {
    return this.withAttempts(this.sql("SELECT * FROM transactions WHERE nonce = ? ORDER BY id").all(nonce) as unknown as TxRow[]);
  }

  async unresolvedNonces(below: number): Promise<number[]> {
    return (
      this.sql("SELECT DISTINCT nonce FROM transactions INDEXED BY transactions_unresolved WHERE resolved = 0 AND nonce < ? ORDER BY nonce").all(below) as {
        nonce: number;
      }[]
    ).map((r) => r.nonce);
  }

  async resolveNonce(nonce: number): Promise<void> {
    this.sql("UPDATE transactions SET resolved = 1 WHERE nonce = ? AND resolved = 0").run(nonce);
  }

  async hasAttempt(hash: Hex): Promise<boolean> {
    return this.sql("SELECT 1 FROM tx_attempts WHERE hash = ?").get(hash) !== undefined;
  }

  async failoverStats(): Promise<{ handedOver: number; answeredByBackup: number }> {
    const row = this.sql(
      "SELECT COALESCE(SUM(worker_rank > 0), 0) AS handed_over, COALESCE(SUM(worker_rank > 0 AND answered_by = worker), 0) AS by_backup FROM requests",
    ).get() as { handed_over: number; by_backup: number };
    return { handedOver: row.handed_over, answeredByBackup: row.by_backup };
  }

  async txStats(): Promise<{ count: number; gasUsed: bigint; feesPaid: bigint }> {
    const rows = this.sql(`SELECT gas_used, effective_gas_price FROM transactions WHERE state = ${tx("confirmed")}`).all() as {
      gas_used: string;
      effective_gas_price: string;
    }[];
    let gasUsed = 0n;
    let feesPaid = 0n;
    for (const row of rows) {
      const gas = BigInt(row.gas_used);
      gasUsed += gas;
      feesPaid += gas * BigInt(row.effective_gas_price);
    }
    return { count: rows.length, gasUsed, feesPaid };
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}
