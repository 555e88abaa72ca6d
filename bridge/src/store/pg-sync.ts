import { createRequire } from "node:module";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
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

type Reply = { ok: true; results: QueryResult<unknown>[]; failed: string[] } | { ok: false; message: string; code?: string; detail?: string };

/**
 * The worker thread: one `pg` connection, statements run one call at a time. A call is a list of
 * statements sent in one message (one wake-up, no round trip between them), so a store method that
 * knows all its statements up front pays one hop. int8 (COUNT, unix ms) is parsed as a number.
 */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const pg = require(workerData.pgPath);
pg.types.setTypeParser(20, (v) => Number(v));
const { port, flag, url, applicationName } = workerData;
const client = new pg.Client({ connectionString: url, application_name: applicationName });
let ready = client.connect();
client.on("error", () => {});
port.on("message", async ({ deferred, statements }) => {
  let reply;
  const failed = [];
  try {
    await ready;
    // Deferred writes first, in one transaction; failing, they are reported, not allowed to stop the call they rode with.
    if (deferred.length > 0) {
      try {
        await client.query("BEGIN");
        for (const s of deferred) await client.query({ text: s.text, values: s.values });
        await client.query("COMMIT");
      } catch (error) {
        failed.push(String(error && error.message || error));
        await client.query("ROLLBACK").catch(() => {});
      }
    }
    const results = [];
    for (const s of statements) {
      const r = await client.query({ text: s.text, values: s.values });
      results.push({ rows: r.rows, rowCount: r.rowCount ?? 0 });
    }
    reply = { ok: true, results, failed };
  } catch (error) {
    // A statement failed inside a transaction the call opened (or an enclosing one): end it here,
    // so the connection is usable at once (outside a transaction ROLLBACK only warns).
    await client.query("ROLLBACK").catch(() => {});
    reply = { ok: false, message: String(error && error.message || error), code: error && error.code, detail: error && error.detail };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

/** BRIDGE_PG_TRACE_MS: calls slower than this many ms are written to stderr with their statements (diagnosis). */
const TRACE_MS = process.env.BRIDGE_PG_TRACE_MS ? Number(process.env.BRIDGE_PG_TRACE_MS) : undefined;
/** BRIDGE_PG_STATS=1: round trips counted and timed by their first statement, written to stderr every 5 s (diagnosis). */
const STATS = process.env.BRIDGE_PG_STATS === "1";

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

/**
 * A synchronous Postgres connection: the bridge's store interface is synchronous (node:sqlite), so
 * the `pg` client runs in a worker thread and each call blocks on an Atomics wait until the answer
 * is back, as a node:sqlite call blocks on its file. The event loop is held for the round trip
 * (~0.2-1 ms on a local server), which is what one SQLite statement costs on a busy disk too.
 */
export class SyncPg {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;
  private inTransaction = false;
  private flushTimer?: NodeJS.Timeout;
  /** Writes nobody waits for (`defer`): collected by their owner and sent ahead of the next call. */
  deferredSource: () => Statement[] = () => [];
  /** Deferred writes that failed (logged by the owner through `onDeferredFailure`). */
  onDeferredFailure: (message: string) => void = (message) => process.emitWarning(`deferred store write failed: ${message}`, "BridgeStoreWarning");

  constructor(
    url: string,
    private readonly timeoutMs = 30_000,
    applicationName = "bridge",
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const pgPath = createRequire(import.meta.url).resolve("pg");
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: port2, flag: this.flag, url, pgPath, applicationName },
      transferList: [port2],
    });
    this.worker.unref();
  }

  /** Runs the statements in order on the connection (not as a transaction unless they say so); results in order. */
  batch(statements: Statement[]): QueryResult<Record<string, unknown>>[] {
    if (this.closed) throw new StoreError("Postgres store is closed");
    // Not inside `transaction`: the deferred writes' own BEGIN/COMMIT would commit it half-way.
    const deferred = this.inTransaction ? [] : this.deferredSource();
    const started = TRACE_MS === undefined && !STATS ? 0 : performance.now();
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ deferred, statements });
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === "timed-out") {
      this.close();
      throw new StoreError("Postgres did not answer", { details: `no reply within ${this.timeoutMs} ms; the connection is closed` });
    }
    const message = receiveMessageOnPort(this.port);
    if (!message) throw new StoreError("Postgres worker replied without a message");
    const reply = message.message as Reply;
    if (TRACE_MS !== undefined && performance.now() - started > TRACE_MS)
      process.stderr.write(
        `store call ${Math.round(performance.now() - started)} ms: ${[...deferred, ...statements].map((s) => s.text.replace(/\s+/g, " ").slice(0, 90)).join(" | ")}\n`,
      );
    if (STATS) this.count([...deferred, ...statements], performance.now() - started);
    if (!reply.ok) throw new PgError(reply.message, reply.code, reply.detail);
    for (const failure of reply.failed) this.onDeferredFailure(failure);
    return reply.results as QueryResult<Record<string, unknown>>[];
  }

  private stats?: { since: number; calls: Map<string, { n: number; ms: number }> };

  private count(statements: Statement[], ms: number): void {
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
      `pg stats ${Math.round(elapsed)} ms: ${calls} calls, ${Math.round(total)} ms waiting\n` +
        rows
          .slice(0, 15)
          .map(([k, e]) => `  ${String(e.n).padStart(6)} ${e.ms.toFixed(0).padStart(6)} ms ${(e.ms / e.n).toFixed(2).padStart(6)} ms/call  ${k}`)
          .join("\n") +
        "\n",
    );
    this.stats = undefined;
  }

  query<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Row[] {
    return this.batch([{ text, values }])[0]!.rows as Row[];
  }

  /**
   * The statements as one database transaction in one round trip (BEGIN and COMMIT travel with
   * them; a failing statement rolls it back); their results in order.
   */
  atomic(statements: Statement[]): QueryResult<Record<string, unknown>>[] {
    return this.batch([{ text: "BEGIN" }, ...statements, { text: "COMMIT" }]).slice(1, -1);
  }

  /**
   * A database transaction in two round trips: BEGIN travels with `first` (e.g. rows locked and
   * read), `then` decides from their results what to write, and COMMIT travels with that. ROLLBACK
   * when `then` or a statement throws.
   */
  split<T>(
    first: Statement[],
    then: (opened: QueryResult<Record<string, unknown>>[]) => { commit: Statement[]; result: (committed: QueryResult<Record<string, unknown>>[]) => T },
  ): T {
    const opened = this.batch([{ text: "BEGIN" }, ...first]).slice(1);
    this.inTransaction = true;
    try {
      const { commit, result } = then(opened);
      return result(this.batch([...commit, { text: "COMMIT" }]).slice(0, -1));
    } catch (error) {
      if (!this.closed) this.query("ROLLBACK");
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  /** Runs `fn` between BEGIN and COMMIT (ROLLBACK when it throws). */
  transaction<T>(fn: () => T): T {
    this.query("BEGIN");
    this.inTransaction = true;
    try {
      const result = fn();
      this.query("COMMIT");
      return result;
    } catch (error) {
      if (!this.closed) this.query("ROLLBACK");
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * Writes whose results nobody waits for (`deferredSource`) go with the next call (which sees
   * them: the same connection runs them first, in one transaction) or within `flushMs`, whichever
   * comes first: one round trip for many. A crash may lose them, as SQLite's synchronous=NORMAL may
   * lose the last commits: only for writes that are safe to lose (progress that is redone).
   */
  scheduleFlush(flushMs = 10): void {
    if (this.closed || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.closed) return;
      try {
        this.batch([]);
      } catch (error) {
        this.onDeferredFailure(String(error));
      }
    }, flushMs);
    this.flushTimer.unref?.();
  }

  close(): void {
    if (this.closed) return;
    try {
      this.batch([]);
    } catch {
      // closing anyway; deferred writes are of the kind that is redone
    }
    clearTimeout(this.flushTimer);
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
  }
}
