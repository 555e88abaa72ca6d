import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { StoreError } from "../errors.js";

/** One statement and its parameters (`$1`, `$2`, ...). */
export interface Statement {
  text: string;
  values?: unknown[];
}

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

type Rows = QueryResult<Record<string, unknown>>[];

/** BRIDGE_PG_TRACE_MS: calls slower than this many ms are written to stderr with their statements (diagnosis). */
const TRACE_MS = process.env.BRIDGE_PG_TRACE_MS ? Number(process.env.BRIDGE_PG_TRACE_MS) : undefined;
/** BRIDGE_PG_STATS=1: calls counted and timed by their first statement, written to stderr every 5 s (diagnosis). */
const STATS = process.env.BRIDGE_PG_STATS === "1";

/** int8 (COUNT, unix ms) as a number: every int8 the store reads fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** A Postgres error as the server reported it (`code` is the SQLSTATE). */
export class PgError extends StoreError {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    detail?: string,
  ) {
    super(message, { details: [sqlState && `SQLSTATE ${sqlState}`, detail].filter(Boolean).join(": ") || undefined });
  }
}

function pgError(error: unknown): PgError {
  const e = error as { message?: string; code?: string; detail?: string };
  return new PgError(String(e?.message ?? error), e?.code, e?.detail);
}

/**
 * The Postgres store's connection: a `pg` Pool, every call asynchronous, so a bridge instance's
 * stages (watcher, dispatcher, submitter, sweeper) overlap their database round trips instead of
 * queueing behind one another on the event loop.
 *
 * - `batch` runs statements in order on one pooled connection (not as a transaction unless they
 *   say so); `atomic` wraps them in BEGIN/COMMIT; `split` and `transaction` hold one connection for
 *   a transaction whose later statements depend on earlier results. Inside `transaction` every call
 *   of this object runs on the transaction's connection (AsyncLocalStorage), so code written
 *   against `query`/`batch` is transactional when called from inside it.
 * - Deferred writes (`deferredSource`, progress that is safe to lose in a crash) are sent in one
 *   transaction ahead of any call made after they were deferred, and within `flushMs` otherwise:
 *   a caller that awaits a call started after its deferred write reads that write.
 */
export class PgPool {
  private readonly pool: pg.Pool;
  private readonly scope = new AsyncLocalStorage<pg.PoolClient>();
  private closed = false;
  private flushTimer?: NodeJS.Timeout;
  /** The deferred writes in flight, chained: a call waits for every flush started before it. */
  private flushed: Promise<void> = Promise.resolve();
  /** Writes nobody waits for (`defer`): collected by their owner and sent ahead of the next call. */
  deferredSource: () => Statement[] = () => [];
  /** Deferred writes that failed (logged by the owner through `onDeferredFailure`). */
  onDeferredFailure: (message: string) => void = (message) => process.emitWarning(`deferred store write failed: ${message}`, "BridgeStoreWarning");

  constructor(url: string, options: { timeoutMs?: number; applicationName?: string; size?: number } = {}) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.pool = new pg.Pool({
      connectionString: url,
      application_name: options.applicationName ?? "bridge",
      max: options.size ?? 8,
      types: TYPES,
      // The server ends a statement running past the timeout; the client gives up on an unanswered one.
      statement_timeout: timeoutMs,
      query_timeout: timeoutMs + 1_000,
      connectionTimeoutMillis: timeoutMs,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection's error (server restart): the pool drops it and opens another on demand.
    this.pool.on("error", () => {});
  }

  /** Whether the caller runs inside `transaction` (its connection). */
  get inTransaction(): boolean {
    return this.scope.getStore() !== undefined;
  }

  private async run(client: pg.PoolClient, statements: Statement[]): Promise<Rows> {
    const results: Rows = [];
    for (const s of statements) {
      const r = await client.query({ text: s.text, values: s.values });
      results.push({ rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0 });
    }
    return results;
  }

  /** Deferred writes taken now, sent after those already in flight. */
  flush(): Promise<void> {
    const deferred = this.deferredSource();
    if (deferred.length === 0) return this.flushed;
    this.flushed = this.flushed.then(async () => {
      const client = await this.pool.connect().catch((error: unknown) => {
        this.onDeferredFailure(String(error));
      });
      if (!client) return;
      let broken = false;
      try {
        await this.run(client, [{ text: "BEGIN" }, ...deferred, { text: "COMMIT" }]);
      } catch (error) {
        this.onDeferredFailure(String((error as Error)?.message ?? error));
        await client.query("ROLLBACK").catch(() => (broken = true));
      } finally {
        client.release(broken);
      }
    });
    return this.flushed;
  }

  /** Runs the statements in order on one connection (not as a transaction unless they say so); results in order. */
  async batch(statements: Statement[]): Promise<Rows> {
    if (this.closed) throw new StoreError("Postgres store is closed");
    const own = this.scope.getStore();
    const started = TRACE_MS === undefined && !STATS ? 0 : performance.now();
    try {
      if (own) return await this.run(own, statements).catch((error: unknown) => Promise.reject(pgError(error)));
      // Outside a transaction: this instance's deferred writes land first (not inside one: a
      // transaction holding row locks would wait for a flush that waits for those locks).
      await this.flush();
      const client = await this.pool.connect().catch((error: unknown) => Promise.reject(pgError(error)));
      let broken = false;
      try {
        return await this.run(client, statements);
      } catch (error) {
        // A statement failed inside a transaction the call opened: end it here, so the connection
        // goes back to the pool usable (outside a transaction ROLLBACK only warns).
        await client.query("ROLLBACK").catch(() => (broken = true));
        throw pgError(error);
      } finally {
        client.release(broken);
      }
    } finally {
      if (started) this.trace(statements, performance.now() - started);
    }
  }

  async query<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.batch([{ text, values }]))[0]!.rows as Row[];
  }

  /** The statements as one database transaction (BEGIN and COMMIT sent with them; a failing statement rolls it back); their results in order. */
  async atomic(statements: Statement[]): Promise<Rows> {
    if (this.inTransaction) return this.batch(statements);
    return (await this.batch([{ text: "BEGIN" }, ...statements, { text: "COMMIT" }])).slice(1, -1);
  }

  /**
   * A database transaction in two steps: `first` (e.g. rows locked and read), then `then` decides
   * from their results what to write, and COMMIT goes with that. ROLLBACK when `then` or a
   * statement throws.
   */
  split<T>(
    first: Statement[],
    then: (opened: Rows) => Promise<{ commit: Statement[]; result: (committed: Rows) => T }> | { commit: Statement[]; result: (committed: Rows) => T },
  ): Promise<T> {
    return this.transaction(async () => {
      const { commit, result } = await then(await this.batch(first));
      return result(await this.batch(commit));
    });
  }

  /** Runs `fn` between BEGIN and COMMIT on one connection (ROLLBACK when it throws); every call of this object inside `fn` uses that connection. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    if (this.closed) throw new StoreError("Postgres store is closed");
    await this.flush();
    const client = await this.pool.connect().catch((error: unknown) => Promise.reject(pgError(error)));
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await this.scope.run(client, fn);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      // The caller's own errors (fencing's LeaseLostError) pass unchanged; the server's are typed.
      throw error instanceof pg.DatabaseError ? pgError(error) : error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Writes whose results nobody waits for (`deferredSource`) go ahead of the next call or within
   * `flushMs`, whichever comes first: one round trip for many. A crash may lose them, as SQLite's
   * synchronous=NORMAL may lose the last commits: only for writes that are safe to lose (progress
   * that is redone).
   */
  scheduleFlush(flushMs = 10): void {
    if (this.closed || this.flushTimer) return;
    // Outside any transaction's scope: the timer would otherwise inherit a connection released by then.
    this.flushTimer = this.scope.exit(() =>
      setTimeout(() => {
        this.flushTimer = undefined;
        if (!this.closed) void this.flush();
      }, flushMs),
    );
    this.flushTimer.unref?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.flushTimer);
    // Deferred writes are of the kind that is redone: sent if the server answers, dropped otherwise.
    await this.flush().catch(() => {});
    this.closed = true;
    await this.pool.end().catch(() => {});
  }

  private stats?: { since: number; calls: Map<string, { n: number; ms: number }> };

  private trace(statements: Statement[], ms: number): void {
    const text = statements.map((s) => s.text.replace(/\s+/g, " ").slice(0, 90)).join(" | ");
    if (TRACE_MS !== undefined && ms > TRACE_MS) process.stderr.write(`store call ${Math.round(ms)} ms: ${text}\n`);
    if (!STATS) return;
    const key =
      statements
        .map((s) => s.text.replace(/\s+/g, " ").slice(0, 40))
        .join(" | ")
        .slice(0, 120) || "(flush)";
    this.stats ??= { since: performance.now(), calls: new Map() };
    const entry = this.stats.calls.get(key) ?? { n: 0, ms: 0 };
    entry.n++;
    entry.ms += ms;
    this.stats.calls.set(key, entry);
    const elapsed = performance.now() - this.stats.since;
    if (elapsed < 5_000) return;
    const rows = [...this.stats.calls].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((sum, [, e]) => sum + e.ms, 0);
    const calls = rows.reduce((sum, [, e]) => sum + e.n, 0);
    process.stderr.write(
      `pg stats ${Math.round(elapsed)} ms: ${calls} calls, ${Math.round(total)} ms in calls (overlapping)\n` +
        rows
          .slice(0, 15)
          .map(([k, e]) => `  ${String(e.n).padStart(6)} ${e.ms.toFixed(0).padStart(6)} ms ${(e.ms / e.n).toFixed(2).padStart(6)} ms/call  ${k}`)
          .join("\n") +
        "\n",
    );
    this.stats = undefined;
  }
}
