import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Hex } from "../../../protocol/hex.js";
import type { AgentRequest } from "../../../protocol/request.js";
import { agentRequestToJson, toAgentRequest } from "../../../protocol/request.js";
import type { ExecuteResponse } from "../../../protocol/worker-api.js";
import { StoreMismatchError } from "../errors.js";
import { migrate } from "./migrations.js";
import { state, states } from "./sql.js";
import {
  DISPATCHABLE_STATES,
  REQUEST_STATES,
  SETTLED_STATES,
  UNSETTLED_STATES,
  type BlockRef,
  type BridgeStore,
  type ListFilter,
  type RequestRecord,
  type RequestState,
  type ScanResult,
  type TxRecord,
} from "./store.js";

interface RequestRow {
  id: string;
  request: string;
  input: string;
  request_hash: string;
  block_number: number;
  block_hash: string;
  log_index: number;
  tx_hash: string;
  state: string;
  previous_state: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  answer: string | null;
  submit_tx: string | null;
  settle_tx: string | null;
  settle_block: number | null;
  fee: string | null;
  refund: string | null;
  seen_at: number;
  confirmed_at: number | null;
  settled_at: number | null;
}

interface TxRow {
  hash: string;
  kind: string;
  nonce: number;
  to_address: string;
  data: string;
  gas_limit: string;
  max_fee: string;
  priority_fee: string;
  request_ids: string;
  sent_at: number;
  status: string;
  block_number: number | null;
  gas_used: string | null;
  effective_gas_price: string | null;
}

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

function toRecord(row: RequestRow): RequestRecord {
  return {
    id: BigInt(row.id),
    request: toAgentRequest(JSON.parse(row.request) as Record<string, unknown>),
    input: row.input as Hex,
    requestHash: row.request_hash,
    block: { number: row.block_number, hash: row.block_hash },
    logIndex: row.log_index,
    txHash: row.tx_hash,
    state: row.state as RequestState,
    previousState: opt(row.previous_state) as RequestState | undefined,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: opt(row.last_error),
    answer: row.answer ? (JSON.parse(row.answer) as ExecuteResponse) : undefined,
    submitTx: opt(row.submit_tx),
    settleTx: opt(row.settle_tx),
    settleBlock: opt(row.settle_block),
    fee: row.fee === null ? undefined : BigInt(row.fee),
    refund: row.refund === null ? undefined : BigInt(row.refund),
    seenAt: row.seen_at,
    confirmedAt: opt(row.confirmed_at),
    settledAt: opt(row.settled_at),
  };
}

function toTx(row: TxRow): TxRecord {
  return {
    hash: row.hash as Hex,
    kind: row.kind as TxRecord["kind"],
    nonce: row.nonce,
    to: row.to_address,
    data: row.data as Hex,
    gasLimit: BigInt(row.gas_limit),
    maxFeePerGas: BigInt(row.max_fee),
    maxPriorityFeePerGas: BigInt(row.priority_fee),
    requestIds: (JSON.parse(row.request_ids) as string[]).map(BigInt),
    sentAt: row.sent_at,
    status: row.status as TxRecord["status"],
    blockNumber: opt(row.block_number),
    gasUsed: row.gas_used === null ? undefined : BigInt(row.gas_used),
    effectiveGasPrice: row.effective_gas_price === null ? undefined : BigInt(row.effective_gas_price),
  };
}

function serializeRequest(request: AgentRequest): string {
  return JSON.stringify(agentRequestToJson(request));
}

/** BridgeStore on node:sqlite (WAL, synchronous=NORMAL: a crash loses at most the last commits, never consistency). */
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

  bind(chainId: bigint, router: string): void {
    const identity = `${chainId}:${router.toLowerCase()}`;
    const existing = this.meta("identity");
    if (existing === undefined) this.setMeta("identity", identity);
    else if (existing !== identity)
      throw new StoreMismatchError("store belongs to another chain or router; use another dbPath", { details: `holds ${existing}, configured ${identity}` });
  }

  cursor(): BlockRef | undefined {
    const value = this.meta("cursor");
    return value ? (JSON.parse(value) as BlockRef) : undefined;
  }

  blockHash(number: number): string | undefined {
    const row = this.sql("SELECT hash FROM blocks WHERE number = ?").get(number) as { hash: string } | undefined;
    return row?.hash;
  }

  recentBlocks(maxNumber: number, limit: number): BlockRef[] {
    return this.sql("SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC LIMIT ?").all(maxNumber, limit) as unknown as BlockRef[];
  }

  applyScan(scan: ScanResult, historyToKeep: number): { added: number; settled: number } {
    const now = Date.now();
    return this.transaction(() => {
      let added = 0;
      let settled = 0;
      for (const observed of scan.requests) {
        const id = observed.request.id.toString();
        const existing = this.sql("SELECT state, previous_state, request_hash FROM requests WHERE id = ?").get(id) as
          | { state: string; previous_state: string | null; request_hash: string }
          | undefined;
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
            this.sql(
              `UPDATE requests SET state = ?, previous_state = NULL, block_number = ?, block_hash = ?, log_index = ?, tx_hash = ? WHERE id = ?`,
            ).run(restored === "submitted" ? "signed" : restored, ...location, id);
          } else {
            // Same id, different request (another worker or terms): start over.
            this.sql(
              `UPDATE requests SET request = ?, input = ?, request_hash = ?, worker = ?, deadline = ?, block_number = ?, block_hash = ?,
               log_index = ?, tx_hash = ?, state = ${state("seen")}, previous_state = NULL, attempts = 0, next_attempt_at = 0, last_error = NULL,
               answer = NULL, submit_tx = NULL, seen_at = ? WHERE id = ?`,
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
      for (const s of scan.settlements) {
        const result = this.sql(
          `UPDATE requests SET state = ?, settle_tx = ?, settle_block = ?, fee = ?, refund = ?, settled_at = ?, previous_state = NULL
           WHERE id = ? AND state NOT IN ${states(SETTLED_STATES)}`,
        ).run(s.outcome, s.txHash, s.block.number, s.fee.toString(), s.refund.toString(), now, s.requestId.toString());
        settled += Number(result.changes);
      }
      const insertBlock = this.sql("INSERT INTO blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash");
      for (const block of scan.blocks) insertBlock.run(block.number, block.hash);
      this.sql("DELETE FROM blocks WHERE number <= ?").run(scan.cursor.number - historyToKeep);
      this.setMeta("cursor", JSON.stringify({ number: scan.cursor.number, hash: scan.cursor.hash }));
      return { added, settled };
    });
  }

  rewind(ancestor: BlockRef): bigint[] {
    return this.transaction(() => {
      // A settlement that left the chain is reopened; the submitter re-checks isPending before paying gas again.
      this.sql(
        `UPDATE requests SET state = CASE WHEN answer IS NULL THEN ${state("confirmed")} ELSE ${state("signed")} END, settle_tx = NULL, settle_block = NULL,
         fee = NULL, refund = NULL, settled_at = NULL WHERE settle_block > ?`,
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

  seenBlocks(blockNumber: number, limit: number): BlockRef[] {
    return this.sql(
      `SELECT DISTINCT block_number AS number, block_hash AS hash FROM requests INDEXED BY requests_seen WHERE state = ${state("seen")} AND block_number <= ? ORDER BY block_number LIMIT ?`,
    ).all(blockNumber, limit) as unknown as BlockRef[];
  }

  confirmBlock(block: BlockRef, now: number): number {
    const result = this.sql(`UPDATE requests SET state = ${state("confirmed")}, confirmed_at = ? WHERE state = ${state("seen")} AND block_number = ? AND block_hash = ?`).run(
      now,
      block.number,
      block.hash,
    );
    return Number(result.changes);
  }

  get(id: bigint): RequestRecord | undefined {
    const row = this.sql("SELECT * FROM requests WHERE id = ?").get(id.toString()) as unknown as RequestRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  list(filter: ListFilter = {}): RequestRecord[] {
    const limit = filter.limit ?? 100;
    const offset = filter.offset ?? 0;
    const rows = filter.state
      ? this.sql("SELECT * FROM requests WHERE state = ? ORDER BY block_number, log_index LIMIT ? OFFSET ?").all(filter.state, limit, offset)
      : this.sql("SELECT * FROM requests ORDER BY block_number, log_index LIMIT ? OFFSET ?").all(limit, offset);
    return (rows as unknown as RequestRow[]).map(toRecord);
  }

  counts(): Record<RequestState, number> {
    const counts = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
    for (const row of this.sql("SELECT state, COUNT(*) AS n FROM requests GROUP BY state").all() as { state: RequestState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  dueForDispatch(now: number, limit: number, exclude: ReadonlySet<string>): RequestRecord[] {
    const rows = this.sql(
      `SELECT * FROM requests INDEXED BY requests_due WHERE state IN ${states(DISPATCHABLE_STATES)} AND next_attempt_at <= ?
       ORDER BY next_attempt_at, block_number, log_index LIMIT ?`,
    ).all(now, limit + exclude.size) as unknown as RequestRow[];
    return rows.filter((r) => !exclude.has(r.id)).slice(0, limit).map(toRecord);
  }

  markDispatched(id: bigint, attempts: number, nextAttemptAt: number): void {
    this.sql(`UPDATE requests SET state = ${state("dispatched")}, attempts = ?, next_attempt_at = ? WHERE id = ? AND state IN ${states(DISPATCHABLE_STATES)}`).run(
      attempts,
      nextAttemptAt,
      id.toString(),
    );
  }

  recordDispatchFailure(id: bigint, error: string, nextAttemptAt: number): void {
    this.sql(`UPDATE requests SET last_error = ?, next_attempt_at = ? WHERE id = ? AND state = ${state("dispatched")}`).run(error, nextAttemptAt, id.toString());
  }

  saveAnswer(id: bigint, answer: ExecuteResponse): void {
    this.sql(`UPDATE requests SET state = ${state("signed")}, answer = ?, last_error = NULL WHERE id = ? AND state IN ${states(DISPATCHABLE_STATES)}`).run(
      JSON.stringify(answer),
      id.toString(),
    );
  }

  readyToSubmit(limit: number): RequestRecord[] {
    return (this.sql(`SELECT * FROM requests WHERE state = ${state("signed")} ORDER BY block_number, log_index LIMIT ?`).all(limit) as unknown as RequestRow[]).map(toRecord);
  }

  markSubmitted(ids: bigint[], txHash: string): void {
    this.transaction(() => {
      const update = this.sql(`UPDATE requests SET state = ${state("submitted")}, submit_tx = ? WHERE id = ? AND state = ${state("signed")}`);
      for (const id of ids) update.run(txHash, id.toString());
    });
  }

  reopenSubmitted(ids: bigint[]): void {
    this.transaction(() => {
      const update = this.sql(`UPDATE requests SET state = ${state("signed")} WHERE id = ? AND state = ${state("submitted")}`);
      for (const id of ids) update.run(id.toString());
    });
  }

  markFailed(id: bigint, reason: string): void {
    this.sql(`UPDATE requests SET state = ${state("failed")}, last_error = ? WHERE id = ? AND state IN ${states(UNSETTLED_STATES)}`).run(reason, id.toString());
  }

  expired(chainTime: bigint, limit: number): RequestRecord[] {
    return (
      this.sql(`SELECT * FROM requests INDEXED BY requests_deadline WHERE state IN ${states(UNSETTLED_STATES)} AND deadline < ? ORDER BY deadline LIMIT ?`).all(
        Number(chainTime),
        limit,
      ) as unknown as RequestRow[]
    ).map(toRecord);
  }

  activeWorkers(): string[] {
    return (this.sql(`SELECT DISTINCT worker FROM requests WHERE state IN ${states(UNSETTLED_STATES)}`).all() as { worker: string }[]).map((r) => r.worker);
  }

  saveTx(tx: TxRecord): void {
    this.sql(
      `INSERT INTO txs (hash, kind, nonce, to_address, data, gas_limit, max_fee, priority_fee, request_ids, sent_at, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET status = excluded.status, sent_at = excluded.sent_at`,
    ).run(
      tx.hash,
      tx.kind,
      tx.nonce,
      tx.to,
      tx.data,
      tx.gasLimit.toString(),
      tx.maxFeePerGas.toString(),
      tx.maxPriorityFeePerGas.toString(),
      JSON.stringify(tx.requestIds.map(String)),
      tx.sentAt,
      tx.status,
    );
  }

  updateTx(hash: string, patch: Partial<Pick<TxRecord, "status" | "blockNumber" | "gasUsed" | "effectiveGasPrice">>): void {
    this.sql(
      `UPDATE txs SET status = COALESCE(?, status), block_number = COALESCE(?, block_number), gas_used = COALESCE(?, gas_used),
       effective_gas_price = COALESCE(?, effective_gas_price) WHERE hash = ?`,
    ).run(
      patch.status ?? null,
      patch.blockNumber ?? null,
      patch.gasUsed?.toString() ?? null,
      patch.effectiveGasPrice?.toString() ?? null,
      hash,
    );
  }

  pendingTxs(): TxRecord[] {
    return (this.sql("SELECT * FROM txs WHERE status = 'pending' ORDER BY nonce, sent_at").all() as unknown as TxRow[]).map(toTx);
  }

  txStats(): { count: number; gasUsed: bigint; feesPaid: bigint } {
    const rows = this.sql("SELECT gas_used, effective_gas_price FROM txs WHERE status IN ('mined', 'reverted')").all() as {
      gas_used: string | null;
      effective_gas_price: string | null;
    }[];
    let gasUsed = 0n;
    let feesPaid = 0n;
    for (const row of rows) {
      const gas = BigInt(row.gas_used ?? 0);
      gasUsed += gas;
      feesPaid += gas * BigInt(row.effective_gas_price ?? 0);
    }
    return { count: rows.length, gasUsed, feesPaid };
  }

  close(): void {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}
