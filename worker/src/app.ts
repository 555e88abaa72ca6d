import { availableParallelism } from "node:os";
import { pino, type Logger } from "pino";
import { noClusterKey, type InputDecryptor } from "../../protocol/decryptor.js";
import { AnswerBook } from "./answers.js";
import { BundleStore } from "./bundle/cache.js";
import { UriBundleFetcher } from "./bundle/fetcher.js";
import type { WorkerConfig } from "./config.js";
import { ChainRequestCommitments, type RequestCommitments } from "./commitments.js";
import { ChainAgentDirectory, loadAgentFile, type AgentDirectory } from "./directory.js";
import { AgentFetcher, EgressPolicy } from "./egress.js";
import { DstackEnclave } from "./enclave/dstack.js";
import type { Enclave } from "./enclave/enclave.js";
import { SimulatorEnclave } from "./enclave/simulator.js";
import { Executor } from "./executor.js";
import { LlmClient } from "./llm.js";
import { WorkerMetrics } from "./metrics.js";
import { GatekeeperProvisioner, KeyRegistryKeys, type PublishedKeys } from "./provisioning.js";
import { SandboxPool } from "./sandbox/pool.js";
import { WorkerHttpServer } from "./server.js";
import { WorkerService } from "./service.js";
import { FulfillmentSigner } from "./signer.js";

/** Seams the lead (or a test) may replace. */
export interface WorkerOverrides {
  /** Where pending requests are checked (default: config.router over config.rpcUrl). */
  commitments?: RequestCommitments;
  decryptor?: InputDecryptor;
  directory?: AgentDirectory;
  enclave?: Enclave;
  logger?: Logger;
  /** Where provisioned cluster keys are checked against (default: gatekeeper.keyRegistry over RPC). */
  publishedKeys?: PublishedKeys;
  /** Sandbox threads; default: one per core. */
  sandboxThreads?: number;
}

export interface RunningWorker {
  url: string;
  enclave: Enclave;
  service: WorkerService;
  metrics: WorkerMetrics;
  /** Present when the config has a gatekeeper section. */
  gatekeeper?: GatekeeperProvisioner;
  close(): Promise<void>;
}

/** Extra time a silent sandbox thread gets past the wall-time deadline before it is terminated. */
const WATCHDOG_GRACE_MS = 1000;
const BUNDLE_MEMORY_ENTRIES = 256;
/** JSON framing and hex doubling around the input. */
const BODY_OVERHEAD_BYTES = 64 * 1024;

export async function createEnclave(config: WorkerConfig["enclave"]): Promise<Enclave> {
  return config.kind === "simulator" ? new SimulatorEnclave(config.seed) : DstackEnclave.create({ endpoint: config.endpoint, keyPath: config.keyPath });
}

export function createDirectory(config: WorkerConfig["directory"]): AgentDirectory {
  return config.kind === "chain" ? new ChainAgentDirectory(config.rpcUrl, config.agentRegistry) : loadAgentFile(config.path, config.agentRegistry);
}

/** Provisioning from the gatekeepers, when configured: the enclave's keyring and quorum evidence. */
function createProvisioner(
  config: WorkerConfig,
  parts: { enclave: Enclave; logger: Logger; metrics: WorkerMetrics; published?: PublishedKeys },
): GatekeeperProvisioner | undefined {
  const section = config.gatekeeper;
  if (section === undefined) return undefined;
  const rpcUrl = section.rpcUrl ?? (config.directory.kind === "chain" ? config.directory.rpcUrl : undefined);
  // Config validation guarantees an RPC URL whenever keyRegistry is set.
  const published =
    parts.published ?? (section.keyRegistry !== undefined && rpcUrl !== undefined ? new KeyRegistryKeys(rpcUrl, section.keyRegistry) : undefined);
  return new GatekeeperProvisioner({ ...parts, published, config: section, chainId: config.chainId, workerRegistry: config.workerRegistry });
}

/** Builds every part from a validated config and starts the HTTP server. */
export async function startWorker(config: WorkerConfig, overrides: WorkerOverrides = {}): Promise<RunningWorker> {
  const enclave = overrides.enclave ?? (await createEnclave(config.enclave));
  // Every line says whether the enclave is simulated: a simulator must never pass for hardware.
  const logger = (overrides.logger ?? pino({ level: config.logLevel, name: "worker" })).child({
    simulated: enclave.simulated,
    worker: enclave.address,
  });
  const metrics = new WorkerMetrics({ simulated: enclave.simulated, defaultMetrics: overrides.logger === undefined });
  // Attested and provisioned before anything listens: a worker configured for gatekeepers that
  // cannot get their quorum could not register, so it fails to start (ProvisioningError).
  const gatekeeper = createProvisioner(config, { enclave, logger, metrics, published: overrides.publishedKeys });
  await gatekeeper?.refresh();
  try {
    return await startServices(config, overrides, { enclave, logger, metrics, gatekeeper });
  } catch (error) {
    await gatekeeper?.stop();
    throw error;
  }
}

async function startServices(
  config: WorkerConfig,
  overrides: WorkerOverrides,
  parts: { enclave: Enclave; logger: Logger; metrics: WorkerMetrics; gatekeeper: GatekeeperProvisioner | undefined },
): Promise<RunningWorker> {
  const { enclave, logger, metrics, gatekeeper } = parts;
  const pool = await SandboxPool.start({
    threads: overrides.sandboxThreads ?? availableParallelism(),
    graceMs: WATCHDOG_GRACE_MS,
    onRecycle: (reason) => {
      metrics.threadRecycles.inc({ reason });
      logger.warn({ reason }, "sandbox thread replaced");
    },
  });
  const bundles = new BundleStore(
    new UriBundleFetcher({
      maxBytes: config.limits.maxBundleBytes,
      timeoutMs: config.bundleFetchTimeoutMs,
      allowPrivateHosts: config.bundleAllowPrivateHosts,
    }),
    {
      maxEntries: BUNDLE_MEMORY_ENTRIES,
      dir: config.bundleCacheDir,
      onHit: (tier) => metrics.bundleLoads.inc({ tier }),
    },
  );
  const executor = new Executor({
    runner: pool,
    directory: overrides.directory ?? createDirectory(config.directory),
    bundles,
    chainId: config.chainId,
    decryptor: overrides.decryptor ?? gatekeeper?.keyring ?? noClusterKey,
    fetcher: new AgentFetcher(new EgressPolicy(config.egressAllow), config.limits.maxFetchResponseBytes),
    llm: new LlmClient(config.llm),
    limits: config.limits,
    feeReserve: config.feeReserve,
    logger,
    metrics,
  });
  const rpcUrl = config.rpcUrl ?? (config.directory.kind === "chain" ? config.directory.rpcUrl : undefined);
  // Config validation guarantees an RPC URL.
  const commitments = overrides.commitments ?? new ChainRequestCommitments(rpcUrl!, config.router, Date.now, config.chainId);
  const service = new WorkerService({
    enclave,
    commitments,
    executor,
    signer: new FulfillmentSigner(enclave),
    answers: new AnswerBook(config.answerLogPath),
    metrics,
    logger,
    chainId: config.chainId,
    workerRegistry: config.workerRegistry,
    operator: config.operator,
    gatekeeper,
  });
  const server = new WorkerHttpServer(service, metrics, logger, config.limits.maxInputBytes * 2 + BODY_OVERHEAD_BYTES);
  const address = await server.listen(config.port, config.host);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  logger.info({ port: address.port, host: address.address }, enclave.simulated ? "worker started (SIMULATED enclave: not a TEE)" : "worker started");
  gatekeeper?.start();
  return {
    url: `http://${host}:${address.port}`,
    enclave,
    service,
    metrics,
    gatekeeper,
    async close() {
      await gatekeeper?.stop();
      await server.close();
      await pool.close();
    },
  };
}
