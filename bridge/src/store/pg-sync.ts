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

type Reply = { ok: true; results: QueryResult<unknown>[] } | { ok: false; message: string; code?: string; detail?: string };

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
port.on("message", async (statements) => {
  let reply;
  try {
    await ready;
    const results = [];
    for (const s of statements) {
      const r = await client.query({ text: s.text, values: s.values });
      results.push({ rows: r.rows, rowCount: r.rowCount ?? 0 });
    }
    reply = { ok: true, results };
  } catch (error) {
    reply = { ok: false, message: String(error && error.message || error), code: error && error.code, detail: error && error.detail };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

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
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(statements);
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === "timed-out") {
      this.close();
      throw new StoreError("Postgres did not answer", { details: `no reply within ${this.timeoutMs} ms; the connection is closed` });
    }
    const message = receiveMessageOnPort(this.port);
    if (!message) throw new StoreError("Postgres worker replied without a message");
    const reply = message.message as Reply;
    if (!reply.ok) throw new PgError(reply.message, reply.code, reply.detail);
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
  }
}
