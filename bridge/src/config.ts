import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "./errors.js";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte private key");

export const BridgeConfigSchema = z
  .object({
    rpcUrl: z.string().url(),
    /** Per-call JSON-RPC timeout (a hung node must not hold a loop for longer). */
    rpcTimeoutMs: z.number().int().positive().default(10_000),
    /** A JSON-RPC call unanswered this long (or failed without an answer) is sent once more; the first answer wins. */
    rpcHedgeMs: z.number().int().positive().default(2_000),
    router: address,
    /** Optional: enables the attestation expiry check (WorkerRegistry.isActive). */
    workerRegistry: address.optional(),
    /** Key of the account that pays gas for fulfil/timeout transactions. */
    privateKey,
    /** Store location; ":memory:" for tests. */
    dbPath: z.string().min(1).default("bridge.sqlite"),
    /**
     * The store: SQLite at `dbPath` (default), or PostgreSQL for a fleet of instances sharing one
     * database, each with its own `privateKey`; a request claimed by an instance is leased to it for
     * `leaseMs`, after which a dead instance's work is taken over.
     */
    store: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("sqlite") }).strict(),
        z
          .object({
            kind: z.literal("postgres"),
            url: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection URL"),
            leaseMs: z.number().int().min(100).default(30_000),
            statementTimeoutMs: z.number().int().positive().default(30_000),
            /** Connections this instance keeps at most: its stages' store calls run side by side on them. */
            poolSize: z.number().int().min(1).max(100).default(8),
          })
          .strict(),
      ])
      .default({ kind: "sqlite" }),
    /** First block to scan when the store has no cursor yet. */
    startBlock: z.number().int().nonnegative().default(0),
    /** Blocks an AgentRequested event must be buried under before it is dispatched. */
    confirmations: z.number().int().nonnegative().default(2),
    /**
     * On a chain that mines only on transactions (Hardhat's or anvil's automine, detected at start),
     * a head idle this long confirms its requests without `confirmations` more blocks.
     */
    idleConfirmMs: z.number().int().nonnegative().default(2_000),
    pollIntervalMs: z.number().int().positive().default(500),
    /** Largest eth_getLogs block range per call. */
    maxLogRange: z.number().int().positive().default(2_000),
    /** Block hashes kept to find the common ancestor after a reorg. */
    reorgHistory: z.number().int().positive().default(256),
    /** worker address (lower or mixed case) -> HTTP endpoints, primary first, then replicas. */
    workers: z.record(z.string(), z.array(z.string().url()).min(1)).default({}),
    dispatch: z
      .object({
        timeoutMs: z.number().int().positive().default(10_000),
        /** Worker calls in flight at once, all workers together... */
        concurrency: z.number().int().positive().default(64),
        /** ...and per worker, so a hung worker holds only its own share. */
        perWorkerConcurrency: z.number().int().positive().default(32),
        /** Consecutive failed attempts that open a worker's circuit (no calls but one probe per cooldown). */
        breakerThreshold: z.number().int().positive().default(5),
        breakerCooldownMs: z.number().int().positive().default(1_000),
        breakerMaxCooldownMs: z.number().int().positive().default(8_000),
        /** Earliest a replica endpoint is hedged in (otherwise 2x the worker's p95 latency, at most timeoutMs/4). */
        hedgeMinMs: z.number().int().positive().default(200),
        backoffBaseMs: z.number().int().positive().default(500),
        backoffMaxMs: z.number().int().positive().default(30_000),
      })
      .default({}),
    submit: z
      .object({
        maxBatchSize: z.number().int().positive().default(200),
        /**
         * Transactions sent and not yet mined at once (pipelined nonces; geth guarantees an account
         * 16 executable pool slots)...
         */
        maxInFlight: z.number().int().positive().default(16),
        /**
         * ...and the gas they may hold together: what the next blocks can include (two blocks of a
         * 30M-gas chain). A 64 KiB answer travels alone in a ~2.7M-gas transaction (EIP-7623 floor),
         * so a count of 4 held such answers to 4 per block where a block takes 11.
         */
        maxInFlightGas: z.number().int().positive().default(60_000_000),
        /** A transaction unmined for this long is re-sent with the same nonce and higher fees. */
        gasBumpAfterMs: z.number().int().positive().default(30_000),
        gasBumpPercent: z.number().int().min(10).default(15),
        /** An unmined transaction is offered to the node again after this long (nodes drop transactions). */
        rebroadcastAfterMs: z.number().int().positive().default(10_000),
        /** How long a nonce the chain has used may lack a receipt of ours before its transactions are abandoned. */
        missingReceiptGraceMs: z.number().int().positive().default(15_000),
        /** Upper bound on maxFeePerGas (wei, decimal string); bumps stop there. */
        maxFeePerGas: z.string().regex(/^\d+$/).default("500000000000"),
        /** Gas a fulfilment may use on top of its callback gas limit (signature check, settlement, event). */
        gasPerFulfillment: z.number().int().positive().default(80_000),
        /** Gas a timeoutBatch entry may use (refund, slash through staking, events; ~115,000 measured with StakingHub). */
        gasPerTimeout: z.number().int().positive().default(250_000),
        /** Gas limit of one fulfilBatch / timeoutBatch transaction; batches are cut to fit (2^24, the per-tx cap of recent forks). */
        maxTxGas: z.number().int().positive().default(16_777_216),
        /** Largest fulfilBatch calldata in bytes; batches are cut to fit (geth's pool refuses transactions over 128 KiB). */
        maxTxBytes: z.number().int().positive().default(120_000),
        /**
         * An answer whose deadline is less than this far past the chain's head may expire before
         * its transaction is mined; one expired entry reverts a whole fulfillBatch, so such an
         * answer is sent in a transaction of its own (two 12 s slots).
         */
        deadlineMarginSeconds: z.number().int().min(0).default(24),
      })
      .default({}),
    schedule: z
      .object({
        /** node-cron expressions (6 fields = with seconds). */
        sweep: z.string().default("*/10 * * * * *"),
        retryStuck: z.string().default("*/15 * * * * *"),
        /** Checks that the store holds every request the router holds, and settles what it missed. */
        reconcile: z.string().default("*/30 * * * * *"),
        attestation: z.string().default("0 */5 * * * *"),
      })
      .default({}),
    /** Timeout sweeps: also sweep requests of other bridges' workers (anyone may call timeout). */
    sweepAll: z.boolean().default(true),
    http: z
      .object({
        host: z.string().default("127.0.0.1"),
        /** 0 picks a free port. */
        port: z.number().int().min(0).max(65_535).default(9464),
        enabled: z.boolean().default(true),
      })
      .default({}),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict();

export type BridgeConfig = z.infer<typeof BridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;

/** Validates a config object; every problem is listed in one ConfigError. */
export function parseConfig(input: unknown): BridgeConfig {
  const result = BridgeConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  - ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError("invalid bridge configuration", { details: `\n${problems.join("\n")}` });
  }
  const workers: Record<string, string[]> = {};
  for (const [worker, urls] of Object.entries(result.data.workers)) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(worker)) throw new ConfigError("invalid bridge configuration", { details: `workers key ${worker} is not an address` });
    workers[worker.toLowerCase()] = urls;
  }
  return { ...result.data, workers };
}

/** Environment variables override the file, so secrets need not live in it. */
const ENV_OVERRIDES: Record<string, (c: Record<string, unknown>, v: string) => void> = {
  BRIDGE_RPC_URL: (c, v) => (c.rpcUrl = v),
  BRIDGE_ROUTER: (c, v) => (c.router = v),
  BRIDGE_PRIVATE_KEY: (c, v) => (c.privateKey = v),
  BRIDGE_DB: (c, v) => (c.dbPath = v),
  BRIDGE_POSTGRES_URL: (c, v) => (c.store = { ...(c.store as object | undefined), kind: "postgres", url: v }),
  BRIDGE_LOG_LEVEL: (c, v) => (c.logLevel = v),
  BRIDGE_CONFIRMATIONS: (c, v) => (c.confirmations = Number(v)),
  BRIDGE_HTTP_PORT: (c, v) => (c.http = { ...(c.http as object | undefined), port: Number(v) }),
};

export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${path}`, { cause: error });
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`config file ${path} is not valid JSON`, { cause: error });
    }
  }
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== "") apply(raw, value);
  }
  return parseConfig(raw);
}
