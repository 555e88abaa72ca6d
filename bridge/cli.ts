#!/usr/bin/env node
import "./v8-memory.js";
import { Command, InvalidArgumentError } from "commander";
import { Bridge } from "./src/bridge.js";
import { loadConfig, type BridgeConfig } from "./src/config.js";
import { BridgeError, errorMessage } from "./src/errors.js";
import { openStore } from "./src/store/open-store.js";
import { REQUEST_STATES, type RequestState } from "./src/store/store.js";

const json = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);

function config(options: { config?: string }): BridgeConfig {
  return loadConfig(options.config ?? process.env.BRIDGE_CONFIG);
}

function parseState(value: string): RequestState {
  if (!(REQUEST_STATES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${REQUEST_STATES.join(", ")}`);
  return value as RequestState;
}

const program = new Command()
  .name("bridge")
  .description("Relays AgentRouter requests to TEE workers and their signed answers back on-chain")
  .option("-c, --config <file>", "JSON config file (env BRIDGE_CONFIG); BRIDGE_* env vars override it");

program
  .command("start")
  .description("run the bridge until SIGINT/SIGTERM")
  .action(async () => {
    const bridge = await Bridge.create(config(program.opts()));
    const shutdown = (signal: string) => {
      bridge.log.info({ event: "signal", signal }, "shutting down");
      bridge.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          bridge.log.error({ err: errorMessage(error) }, "unclean shutdown");
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    // Serves /healthz at once, then keeps retrying the chain until it answers.
    await bridge.start();
    // The bridge stops itself when another instance took its relayer key (RELAYER_IN_USE).
    const halted = await bridge.finished;
    if (halted) {
      console.error(`bridge: ${halted.code}: ${halted.message}`);
      process.exit(1);
    }
  });

program
  .command("status")
  .description("print cursor, request counts by state and transaction totals from the store")
  .action(async () => {
    const store = await openStore(config(program.opts()));
    try {
      console.log(
        json({
          cursor: (await store.cursor()) ?? null,
          requests: await store.counts(),
          failover: await store.failoverStats(),
          pendingTransactions: (await store.unfinishedTxs()).length,
          transactions: await store.txStats(),
        }),
      );
    } finally {
      await store.close();
    }
  });

/** A unix deadline as a time and its distance from now. */
function deadlineText(deadline: bigint, nowMs = Date.now()): string {
  const seconds = Number(deadline) - Math.floor(nowMs / 1000);
  return `${new Date(Number(deadline) * 1000).toISOString()} (${seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`})`;
}

program
  .command("requests")
  .description("list stored requests, newest first")
  .option("-s, --state <state>", `filter: ${REQUEST_STATES.join("|")}`, parseState)
  .option("-n, --limit <n>", "at most n rows", (v) => Number.parseInt(v, 10), 50)
  .action(async (options: { state?: RequestState; limit: number }) => {
    const store = await openStore(config(program.opts()));
    try {
      // The store lists oldest first: take the last `limit` rows and turn them around.
      const counts = await store.counts();
      const total = options.state ? counts[options.state] : Object.values(counts).reduce((a, b) => a + b, 0);
      const offset = Math.max(0, total - options.limit);
      const rows = (await store.list({ state: options.state, limit: options.limit, offset })).reverse().map((r) => ({
        id: r.id,
        state: r.state,
        worker: r.request.worker,
        // Failover: the backup the request was handed over to (its rank), and whose answer settled it.
        ...(r.rank > 0 && { backup: { rank: r.rank, worker: r.assignee } }),
        answeredBy: r.answeredBy,
        block: r.block.number,
        deadline: deadlineText(r.request.deadline),
        attempts: r.attempts,
        lastError: r.lastError,
        fulfilTx: r.fulfilTx,
        timeoutTx: r.timeoutTx,
        settleTx: r.settleTx,
      }));
      console.log(json(rows));
    } finally {
      await store.close();
    }
  });

program
  .command("sweep")
  .description("scan once and time out every expired unsettled request (refund + slash), then exit")
  .action(async () => {
    const bridge = await Bridge.create({ ...config(program.opts()), http: { host: "127.0.0.1", port: 0, enabled: false } }, { background: false });
    await bridge.start();
    try {
      await bridge.runOnce();
      const sent = await bridge.sweep();
      await bridge.submitter.tick(0n);
      console.log(json({ timeoutsSent: sent }));
    } finally {
      await bridge.stop();
    }
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof BridgeError) {
    console.error(`bridge: ${error.code}: ${error.message}`);
  } else {
    console.error(`bridge: ${errorMessage(error)}`);
  }
  process.exit(1);
});
