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
    reply = { ok: false, message: String(error && error.message || error), code: error && error.code, detail: error && error.detail };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

/** BRIDGE_PG_TRACE_MS: calls slower than this many ms are written to stderr with their statements (diagnosis). */
const TRACE_MS = process.env.BRIDGE_PG_TRACE_MS ? Number(process.env.BRIDGE_PG_TRACE_MS) : undefined;

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
    const deferred = this.deferredSource();
    const started = TRACE_MS === undefined ? 0 : performance.now();
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
      process.stderr.write(`store call ${Math.round(performance.now() - started)} ms: ${[...deferred, ...statements].map((s) => s.text.replace(/\s+/g, " ").slice(0, 90)).join(" | ")}\n`);
    if (!reply.ok) throw new PgError(reply.message, reply.code, reply.detail);
    for (const failure of reply.failed) this.onDeferredFailure(failure);
    return reply.results as QueryResult<Record<string, unknown>>[];
  }

  query<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Row[] {
    return this.batch([{ text, values }])[0]!.rows as Row[];
  }

  /** Runs `fn` between BEGIN and COMMIT (ROLLBACK when it throws). */
  transaction<T>(fn: () => T): T {
    this.query("BEGIN");
    try {
      const result = fn();
      this.query("COMMIT");
      return result;
    } catch (error) {
      if (!this.closed) this.query("ROLLBACK");
      throw error;
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
