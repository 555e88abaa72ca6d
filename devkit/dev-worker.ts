import { JsonRpcProvider, keccak256, toUtf8Bytes, type ContractRunner, type Provider } from "ethers";
import { pino, type Logger } from "pino";
import type { InputDecryptor } from "../protocol/decryptor.js";
import { ChainRequestCommitments, type RequestCommitments } from "../worker/src/commitments.js";
import { ChainAgentDirectory, type AgentDirectory } from "../worker/src/directory.js";
import { startWorker, type RunningWorker } from "../worker/src/app.js";
import type { WorkerAttestation } from "../protocol/worker-api.js";
import { SimulatorEnclave } from "../worker/src/enclave/simulator.js";
import { parseConfig as parseWorkerConfig, type WorkerConfigInput } from "../worker/src/config.js";

/**
 * Seed of development worker `n`'s enclave key: public, so a test running against a fork of a
 * local network can answer requests assigned to that network's workers. Simulated enclaves only.
 */
export function devWorkerSeed(n: number): string {
  return keccak256(toUtf8Bytes(`phala-agent-devkit simulated worker ${n} (public development key)`));
}

export interface DevWorkerOptions {
  seed: string;
  chainId: bigint;
  workerRegistry: string;
  agentRegistry: string;
  /** The router whose pending requests it executes (their commitments are checked on-chain). */
  router: string;
  /** Content-addressed bundle store `<codeHash>.js` it reads before any URI. */
  bundleStore?: string;
  /** Replaces the on-chain commitment check (agent:run, which has no chain). */
  commitments?: RequestCommitments;
  /** Where the worker reads the AgentRegistry: an RPC URL, or a provider (an in-process network). */
  rpc?: string | ContractRunner;
  /** Agents from elsewhere than a chain (agent:run); replaces the chain directory. */
  directory?: AgentDirectory;
  /** Opens confidential inputs and agents' secrets (default: none can be opened). */
  decryptor?: InputDecryptor;
  /** The operator the enclave key consents to be registered by (in its attestation). */
  operator?: string;
  port?: number;
  logger?: Logger;
  /** Hosts agents may fetch (worker `egressAllow`). */
  egressAllow?: string[];
  llm?: WorkerConfigInput["llm"];
  limits?: WorkerConfigInput["limits"];
}

export interface DevWorker extends RunningWorker {
  /**
   * What GET /attestation answers (evidence, and the key's consent for the configured operator),
   * with the evidence issued at the chain's latest block time: a development chain's clock may lag
   * the machine's, and the verifier refuses evidence issued after the current block.
   */
  attest(): Promise<WorkerAttestation>;
}

/**
 * A TEE worker with a simulated enclave, in this process: the real bundle loader, sandbox, host
 * API and signer, with an HTTP API on 127.0.0.1 (port 0: a free one).
 */
export async function startDevWorker(options: DevWorkerOptions): Promise<DevWorker> {
  const rpcUrl = typeof options.rpc === "string" ? options.rpc : undefined;
  const runner = typeof options.rpc === "object" ? options.rpc : undefined;
  const provider: Provider | undefined =
    rpcUrl !== undefined ? new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true }) : (runner?.provider ?? (runner as Provider | undefined));
  let chainMs = Date.now();
  const enclave = new SimulatorEnclave(options.seed, () => chainMs);
  const config = parseWorkerConfig({
    port: options.port ?? 0,
    logLevel: "info",
    chainId: options.chainId.toString(),
    workerRegistry: options.workerRegistry,
    router: options.router,
    operator: options.operator,
    bundleCacheDir: options.bundleStore,
    enclave: { kind: "simulator", seed: options.seed },
    // With a provider or a directory override this one is replaced; its URL is never dialled.
    directory: { kind: "chain", rpcUrl: rpcUrl ?? "http://127.0.0.1:1", agentRegistry: options.agentRegistry },
    egressAllow: options.egressAllow ?? [],
    llm: options.llm,
    limits: options.limits ?? {},
  });
  const running = await startWorker(config, {
    enclave,
    logger: options.logger ?? pino({ level: "silent" }),
    sandboxThreads: 1,
    directory: options.directory ?? (runner !== undefined ? new ChainAgentDirectory(runner, options.agentRegistry) : undefined),
    commitments: options.commitments ?? (runner !== undefined ? new ChainRequestCommitments(runner, options.router) : undefined),
    decryptor: options.decryptor,
  });
  return {
    ...running,
    async attest() {
      chainMs = provider === undefined ? Date.now() : ((await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000)) * 1000;
      return running.service.attestation();
    },
    async close() {
      await running.close();
      if (provider instanceof JsonRpcProvider) provider.destroy();
    },
  };
}
