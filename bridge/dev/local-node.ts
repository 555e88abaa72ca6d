import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const require = createRequire(import.meta.url);
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface LocalNode {
  kind: "anvil" | "hardhat";
  url: string;
  port: number;
  /** The node's process (benchmarks read its CPU time). */
  pid?: number;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

export interface LocalNodeOptions {
  kind?: "anvil" | "hardhat";
  /** Seconds between blocks; undefined = automine (a block per transaction). */
  blockTime?: number;
  /** With blockTime: also mine each transaction at once (automine and interval blocks together). */
  mixedMining?: boolean;
  /** Listen port; default a free one. */
  port?: number;
  gasLimit?: number;
  /** anvil only: fork this JSON-RPC URL. */
  forkUrl?: string;
}

function anvilBinary(): string {
  const platform = `@foundry-rs/anvil-${process.platform === "darwin" ? "darwin" : process.platform === "win32" ? "win32" : "linux"}-${process.arch === "arm64" ? "arm64" : "amd64"}`;
  return join(dirname(require.resolve(`${platform}/package.json`)), "bin", "anvil");
}

async function rpcCall(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Starts anvil (@foundry-rs/anvil) or `hardhat node` on a free loopback port and waits until it answers. */
export async function startLocalNode(options: LocalNodeOptions = {}): Promise<LocalNode> {
  const kind = options.kind ?? "anvil";
  const port = options.port ?? (await freePort());
  let child: ChildProcess;
  if (kind === "anvil") {
    const args = ["--host", "127.0.0.1", "--port", String(port), "--silent", "--chain-id", "31337"];
    if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
    if (options.blockTime !== undefined && options.mixedMining) args.push("--mixed-mining");
    if (options.gasLimit !== undefined) args.push("--gas-limit", String(options.gasLimit));
    if (options.forkUrl) args.push("--fork-url", options.forkUrl);
    child = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  } else {
    const cli = join(dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
    // Hardhat finds hardhat.config.ts from the working directory: run it from the project root.
    const root = dirname(dirname(require.resolve("hardhat/package.json")));
    child = spawn(process.execPath, [cli, "node", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: dirname(root),
      stdio: ["ignore", "ignore", "pipe"],
    });
  }
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited with ${child.exitCode}: ${stderr}`);
    try {
      await rpcCall(url, "eth_chainId");
      break;
    } catch {
      if (Date.now() - started > READY_TIMEOUT_MS) {
        child.kill("SIGKILL");
        throw new Error(`${kind} did not answer on ${url} within ${READY_TIMEOUT_MS} ms: ${stderr}`);
      }
      await sleep(READY_POLL_MS);
    }
  }
  if (kind === "hardhat" && options.blockTime !== undefined) {
    if (!options.mixedMining) await rpcCall(url, "evm_setAutomine", [false]);
    await rpcCall(url, "evm_setIntervalMining", [options.blockTime * 1000]);
  }
  return {
    kind,
    url,
    port,
    pid: child.pid,
    rpc: (method, params) => rpcCall(url, method, params),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5_000).then(() => child.kill("SIGKILL"))]);
      }
    },
  };
}
