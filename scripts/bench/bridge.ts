/**
 * Bridge benchmark (npm run bench:bridge). Prints:
 *  1. sustained end-to-end requests/s and p50/p99 latency (blocks after confirmation) on anvil with
 *     1 s interval mining, a trivial echo agent (in-process fake worker) and confirmations = 1;
 *  2. RSS of a bridge process (`bridge start`, alone in a child process) holding 100k pending
 *     requests: 100k AgentRequested events on anvil whose assigned worker never answers.
 * Env: BENCH_RATE (requests/s offered, default 400), BENCH_SECONDS (default 20), BENCH_PENDING (100000).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Interface, NonceManager, Wallet, type Contract } from "ethers";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { deployStack, waitMined } from "../../bridge/dev/deploy.js";
import { freePort, startLocalNode } from "../../bridge/dev/local-node.js";
import { Bridge } from "../../bridge/src/bridge.js";
import { ROUTER_ABI } from "../../bridge/src/chain/router-abi.js";
import { parseConfig } from "../../bridge/src/config.js";
import { createLogger } from "../../bridge/src/logger.js";

const RATE = Number(process.env.BENCH_RATE ?? 400);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PENDING = Number(process.env.BENCH_PENDING ?? 100_000);
const PER_TX = 50;
const BLOCK_TIME_S = 1;
const GAS_LIMIT = 300_000_000;
const CONFIRMATIONS = 1;
const BRIDGE_V8_FLAGS = ["--max-semi-space-size=4", "--max-old-space-size=96"];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function throughput(): Promise<void> {
  const node = await startLocalNode({ gasLimit: GAS_LIMIT });
  // The worker runs in its own process, as in production (and so its signing uses the other core).
  const workerKey = Wallet.createRandom().privateKey;
  const workerPort = await freePort();
  const worker = spawn(process.execPath, [...process.execArgv, "bridge/dev/fake-worker-main.ts"], {
    env: { ...process.env, FAKE_WORKER_KEY: workerKey, FAKE_WORKER_PORT: String(workerPort) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve) => worker.stdout!.once("data", resolve));
  const stack = await deployStack(node.url, [{ key: workerKey, endpoint: `http://127.0.0.1:${workerPort}` }], { requestTimeout: 600 });
  await node.rpc("evm_setIntervalMining", [BLOCK_TIME_S]);
  await node.rpc("evm_setAutomine", [false]);
  const dir = mkdtempSync(join(tmpdir(), "bench-bridge-"));
  const config = parseConfig({
    rpcUrl: node.url,
    router: stack.addresses.router,
    workerRegistry: stack.addresses.workerRegistry,
    privateKey: devKey(DEV_ROLES.bridge),
    dbPath: join(dir, "bridge.sqlite"),
    confirmations: CONFIRMATIONS,
    pollIntervalMs: 100,
    dispatch: { concurrency: 256 },
    submit: { maxBatchSize: 200, maxInFlight: 16 },
    http: { enabled: false },
    logLevel: "silent",
  });
  const bridge = await Bridge.create(config, { logger: createLogger("silent") });
  await bridge.start();

  // A second funded account produces the load, so its nonces never race the deployer's.
  const producer = new NonceManager(new Wallet(devKey(DEV_ROLES.operator), stack.provider));
  const requester = stack.requester.connect(producer) as Contract;
  const total = RATE * SECONDS;
  const txs = total / PER_TX;
  const interval = 1000 / (RATE / PER_TX);
  const started = Date.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < txs; i++) {
    const due = started + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(requester.getFunction("requestMany")(`b${i}-`, PER_TX, { gasLimit: 30_000_000 }));
  }
  await Promise.all(sends);
  const offeredFor = (Date.now() - started) / 1000;
  for (;;) {
    const counts = bridge.store.counts();
    if (counts.fulfilled >= total) break;
    if (process.env.BENCH_VERBOSE && Date.now() % 1000 < 200) console.log(JSON.stringify(counts), bridge.store.pendingTxs().length);
    if (Date.now() - started > (SECONDS + 120) * 1000) {
      console.log("bench: gave up waiting", counts);
      break;
    }
    await sleep(200);
  }
  const finished = Date.now();

  const iface = new Interface(ROUTER_ABI);
  const logs = await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" });
  const requestBlock = new Map<bigint, number>();
  const latencies: number[] = [];
  const fulfilments = new Map<bigint, number>();
  let firstRequestBlock = Infinity;
  let lastFulfilBlock = 0;
  for (const log of logs) {
    const parsed = iface.parseLog(log);
    if (!parsed) continue;
    const id = parsed.args.requestId as bigint;
    if (parsed.name === "AgentRequested") {
      requestBlock.set(id, log.blockNumber);
      firstRequestBlock = Math.min(firstRequestBlock, log.blockNumber);
    }
    if (parsed.name === "RequestFulfilled") {
      fulfilments.set(id, (fulfilments.get(id) ?? 0) + 1);
      latencies.push(log.blockNumber - requestBlock.get(id)! - CONFIRMATIONS);
      lastFulfilBlock = Math.max(lastFulfilBlock, log.blockNumber);
    }
  }
  latencies.sort((a, b) => a - b);
  const blocks = lastFulfilBlock - firstRequestBlock + 1;
  const stats = bridge.store.txStats();
  console.log(`\n== end-to-end throughput (anvil, ${BLOCK_TIME_S}s interval mining, block gas limit ${GAS_LIMIT}, confirmations ${CONFIRMATIONS}) ==`);
  console.log(`offered         ${total} requests in ${offeredFor.toFixed(1)} s (${(total / offeredFor).toFixed(0)}/s, ${PER_TX} per requestMany tx)`);
  console.log(`fulfilled       ${latencies.length} of ${requestBlock.size} requested (each exactly once: ${[...requestBlock.keys()].every((id) => fulfilments.get(id) === 1)})`);
  console.log(`sustained       ${(latencies.length / ((finished - started) / 1000)).toFixed(0)} requests/s wall clock; ${(latencies.length / (blocks * BLOCK_TIME_S)).toFixed(0)} requests/s over chain time (${blocks} blocks from first request to last fulfilment)`);
  console.log(`latency         p50 ${percentile(latencies, 50)} blocks, p99 ${percentile(latencies, 99)} blocks after confirmation (max ${latencies.at(-1)})`);
  console.log(`bridge txs      ${stats.count} (${(latencies.length / Math.max(1, stats.count)).toFixed(1)} fulfilments per tx), gas ${stats.gasUsed} (${(Number(stats.gasUsed) / Math.max(1, latencies.length)).toFixed(0)} per fulfilment)`);
  console.log(`bench RSS       ${mb(process.memoryUsage().rss)} (bridge + load producer in one process; see the memory section for the bridge alone)`);

  await bridge.stop();
  worker.kill("SIGTERM");
  stack.provider.destroy();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}

function procStatus(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Bridge alone in a child process (`bridge start`), 100k requests on anvil, worker unreachable: all stay pending. */
async function memory(): Promise<void> {
  const node = await startLocalNode({ gasLimit: GAS_LIMIT });
  const worker = Wallet.createRandom();
  const stack = await deployStack(node.url, [{ key: worker.privateKey, endpoint: "http://127.0.0.1:9" }], { requestTimeout: 86_400 });
  const producer = new NonceManager(new Wallet(devKey(DEV_ROLES.operator), stack.provider));
  const requester = stack.requester.connect(producer) as Contract;
  const started = Date.now();
  const perTx = 250;
  const chunk = 20;
  for (let i = 0; i < PENDING / perTx; i += chunk) {
    const sends: Promise<{ hash: string }>[] = [];
    for (let j = i; j < Math.min(i + chunk, PENDING / perTx); j++) sends.push(requester.getFunction("requestMany")(`m${j}-`, perTx, { gasLimit: 29_000_000 }));
    await Promise.all((await Promise.all(sends)).map((tx) => waitMined(stack.provider, tx.hash)));
  }
  console.log(`\n== memory with ${PENDING} pending requests (bridge alone in a child process, ${BRIDGE_V8_FLAGS.join(" ")}; assigned worker unreachable) ==`);
  console.log(`chain           ${PENDING} requests created on anvil in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const dir = mkdtempSync(join(tmpdir(), "bench-bridge-mem-"));
  const port = await freePort();
  const configPath = join(dir, "bridge.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      rpcUrl: node.url,
      router: stack.addresses.router,
      workerRegistry: stack.addresses.workerRegistry,
      privateKey: devKey(DEV_ROLES.bridge),
      dbPath: join(dir, "bridge.sqlite"),
      confirmations: 0,
      pollIntervalMs: 100,
      // Blocks here hold 250 requests each: bound one eth_getLogs answer to ~2000 events (README).
      maxLogRange: 8,
      dispatch: { timeoutMs: 500, backoffBaseMs: 1_000, backoffMaxMs: 10_000 },
      http: { port },
      logLevel: "warn",
    }),
  );
  // The V8 flags `npm run bridge` sets (bridge/README.md): V8 otherwise grows its young generation
  // to 3 x 64 MB on a machine with free memory and never gives it back.
  const child = spawn(process.execPath, [...process.execArgv, ...BRIDGE_V8_FLAGS, "bridge/cli.ts", "--config", configPath, "start"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const ingestStart = Date.now();
  let status: { requests: Record<string, number> } | undefined;
  let peak = 0;
  for (;;) {
    await sleep(500);
    try {
      status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { requests: Record<string, number> };
    } catch {
      continue;
    }
    peak = Math.max(peak, procStatus(child.pid!).rss);
    const { confirmed = 0, dispatched = 0 } = status.requests;
    if (confirmed + dispatched >= PENDING) break;
    if (Date.now() - ingestStart > 600_000) throw new Error(`bridge did not ingest ${PENDING} requests: ${JSON.stringify(status)}`);
  }
  const ingest = (Date.now() - ingestStart) / 1000;
  // Keep it running while dispatch retries cycle through the pending set.
  for (let i = 0; i < 30; i++) {
    await sleep(500);
    peak = Math.max(peak, procStatus(child.pid!).rss);
    if (process.env.BENCH_VERBOSE) console.log(procStatus(child.pid!), JSON.stringify(((await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { requests: unknown }).requests));
  }
  const final = procStatus(child.pid!);
  console.log(`ingested        ${PENDING} in ${ingest.toFixed(1)} s incl. start-up (${(PENDING / ingest).toFixed(0)}/s)`);
  console.log(`bridge RSS      ${mb(final.rss)} after 15 s of dispatch retries; peak ${mb(Math.max(peak, final.peak))} (VmHWM)`);
  console.log(`store           ${JSON.stringify(status?.requests)}`);
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  stack.provider.destroy();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}

const which = process.argv[2];
if (which !== "memory") await throughput();
if (which !== "throughput") await memory();
