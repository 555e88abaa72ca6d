/** What the bridge benchmarks (bridge.ts, bridge-fleet.ts) share: child processes and /proc readings. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { freePort } from "../../bridge/dev/local-node.js";

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

/** The echo worker (bridge/dev/fake-worker-main.ts) in its own process, with a fresh enclave key. */
export async function startEchoWorker(): Promise<{ child: ChildProcess; key: string; url: string }> {
  const key = Wallet.createRandom().privateKey;
  const port = await freePort();
  const child = spawn(process.execPath, [...process.execArgv, "bridge/dev/fake-worker-main.ts"], {
    env: { ...process.env, FAKE_WORKER_KEY: key, FAKE_WORKER_PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await waitForLine(child);
  return { child, key, url: `http://127.0.0.1:${port}` };
}

/** The load (scripts/bench/load-producer.ts) in its own process; resolves with what it offered once it is sent. */
export function startProducer(
  rpcUrl: string,
  requester: string,
  load: { rate: number; seconds: number; perTx: number },
): Promise<{ requests: number; seconds: number }> {
  const producer = spawn(process.execPath, [...process.execArgv, "scripts/bench/load-producer.ts"], {
    env: {
      ...process.env,
      LOAD_RPC_URL: rpcUrl,
      LOAD_REQUESTER: requester,
      // A second funded account produces the load, so its nonces never race the deployer's.
      LOAD_KEY: devKey(DEV_ROLES.operator),
      LOAD_RATE: String(load.rate),
      LOAD_SECONDS: String(load.seconds),
      LOAD_PER_TX: String(load.perTx),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return waitForLine(producer).then((line) => JSON.parse(line) as { requests: number; seconds: number });
}
