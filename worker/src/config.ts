import { readFileSync } from "node:fs";
import cron from "node-cron";
import { z } from "zod";
import { ConfigError } from "./errors.js";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "0x-prefixed 20-byte address");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "0x-prefixed 32-byte hex");
const uint = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));
const positiveInt = z.number().int().positive();
const url = z.string().url();

/** Hard limits of one agent sandbox run. */
export const LimitsConfig = z
  .object({
    memoryBytes: positiveInt.default(64 * 1024 * 1024),
    stackBytes: positiveInt.default(512 * 1024),
    wallTimeMs: positiveInt.default(10_000),
    maxHostCalls: positiveInt.default(32),
    /** At most the router's MAX_OUTPUT_BYTES (65,536): a longer answer is refused on-chain and would time out. */
    maxOutputBytes: positiveInt.max(65_536).default(64 * 1024),
    maxInputBytes: positiveInt.default(256 * 1024),
    maxFetchResponseBytes: positiveInt.default(1024 * 1024),
    maxLogLines: positiveInt.default(100),
    maxLogLineBytes: positiveInt.default(2048),
    maxCallDepth: z.number().int().min(0).default(3),
    /** Sandbox runs one request may start in all (its own and every nested sub-agent call). */
    maxRunsPerRequest: positiveInt.default(64),
    /** CPU time (engine execution) one request's whole call tree may use, across threads. */
    maxCpuMsPerRequest: positiveInt.default(10_000),
    maxBundleBytes: positiveInt.default(5 * 1024 * 1024),
  })
  .strict();
export type LimitsConfig = z.infer<typeof LimitsConfig>;

const SimulatorEnclave = z
  .object({
    kind: z.literal("simulator"),
    /** Seed of the enclave key; omit for a fresh random key on every start. */
    seed: bytes32.optional(),
  })
  .strict();

const DstackEnclave = z
  .object({
    kind: z.literal("dstack"),
    /** Guest agent endpoint (unix socket path or http URL); default: the SDK's socket discovery. */
    endpoint: z.string().min(1).optional(),
    /** Key derivation path: the same app + path gives the same key across restarts. */
    keyPath: z.string().min(1).default("phala-agent-worker/enclave-key/v1"),
  })
  .strict();

const ChainDirectory = z
  .object({
    kind: z.literal("chain"),
    rpcUrl: url,
    agentRegistry: address,
  })
  .strict();

const FileDirectory = z
  .object({
    kind: z.literal("file"),
    /** JSON file of agents (see worker/README.md); for development and benchmarks. */
    path: z.string().min(1),
    /** The AgentRegistry the file's encrypted secrets were sealed for (their binding); none = secrets refused. */
    agentRegistry: address.optional(),
  })
  .strict();

const cronExpression = z.string().refine((expr) => cron.validate(expr), 'node-cron expression (e.g. "*/5 * * * *")');

/** Attestation to, and cluster-key provisioning from, the gatekeepers (confidential inputs and secrets). */
export const GatekeeperSection = z
  .object({
    /** Base URLs of the gatekeepers asked at start-up and on every refresh. */
    urls: z.array(url).min(1),
    /** GatekeeperQuorumVerifier: the EIP-712 domain of the gatekeepers' signatures. */
    quorumVerifier: address,
    /** When set, every provisioned epoch's public key must equal KeyRegistry.publicKeyOf(epoch) (read through rpcUrl). */
    keyRegistry: address.optional(),
    /** RPC for the KeyRegistry check; default: the chain directory's rpcUrl. */
    rpcUrl: url.optional(),
    /** Fewest valid gatekeeper signatures accepted (set it to the verifier's on-chain threshold). */
    minSignatures: positiveInt,
    /** Re-provisioning schedule: seconds between refreshes, or a node-cron expression. */
    refresh: z.union([positiveInt, cronExpression]).default(300),
    /** Seconds a retired epoch's key is kept past its grace end: the longest a request waits (router requestTimeout). */
    requestLifetimeSlackSeconds: z.number().int().nonnegative().default(600),
    /** Expiry requested for each quorum attestation (must not exceed the gatekeepers' attestationValiditySeconds). */
    attestationValiditySeconds: positiveInt.default(24 * 3600),
  })
  .strict();
export type GatekeeperSection = z.infer<typeof GatekeeperSection>;

export const WorkerConfig = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8090),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** The chain and WorkerRegistry the attestation's report data binds the enclave key to. */
    chainId: uint,
    workerRegistry: address,
    /** The AgentRouter whose pending requests this worker executes (its commitments are checked on-chain). */
    router: address,
    /** RPC of `chainId` for the router's commitments; default: the chain directory's rpcUrl. */
    rpcUrl: url.optional(),
    /** The only operator this worker lets register its key: GET /attestation carries the key's consent for it. */
    operator: address.optional(),
    enclave: z.discriminatedUnion("kind", [SimulatorEnclave, DstackEnclave]),
    directory: z.discriminatedUnion("kind", [ChainDirectory, FileDirectory]),
    limits: LimitsConfig.default({}),
    /**
     * Host patterns agents' fetch may reach: "api.example.com", "*.example.com", "127.0.0.1:8080", "*".
     * Private, loopback and link-local addresses only for hosts listed exactly (not through "*").
     */
    egressAllow: z.array(z.string().min(1)).default([]),
    llm: z
      .object({
        baseUrl: url,
        apiKey: z.string().optional(),
        model: z.string().min(1),
        /** Models agents may ask for (billed to this worker's key); default: only `model`. */
        models: z.array(z.string().min(1)).optional(),
        /** Largest `max_tokens` an agent may ask for; also sent when the agent names none. */
        maxTokens: positiveInt.default(1024),
        timeoutMs: positiveInt.default(60_000),
      })
      .strict()
      .optional(),
    /** Part of maxFee kept back from sub-agent calls (covers the worker fee and gas). */
    feeReserve: uint.default("0"),
    bundleFetchTimeoutMs: positiveInt.default(10_000),
    /** Bundle hosts (exact names or IP literals) allowed to resolve to private/loopback addresses (development). */
    bundleAllowPrivateHosts: z.array(z.string().min(1)).default([]),
    /** Content-addressed bundle store: `<codeHash>.js`, consulted before the URI, filled by verified fetches. */
    bundleCacheDir: z.string().min(1).optional(),
    /** Append-only file of signed answers, so a restarted worker never signs a second answer. */
    answerLogPath: z.string().min(1).optional(),
    /** Cluster keys from the gatekeepers; without it confidential requests and secrets get DECRYPTION_FAILED. */
    gatekeeper: GatekeeperSection.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.rpcUrl === undefined && config.directory.kind !== "chain") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["rpcUrl"], message: "required with a file directory (the router's commitments are read on-chain)" });
    }
    if (config.gatekeeper?.keyRegistry !== undefined && config.gatekeeper.rpcUrl === undefined && config.directory.kind !== "chain") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["gatekeeper", "rpcUrl"], message: "required for the keyRegistry check with a file directory" });
    }
  });
export type WorkerConfig = z.infer<typeof WorkerConfig>;
export type WorkerConfigInput = z.input<typeof WorkerConfig>;

/** Validates a raw config object; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown): WorkerConfig {
  const result = WorkerConfig.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid worker config:\n  ${problems.join("\n  ")}`);
  }
  return result.data;
}

/** Reads a JSON config file, then applies WORKER_* environment overrides for deploy-time values. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`cannot read worker config ${path}: ${(error as Error).message}`);
  }
  if (env.WORKER_PORT !== undefined) raw.port = Number(env.WORKER_PORT);
  if (env.WORKER_HOST !== undefined) raw.host = env.WORKER_HOST;
  if (env.WORKER_LOG_LEVEL !== undefined) raw.logLevel = env.WORKER_LOG_LEVEL;
  if (env.WORKER_LLM_API_KEY !== undefined && typeof raw.llm === "object" && raw.llm !== null) {
    (raw.llm as Record<string, unknown>).apiKey = env.WORKER_LLM_API_KEY;
  }
  return parseConfig(raw);
}
