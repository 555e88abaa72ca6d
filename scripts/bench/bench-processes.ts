/** What the bridge benchmarks (bridge.ts, bridge-fleet.ts) share: child processes and /proc readings. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { deployStack, type Stack } from "../../bridge/dev/deploy.js";

/** Linux reports process CPU time in clock ticks of 1/100 s (sysconf(_SC_CLK_TCK) on x86-64 and arm64). */
const CLOCK_TICKS_PER_S = 100;

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export function procStatus(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** User + system CPU seconds a process has used (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

export function waitForLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) resolve(text.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`${child.spawnargs.join(" ")} exited with ${code} before printing`)));
  });
}

/**
 * Echo workers (bridge/dev/fake-worker-main.ts) in one process of their own, each with a fresh
 * enclave key and its own port: the router caps the requests one worker holds
 * (maxPendingPerWorker), so a load with a large backlog needs several.
 */
export async function startEchoWorkers(count: number): Promise<{ child: ChildProcess; workers: { key: string; url: string }[] }> {
  const keys = Array.from({ length: count }, () => Wallet.createRandom().privateKey);
  const child = spawn(process.execPath, [...process.execArgv, "bridge/dev/fake-worker-main.ts"], {
    env: { ...process.env, FAKE_WORKER_KEYS: keys.join(",") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const urls = (await waitForLine(child)).split(" ");
  return { child, workers: keys.map((key, i) => ({ key, url: urls[i]! })) };
}

/** One echo worker (see startEchoWorkers). */
export async function startEchoWorker(): Promise<{ child: ChildProcess; key: string; url: string }> {
  const { child, workers } = await startEchoWorkers(1);
  return { child, ...workers[0]! };
}

/** What the load producer reports: the requests that landed (AgentRequested), out of those offered. */
export interface OfferedLoad {
  offered: number;
  requests: number;
  seconds: number;
  firstBlock: number;
  lastBlock: number;
}

/**
 * The load (scripts/bench/load-producer.ts) in its own process; resolves once every send is mined
 * with what landed, rejects (with the router's revert reason on stderr) when a send reverted.
 */
export function startProducer(
  rpcUrl: string,
  addresses: { requester: string; router: string },
  load: { rate: number; seconds: number; perTx: number },
): Promise<OfferedLoad> {
  const producer = spawn(process.execPath, [...process.execArgv, "scripts/bench/load-producer.ts"], {
    env: {
      ...process.env,
      LOAD_RPC_URL: rpcUrl,
      LOAD_REQUESTER: addresses.requester,
      LOAD_ROUTER: addresses.router,
      // A second funded account produces the load, so its nonces never race the deployer's.
      LOAD_KEY: devKey(DEV_ROLES.operator),
      LOAD_RATE: String(load.rate),
      LOAD_SECONDS: String(load.seconds),
      LOAD_PER_TX: String(load.perTx),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return waitForLine(producer).then((line) => JSON.parse(line) as OfferedLoad);
}

/** Seconds from request to deadline in the benchmark stacks: nothing times out while a backlog drains. */
const BENCH_REQUEST_TIMEOUT_S = 600;
/** The router's maxPendingPerWorker in the benchmark stacks (deployStack's default, the router's upper bound). */
const MAX_PENDING_PER_WORKER = 1_024;

/**
 * Echo workers and the contracts for a throughput benchmark, sized so the whole offered load can
 * land: workers enough to hold every offered request pending at once (a bridge that falls behind
 * builds a backlog up to the whole load, and a full worker is assigned nothing more), a quarter
 * more as the random assignment does not fill them evenly; and the router's relay capacity set to
 * what the chain's blocks carry (gas limit per block time), as governance would on such a chain:
 * the router's default is a public L1's share, whose capacity (and capacity fee within the
 * requester's max fee) a few hundred of these requests fill.
 */
export async function startBenchStack(
  rpcUrl: string,
  load: { rate: number; seconds: number; gasLimit: number; blockTimeS: number },
): Promise<{ worker: ChildProcess; stack: Stack }> {
  const count = Math.max(1, Math.ceil((load.rate * load.seconds * 1.25) / MAX_PENDING_PER_WORKER));
  const { child, workers } = await startEchoWorkers(count);
  try {
    const stack = await deployStack(
      rpcUrl,
      // Each worker under an operator of its own, as on a network of many operators: every
      // request has backups (never drawn among its primary's operator's workers), so the bridge's
      // failover learns the windows once instead of being refused (NoBackup) request by request.
      workers.map((w) => ({ key: w.key, endpoint: w.url, operatorKey: Wallet.createRandom().privateKey })),
      { requestTimeout: BENCH_REQUEST_TIMEOUT_S, maxPendingPerWorker: MAX_PENDING_PER_WORKER, relayGasPerSecond: load.gasLimit / load.blockTimeS },
    );
    return { worker: child, stack };
  } catch (error) {
    child.kill("SIGTERM");
    throw error;
  }
}
