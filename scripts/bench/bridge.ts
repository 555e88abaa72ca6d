/**
 * Bridge benchmark (npm run bench:bridge [throughput|memory]). Every party runs in its own process,
 * as in production: anvil, the bridge (`bridge start`, the CLI operators run), a trivial echo
 * worker, and the load producer. Prints:
 *  1. sustained end-to-end requests/s and p50/p99 latency (blocks after confirmation) on anvil with
 *     1 s interval mining and confirmations = 1, plus the bridge's CPU time and memory;
 *  2. RSS of the bridge holding 100k pending requests: 100k AgentRequested events on anvil whose
 *     assigned worker never answers.
 * Env: BENCH_RATE (requests/s offered, default 400), BENCH_SECONDS (default 20), BENCH_PENDING (100000),
 * BENCH_BRIDGE_NODE_ARGS (extra node arguments for the bridge process, e.g. --cpu-prof).
 * `-- --instances 1,2,4`: the relayer fleet on one Postgres instead (bridge-fleet.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Interface, NonceManager, Wallet, type Contract } from "ethers";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { deployStack, waitMined } from "../../bridge/dev/deploy.js";
import { freePort, startLocalNode } from "../../bridge/dev/local-node.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import type { BridgeConfigInput } from "../../bridge/src/config.js";
import { cpuSeconds, percentile, procStatus, startBenchStack, startProducer } from "./bench-processes.js";

const RATE = Number(process.env.BENCH_RATE ?? 400);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PENDING = Number(process.env.BENCH_PENDING ?? 100_000);
/** Extra node arguments for the bridge process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_BRIDGE_NODE_ARGS ?? "").split(" ").filter(Boolean);
const PER_TX = 50;
const BLOCK_TIME_S = 1;
const GAS_LIMIT = 300_000_000;
const CONFIRMATIONS = 1;
const DRAIN_TIMEOUT_S = 120;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface BridgeStatus {
  requests: Record<string, number>;
  transactions: { count: number; gasUsed: string };
}

/** `bridge start` in a child process, exactly as `npm run bridge` runs it (no extra V8 flags). */
async function startBridge(dir: string, rpcUrl: string, addresses: Record<string, string>, config: Partial<BridgeConfigInput>) {
  const port = await freePort();
  const configPath = join(dir, "bridge.json");
  const base = {
    rpcUrl,
    router: addresses.router,
    workerRegistry: addresses.workerRegistry,
    privateKey: devKey(DEV_ROLES.bridge),
    dbPath: join(dir, "bridge.sqlite"),
    pollIntervalMs: 100,
    logLevel: "warn",
  };
  writeFileSync(configPath, JSON.stringify({ ...base, ...config, http: { port } }));
  const child = spawn(process.execPath, [...process.execArgv, ...NODE_ARGS, "bridge/cli.ts", "--config", configPath, "start"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const status = async () => (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as BridgeStatus;
  for (let started = Date.now(); ; await sleep(100)) {
    if (
      await status().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() - started > 30_000) throw new Error("bridge did not start");
  }
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  };
  return { child, pid: child.pid!, port, status, stop };
}

async function throughput(): Promise<void> {
  const node = await startLocalNode({ gasLimit: GAS_LIMIT });
  const { worker, stack } = await startBenchStack(node.url, { rate: RATE, seconds: SECONDS, gasLimit: GAS_LIMIT, blockTimeS: BLOCK_TIME_S });
  await node.rpc("evm_setIntervalMining", [BLOCK_TIME_S]);
  await node.rpc("evm_setAutomine", [false]);
  const dir = mkdtempSync(join(tmpdir(), "bench-bridge-"));
  const bridge = await startBridge(dir, node.url, stack.addresses, {
    confirmations: CONFIRMATIONS,
    dispatch: { concurrency: 256, perWorkerConcurrency: 256 },
    submit: { maxBatchSize: 200, maxInFlight: 16, maxInFlightGas: 2 * GAS_LIMIT },
  });
  const cpuBefore = cpuSeconds(bridge.pid);

  const offeredLoad = startProducer(
    node.url,
    { requester: stack.addresses.requester!, router: stack.addresses.router! },
    { rate: RATE, seconds: SECONDS, perTx: PER_TX },
  );
  const started = Date.now();
  let peak = 0;
  const offered = await offeredLoad;
  let status: BridgeStatus;
  for (;;) {
    status = await bridge.status();
    peak = Math.max(peak, procStatus(bridge.pid).rss);
    if ((status.requests.fulfilled ?? 0) >= offered.requests) break;
    if (Date.now() - started > (SECONDS + DRAIN_TIMEOUT_S) * 1000) {
      console.log("bench: gave up waiting", status.requests);
      break;
    }
    await sleep(200);
  }
  const finished = Date.now();
  const cpu = cpuSeconds(bridge.pid) - cpuBefore;
  const memory = procStatus(bridge.pid);

  const iface = new Interface(ROUTER_ABI);
  const logs = await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" });
  const requestBlock = new Map<bigint, number>();
  const latencies: number[] = [];
  const fulfilments = new Map<bigint, number>();
  const fulfilledInBlock = new Map<number, number>();
  let firstRequestBlock = Infinity;
  let lastRequestBlock = 0;
  let lastFulfilBlock = 0;
  for (const log of logs) {
    const parsed = iface.parseLog(log);
    if (!parsed) continue;
    const id = parsed.args.requestId as bigint;
    if (parsed.name === "AgentRequested") {
      requestBlock.set(id, log.blockNumber);
      firstRequestBlock = Math.min(firstRequestBlock, log.blockNumber);
      lastRequestBlock = Math.max(lastRequestBlock, log.blockNumber);
    }
    if (parsed.name === "RequestFulfilled") {
      fulfilments.set(id, (fulfilments.get(id) ?? 0) + 1);
      latencies.push(log.blockNumber - requestBlock.get(id)! - CONFIRMATIONS);
      lastFulfilBlock = Math.max(lastFulfilBlock, log.blockNumber);
      fulfilledInBlock.set(log.blockNumber, (fulfilledInBlock.get(log.blockNumber) ?? 0) + 1);
    }
  }
  latencies.sort((a, b) => a - b);
  const blocks = lastFulfilBlock - firstRequestBlock + 1;
  // Steady state: blocks while requests kept arriving, after the first ones could be answered.
  const steadyFrom = firstRequestBlock + CONFIRMATIONS + 1;
  let steadyFulfilled = 0;
  for (let block = steadyFrom; block <= lastRequestBlock; block++) steadyFulfilled += fulfilledInBlock.get(block) ?? 0;
  const steadyBlocks = Math.max(1, lastRequestBlock - steadyFrom + 1);
  const txs = status.transactions;
  console.log(`\n== end-to-end throughput (anvil, ${BLOCK_TIME_S}s interval mining, block gas limit ${GAS_LIMIT}, confirmations ${CONFIRMATIONS}) ==`);
  console.log(
    `offered         ${offered.offered} requests in ${offered.seconds.toFixed(1)} s (${(offered.offered / offered.seconds).toFixed(0)}/s, ${PER_TX} per requestMany tx, producer in its own process); ${offered.requests} landed (AgentRequested)`,
  );
  console.log(
    `fulfilled       ${latencies.length} of ${requestBlock.size} requested (each exactly once: ${[...requestBlock.keys()].every((id) => fulfilments.get(id) === 1)})`,
  );
  console.log(
    `sustained       ${(steadyFulfilled / (steadyBlocks * BLOCK_TIME_S)).toFixed(0)} requests/s in steady state (blocks ${steadyFrom}-${lastRequestBlock}, while load arrived); ${(latencies.length / ((finished - started) / 1000)).toFixed(0)}/s wall clock and ${(latencies.length / (blocks * BLOCK_TIME_S)).toFixed(0)}/s chain time from first request to last fulfilment (${blocks} blocks)`,
  );
  console.log(`latency         p50 ${percentile(latencies, 50)} blocks, p99 ${percentile(latencies, 99)} blocks after confirmation (max ${latencies.at(-1)})`);
  console.log(
    `bridge txs      ${txs.count} (${(latencies.length / Math.max(1, txs.count)).toFixed(1)} fulfilments per tx), gas ${txs.gasUsed} (${(Number(txs.gasUsed) / Math.max(1, latencies.length)).toFixed(0)} per fulfilment)`,
  );
  console.log(
    `bridge CPU      ${cpu.toFixed(1)} s for ${latencies.length} requests (${((cpu * 1000) / Math.max(1, latencies.length)).toFixed(2)} ms per request, ${((cpu / ((finished - started) / 1000)) * 100).toFixed(0)}% of one core)`,
  );
  console.log(`bridge RSS      ${mb(memory.rss)} at the end, ${mb(Math.max(peak, memory.peak))} peak (VmHWM)`);

  await bridge.stop();
  worker.kill("SIGTERM");
  stack.provider.destroy();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
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
  console.log(`\n== memory with ${PENDING} pending requests (bridge alone in a child process, no V8 flags; assigned worker unreachable) ==`);
  console.log(`chain           ${PENDING} requests created on anvil in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const dir = mkdtempSync(join(tmpdir(), "bench-bridge-mem-"));
  const ingestStart = Date.now();
  const bridge = await startBridge(dir, node.url, stack.addresses, {
    confirmations: 0,
    // Blocks here hold 250 requests each: bound one eth_getLogs answer to ~2000 events (README).
    maxLogRange: 8,
    dispatch: { timeoutMs: 500, backoffBaseMs: 1_000, backoffMaxMs: 10_000 },
  });
  let status: BridgeStatus | undefined;
  let peak = 0;
  for (;;) {
    await sleep(500);
    status = await bridge.status();
    peak = Math.max(peak, procStatus(bridge.pid).rss);
    const { confirmed = 0, dispatched = 0 } = status.requests;
    if (confirmed + dispatched >= PENDING) break;
    if (Date.now() - ingestStart > 600_000) throw new Error(`bridge did not ingest ${PENDING} requests: ${JSON.stringify(status)}`);
  }
  const ingest = (Date.now() - ingestStart) / 1000;
  // Keep it running while dispatch retries cycle through the pending set.
  for (let i = 0; i < 30; i++) {
    await sleep(500);
    peak = Math.max(peak, procStatus(bridge.pid).rss);
  }
  const final = procStatus(bridge.pid);
  console.log(`ingested        ${PENDING} in ${ingest.toFixed(1)} s incl. start-up (${(PENDING / ingest).toFixed(0)}/s)`);
  console.log(`bridge RSS      ${mb(final.rss)} after 15 s of dispatch retries; peak ${mb(Math.max(peak, final.peak))} (VmHWM)`);
  console.log(`store           ${JSON.stringify((await bridge.status()).requests)}`);
  await bridge.stop();
  stack.provider.destroy();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}

const fleet = process.argv.indexOf("--instances");
if (fleet >= 0) {
  // npm run bench:bridge -- --instances 1,2,4: the relayer fleet on one Postgres (bridge-fleet.ts).
  const { fleetBench } = await import("./bridge-fleet.js");
  await fleetBench((process.argv[fleet + 1] ?? "1,2,4").split(",").map(Number));
} else {
  const which = process.argv[2];
  if (which !== "memory") await throughput();
  if (which !== "throughput") await memory();
}
