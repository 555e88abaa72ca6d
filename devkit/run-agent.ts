import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { SigningKey, Wallet, getBytes, hexlify, keccak256, randomBytes } from "ethers";
import { pino } from "pino";
import { ClusterKeyring } from "../protocol/cluster-keyring.js";
import { encryptAgentSecrets } from "../protocol/confidential.js";
import { agentRequestToJson, requestHash, type AgentRequest } from "../protocol/request.js";
import type { RequestCommitments } from "../worker/src/commitments.js";
import { InMemoryAgentDirectory } from "../worker/src/directory.js";
import { bundleAgent, devBundleUri } from "./agents.js";
import { devWorkerSeed, startDevWorker, type DevWorkerOptions } from "./dev-worker.js";

/** Stand-ins for what a chain would give the run: nothing here is read from or sent to a chain. */
const LOCAL_CHAIN_ID = 31337n;
const LOCAL_AGENT_REGISTRY = "0x000000000000000000000000000000000000a9e7";
const LOCAL_WORKER_REGISTRY = "0x000000000000000000000000000000000000c0de";
const LOCAL_CONSUMER = "0x000000000000000000000000000000000000c0c0";
const LOCAL_ROUTER = "0x000000000000000000000000000000000000a9e0";
const LOCAL_AGENT_ID = 1n;
const DEADLINE_S = 300n;

export interface LocalRunOptions {
  input: Uint8Array;
  /** The agent's secrets in plaintext: sealed to a throwaway cluster key and opened by the worker as on a network. */
  secrets?: Record<string, string>;
  egressAllow?: string[];
  llm?: DevWorkerOptions["llm"];
  limits?: DevWorkerOptions["limits"];
}

export interface LocalRun {
  codeHash: string;
  bundlePath: string;
  status: number;
  statusName: string;
  /** The agent's output (OK) or the error message, 0x-hex. */
  output: string;
  /** Lines the agent logged with ctx.log / console.log. */
  logs: string[];
  ms: number;
  /** The worker's signature over the answer, as it would be settled on-chain. */
  signature: string;
}

/**
 * Runs an agent on one input exactly as a worker would (bundle, code-hash check, QuickJS sandbox,
 * host API with its egress policy and limits, signed answer), without a chain: the agent is
 * served from memory as agent 1, the request is synthetic (its deadline 5 minutes from now is what
 * `ctx.now()` returns). Sub-agent calls fail: no other agent exists here.
 */
export async function runAgentLocally(entry: string, options: LocalRunOptions): Promise<LocalRun> {
  const store = await mkdtemp(path.join(tmpdir(), "agent-run-"));
  const bundle = await bundleAgent(entry, { store });
  const directory = new InMemoryAgentDirectory(LOCAL_AGENT_REGISTRY);
  const keyring = new ClusterKeyring();
  let sealedSecrets: { keyEpoch: number; ciphertext: Uint8Array } | undefined;
  if (options.secrets !== undefined) {
    const clusterKey = new SigningKey(hexlify(randomBytes(32)));
    keyring.add(1, clusterKey.privateKey, null);
    const binding = { chainId: LOCAL_CHAIN_ID, agentRegistry: LOCAL_AGENT_REGISTRY, agentId: LOCAL_AGENT_ID };
    sealedSecrets = { keyEpoch: 1, ciphertext: encryptAgentSecrets(clusterKey.publicKey, options.secrets, binding) };
  }
  directory.set(LOCAL_AGENT_ID, {
    owner: LOCAL_CONSUMER,
    price: 0n,
    versions: [{ codeHash: bundle.codeHash, uri: devBundleUri(bundle.codeHash) }],
    secrets: sealedSecrets,
  });

  const seed = devWorkerSeed(0);
  const request: AgentRequest = {
    id: 1n,
    agentId: LOCAL_AGENT_ID,
    consumer: LOCAL_CONSUMER,
    accountId: 1n,
    worker: new Wallet(seed).address,
    agentVersion: 1n,
    keyEpoch: 0n,
    callbackGasLimit: 100_000n,
    agentOwner: LOCAL_CONSUMER,
    agentPrice: 0n,
    maxFee: 0n,
    deadline: BigInt(Math.floor(Date.now() / 1000)) + DEADLINE_S,
    codeHash: bundle.codeHash,
    inputHash: keccak256(options.input),
    configVersion: 1n,
    capacityFee: 0n,
  };
  // Stands in for the router's commitment: this one request is the pending one.
  const pending = requestHash(request);
  const commitments: RequestCommitments = {
    router: LOCAL_ROUTER,
    async requirePending(_request, hash) {
      if (hash !== pending) throw new Error("agent:run executes only its own request");
    },
    async requireBackup() {
      throw new Error("agent:run executes its request as the primary");
    },
  };
  const logs: string[] = [];
  const worker = await startDevWorker({
    seed,
    chainId: LOCAL_CHAIN_ID,
    workerRegistry: LOCAL_WORKER_REGISTRY,
    agentRegistry: LOCAL_AGENT_REGISTRY,
    router: LOCAL_ROUTER,
    bundleStore: store,
    commitments,
    directory,
    decryptor: keyring,
    egressAllow: options.egressAllow,
    llm: options.llm,
    limits: options.limits,
    logger: pino(
      { level: "info" },
      agentLogLines((line) => logs.push(line)),
    ),
  });
  try {
    const started = performance.now();
    const answer = await worker.service.execute({
      chainId: LOCAL_CHAIN_ID.toString(),
      router: LOCAL_ROUTER,
      request: agentRequestToJson(request),
      input: hexlify(options.input),
    });
    return {
      codeHash: bundle.codeHash,
      bundlePath: bundle.bundlePath,
      status: answer.status,
      statusName: answer.statusName,
      output: hexlify(getBytes(answer.output)),
      logs,
      ms: Math.round(performance.now() - started),
      signature: answer.signature,
    };
  } finally {
    await worker.close();
    await rm(store, { recursive: true, force: true });
  }
}

/** A pino destination that keeps the agent's own log lines (the worker logs them as "agent: <line>"). */
function agentLogLines(onLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text === "") continue;
        try {
          const { msg } = JSON.parse(text) as { msg?: string };
          if (typeof msg === "string" && msg.startsWith("agent: ")) onLine(msg.slice("agent: ".length));
        } catch {
          // not a log record
        }
      }
      done();
    },
  });
}
