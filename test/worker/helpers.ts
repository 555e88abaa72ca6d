import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { pino } from "pino";
import { noClusterKey, type InputDecryptor } from "../../protocol/decryptor.js";
import { requestHash, type AgentRequest } from "../../protocol/request.js";
import { BundleStore } from "../../worker/src/bundle/cache.js";
import { UriBundleFetcher } from "../../worker/src/bundle/fetcher.js";
import type { RequestCommitments } from "../../worker/src/commitments.js";
import { LimitsConfig } from "../../worker/src/config.js";
import { RequestRejected } from "../../worker/src/errors.js";
import { InMemoryAgentDirectory } from "../../worker/src/directory.js";
import { AgentFetcher, EgressPolicy } from "../../worker/src/egress.js";
import { Executor } from "../../worker/src/executor.js";
import { LlmClient, type LlmEndpoint } from "../../worker/src/llm.js";
import { Sandbox, type SandboxRunner } from "../../worker/src/sandbox/sandbox.js";

export const silentLogger = pino({ level: "silent" });
export const OWNER = "0x00000000000000000000000000000000000000A1";
export const AGENT_REGISTRY = "0x00000000000000000000000000000000000000A9";
export const TEST_CHAIN_ID = 31337n;

let sandbox: Promise<Sandbox> | undefined;
/** One in-process QuickJS module for all tests of a process. */
export function sharedSandbox(): Promise<Sandbox> {
  sandbox ??= Sandbox.load();
  return sandbox;
}

export function testLimits(overrides: Partial<LimitsConfig> = {}): LimitsConfig {
  return LimitsConfig.parse({ memoryBytes: 16 * 1024 * 1024, wallTimeMs: 1000, maxHostCalls: 8, maxOutputBytes: 4096, ...overrides });
}

/** A hand-written bundle: `handler` is the source of a function (input, ctx) => output. */
export function bundleOf(handler: string): string {
  return `var __agent = { default: ${handler} };`;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "worker-test-"));
}

/** The content-addressed bundle store (`<codeHash>.js`) every test worker and harness reads. */
export const BUNDLE_STORE = tempDir();

/** Puts `<codeHash>.js` into a content-addressed store; returns that file's path. */
export function storeBundle(store: string, bytes: Uint8Array | string): string {
  const codeHash = keccak256(typeof bytes === "string" ? toUtf8Bytes(bytes) : bytes);
  writeFileSync(join(store, `${codeHash}.js`), bytes);
  return codeHash;
}

/**
 * Writes a bundle to `dir/name` and into BUNDLE_STORE; returns its code hash and a URI that no
 * network serves (the store does: remote fetching is tested with a local server).
 */
export function writeBundle(dir: string, name: string, source: string): { uri: string; codeHash: string } {
  writeFileSync(join(dir, name), source);
  return { uri: `https://bundles.invalid/${name}`, codeHash: storeBundle(BUNDLE_STORE, source) };
}

export const WORKER_KEY = keccak256(toUtf8Bytes("worker test key"));
export const WORKER_ADDRESS = new Wallet(WORKER_KEY).address;

export function makeRequest(overrides: Partial<AgentRequest> = {}): AgentRequest {
  return {
    id: 1n,
    agentId: 1n,
    consumer: "0x00000000000000000000000000000000000000C0",
    accountId: 7n,
    worker: WORKER_ADDRESS,
    agentVersion: 1n,
    keyEpoch: 0n,
    callbackGasLimit: 200_000n,
    agentOwner: OWNER,
    agentPrice: 10n,
    maxFee: 1000n,
    deadline: 1_900_000_000n,
    codeHash: `0x${"00".repeat(32)}`,
    inputHash: keccak256(new Uint8Array()),
    configVersion: 1n,
    capacityFee: 0n,
    ...overrides,
  };
}

export interface Harness {
  executor: Executor;
  directory: InMemoryAgentDirectory;
  dir: string;
  /** Registers `source` as agent `id` (one version) and returns its code hash. */
  register(id: bigint, source: string, options?: { price?: bigint; uri?: string }): string;
}

export async function harness(
  options: {
    limits?: Partial<LimitsConfig>;
    egressAllow?: string[];
    llm?: LlmEndpoint;
    decryptor?: InputDecryptor;
    feeReserve?: bigint;
    runner?: SandboxRunner;
    /** The registry agents' secrets are bound to; null: none known. */
    agentRegistry?: string | null;
  } = {},
): Promise<Harness> {
  const dir = tempDir();
  const directory = new InMemoryAgentDirectory(options.agentRegistry === null ? undefined : (options.agentRegistry ?? AGENT_REGISTRY));
  const limits = testLimits(options.limits);
  const executor = new Executor({
    chainId: TEST_CHAIN_ID,
    runner: options.runner ?? (await sharedSandbox()),
    directory,
    bundles: new BundleStore(new UriBundleFetcher({ maxBytes: limits.maxBundleBytes, timeoutMs: 2000, allowPrivateHosts: ["127.0.0.1"] }), {
      maxEntries: 64,
      dir: BUNDLE_STORE,
    }),
    decryptor: options.decryptor ?? noClusterKey,
    fetcher: new AgentFetcher(new EgressPolicy(options.egressAllow ?? []), limits.maxFetchResponseBytes),
    llm: new LlmClient(options.llm),
    limits,
    feeReserve: options.feeReserve ?? 0n,
    logger: silentLogger,
  });
  let counter = 0;
  return {
    executor,
    directory,
    dir,
    register(id, source, { price = 5n, uri } = {}) {
      const written = writeBundle(dir, `agent-${id}-${counter++}.js`, source);
      directory.set(id, { owner: OWNER, price, versions: [{ codeHash: written.codeHash, uri: uri ?? written.uri }] });
      return written.codeHash;
    },
  };
}

export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

export interface TestServer {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with a handler; records every request. */
export async function startServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A minimal OpenAI-compatible chat completions server: answers "echo: <last user message>". */
export function startFakeLlm(): Promise<TestServer> {
  return startServer((req, body, res) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    const parsed = JSON.parse(body) as { model: string; messages: { role: string; content: string }[] };
    const last = parsed.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "chatcmpl-test",
        object: "chat.completion",
        model: parsed.model,
        choices: [{ index: 0, message: { role: "assistant", content: `echo: ${last}` }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      }),
    );
  });
}

/** A router's pending commitments held in memory (the chain-backed reader is tested against Hardhat). */
export class FakeCommitments implements RequestCommitments {
  readonly #pending = new Set<string>();

  constructor(readonly router: string) {}

  /** Records `request` as pending on the router, as router.request would. */
  commit(request: AgentRequest): AgentRequest {
    this.#pending.add(requestHash(request));
    return request;
  }

  async requirePending(_request: AgentRequest, hash: string): Promise<void> {
    if (!this.#pending.has(hash)) throw new RequestRejected(409, "REQUEST_NOT_PENDING", "request is not pending on the router");
  }

  /** The router's backups by `requestHash:rank`, and its chain time (unix s). */
  readonly backups = new Map<string, { worker: string; opensAt: bigint }>();
  chainTime = 0n;

  /** Records `worker` as backup `rank` of a committed request, its window opening at `opensAt`. */
  setBackup(request: AgentRequest, rank: bigint, worker: string, opensAt: bigint): void {
    this.backups.set(`${requestHash(request)}:${rank}`, { worker, opensAt });
  }

  async requireBackup(_request: AgentRequest, hash: string, rank: bigint, worker: string): Promise<void> {
    const backup = this.backups.get(`${hash}:${rank}`);
    if (backup === undefined || backup.worker.toLowerCase() !== worker.toLowerCase())
      throw new RequestRejected(409, "NOT_BACKUP", `this worker is not backup ${rank}`);
    if (backup.opensAt > this.chainTime) throw new RequestRejected(425, "BACKUP_WINDOW_NOT_OPEN", `backup ${rank} may answer from ${backup.opensAt}`);
  }
}
