/**
 * Relayer fleet benchmark (npm run bench:bridge -- --instances 1,2,4): for each fleet size, a fresh
 * anvil (1 s blocks), one echo worker, a fresh database on one real Postgres, and N bridge CLIs on it
 * (each its own relayer key), under the same offered load from its own process. Prints, side by
 * side: end-to-end requests/s, p50/p99 latency in blocks after confirmation, each instance's CPU and
 * RSS and share of the fulfilments, the node's and Postgres' CPU and the fullest block's gas, and
 * which limit was hit. Env: BENCH_RATE (requests/s offered, default 600), BENCH_SECONDS (default 8),
 * BENCH_KEEP=1 (keep the instances' logs), BENCH_LOG_LEVEL=debug (their per-pass timings).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Interface, computeAddress } from "ethers";
import { devKey } from "../../bridge/dev/accounts.js";
import { BridgeProcess } from "../../bridge/dev/bridge-process.js";
import { RELAYER_ACCOUNTS } from "../../bridge/dev/fleet-chaos.js";
import { startLocalNode } from "../../bridge/dev/local-node.js";
import { postgresServer } from "../../bridge/dev/postgres-server.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import { cpuSeconds, percentile, procStatus, startBenchStack, startProducer } from "./bench-processes.js";

/**
 * Default load: above one instance's capacity (the single SQLite bridge tops out at ~480/s on a
 * quiet 2-core VM, a Postgres instance below it), so a fleet has room to show more.
 */
const RATE = Number(process.env.BENCH_RATE ?? 600);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const PER_TX = 50;
const GAS_LIMIT = 300_000_000;
const CONFIRMATIONS = 1;
const DRAIN_TIMEOUT_S = 90;
const BLOCK_TIME_S = 1;
/** Extra node arguments for every bridge instance, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_BRIDGE_NODE_ARGS ?? "").split(" ").filter(Boolean);

/** A process that may have exited meanwhile reads as 0. */
const cpuOf = (pid: number) => {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
};
/** Peak resident memory (VmHWM) of a process; 0 once it has exited. */
const peakRss = (pid: number) => {
  try {
    return procStatus(pid).peak;
  } catch {
    return 0;
  }
};

/** CPU seconds of a process and its children (Postgres: the postmaster and its backends). */
function treeCpu(root: number): number {
  let total = cpuOf(root);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      if (ppid === root) total += cpuOf(Number(entry));
    } catch {
      // gone
    }
  }
  return total;
}

interface Row {
  instances: number;
  /** Requests/s offered (sent), and how many requests were sent and landed (opened by the router). */
  offered: number;
  sent: number;
  landed: number;
  fulfilled: number;
  /** Fulfilled requests per second of chain time, from the first request's block to the last fulfilment's. */
  throughput: number;
  exactlyOnce: boolean;
  steadyRate: number;
  p50: number;
  p99: number;
  perInstance: { cpuPct: number; rssMb: number; share: number }[];
  nodeCpuPct: number;
  dbCpuPct: number;
  /** The echo workers' process (signs every answer). */
  workerCpuPct: number;
  fullestBlockGasPct: number;
  wallS: number;
  /** os.loadavg()'s 1-minute figure at the start and the end: every process on the machine, not only the benchmark's. */
  loadAverage: [number, number];
}

async function runOnce(instances: number): Promise<Row> {
  const server = await postgresServer();
  const url = await server.createDatabase();
  const node = await startLocalNode({ gasLimit: GAS_LIMIT });
  const { worker, stack } = await startBenchStack(node.url, { rate: RATE, seconds: SECONDS, gasLimit: GAS_LIMIT, blockTimeS: BLOCK_TIME_S });
  await node.rpc("evm_setIntervalMining", [BLOCK_TIME_S]);
  await node.rpc("evm_setAutomine", [false]);
  const dir = mkdtempSync(join(tmpdir(), "bench-fleet-"));
  const keys = RELAYER_ACCOUNTS.slice(0, instances).map((account) => devKey(account));
  const bridges = keys.map((privateKey, i) => {
    const home = join(dir, `instance-${i}`);
    mkdirSync(home);
    return new BridgeProcess(
      home,
      {
        rpcUrl: node.url,
        router: stack.addresses.router,
        workerRegistry: stack.addresses.workerRegistry,
        privateKey,
        store: { kind: "postgres", url, leaseMs: 10_000 },
        confirmations: CONFIRMATIONS,
        pollIntervalMs: 100,
        logLevel: process.env.BENCH_LOG_LEVEL === "debug" ? "debug" : "warn",
        // Per instance: a fleet of 4 holds 4x as many worker calls open at once (one echo process).
        dispatch: { concurrency: 64, perWorkerConcurrency: 64 },
        submit: { maxBatchSize: 200, maxInFlight: 16 },
      },
      undefined,
      NODE_ARGS,
    );
  });
  try {
    await Promise.all(bridges.map((b) => b.start()));
    await Promise.all(bridges.map((b) => b.waitServing()));
    const pids = bridges.map((b) => b.pid!);
    const cpuBefore = pids.map(cpuOf);
    const nodeBefore = cpuOf(node.pid!);
    const workerBefore = cpuOf(worker.pid!);
    const dbBefore = treeCpu(server.pid);
    const loadBefore = loadavg()[0]!;
    const offeredLoad = startProducer(
      node.url,
      { requester: stack.addresses.requester!, router: stack.addresses.router! },
      { rate: RATE, seconds: SECONDS, perTx: PER_TX },
    );
    const started = Date.now();
    const offered = await offeredLoad;
    for (;;) {
      const status = await bridges[0]!.get<{ requests: Record<string, number> }>("/status", 10_000);
      if ((status?.body.requests.fulfilled ?? 0) >= offered.requests) break;
      if (Date.now() - started > (SECONDS + DRAIN_TIMEOUT_S) * 1000) {
        console.log(`bench: ${instances} instance(s) gave up waiting`, status?.body.requests);
        break;
      }
      await sleep(250);
    }
    const wallS = (Date.now() - started) / 1000;
    const cpu = pids.map((pid, i) => cpuOf(pid) - cpuBefore[i]!);
    const nodeCpu = cpuOf(node.pid!) - nodeBefore;
    const workerCpu = cpuOf(worker.pid!) - workerBefore;
    const dbCpu = treeCpu(server.pid) - dbBefore;
    const peaks = pids.map(peakRss);

    // From the chain: latency, steady-state rate, who fulfilled, the fullest block's gas.
    const iface = new Interface(ROUTER_ABI);
    const logs = await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" });
    const requestBlock = new Map<bigint, number>();
    const fulfilments = new Map<bigint, number>();
    const fulfilledInBlock = new Map<number, number>();
    const latencies: number[] = [];
    const fulfilTxs = new Set<string>();
    let first = Infinity;
    let lastRequest = 0;
    let lastFulfil = 0;
    for (const log of logs) {
      const parsed = iface.parseLog(log);
      if (!parsed) continue;
      const id = parsed.args.requestId as bigint;
      if (parsed.name === "AgentRequested") {
        requestBlock.set(id, log.blockNumber);
        first = Math.min(first, log.blockNumber);
        lastRequest = Math.max(lastRequest, log.blockNumber);
      } else if (parsed.name === "RequestFulfilled") {
        fulfilments.set(id, (fulfilments.get(id) ?? 0) + 1);
        latencies.push(log.blockNumber - requestBlock.get(id)! - CONFIRMATIONS);
        fulfilledInBlock.set(log.blockNumber, (fulfilledInBlock.get(log.blockNumber) ?? 0) + 1);
        lastFulfil = Math.max(lastFulfil, log.blockNumber);
        fulfilTxs.add(log.transactionHash);
      }
    }
    latencies.sort((a, b) => a - b);
    const steadyFrom = first + CONFIRMATIONS + 1;
    let steady = 0;
    for (let b = steadyFrom; b <= lastRequest; b++) steady += fulfilledInBlock.get(b) ?? 0;
    const perRelayer = new Map<string, number>();
    let fullest = 0;
    const blocksSeen = new Set<number>();
    for (const hash of fulfilTxs) {
      const tx = await stack.provider.getTransaction(hash);
      const receipt = await stack.provider.getTransactionReceipt(hash);
      const count = receipt!.logs.filter((l) => iface.parseLog(l)?.name === "RequestFulfilled").length;
      perRelayer.set(tx!.from.toLowerCase(), (perRelayer.get(tx!.from.toLowerCase()) ?? 0) + count);
      if (!blocksSeen.has(receipt!.blockNumber)) {
        blocksSeen.add(receipt!.blockNumber);
        const block = await stack.provider.getBlock(receipt!.blockNumber);
        fullest = Math.max(fullest, Number(block!.gasUsed) / Number(block!.gasLimit));
      }
    }
    const blockTime = async (n: number) => (await stack.provider.getBlock(n))!.timestamp;
    const spanS = latencies.length === 0 ? 1 : (await blockTime(lastFulfil)) - (await blockTime(first)) + BLOCK_TIME_S;
    return {
      instances,
      offered: offered.offered / offered.seconds,
      sent: offered.offered,
      landed: offered.requests,
      fulfilled: latencies.length,
      throughput: latencies.length / spanS,
      exactlyOnce: [...requestBlock.keys()].every((id) => fulfilments.get(id) === 1),
      steadyRate: steady / Math.max(1, lastRequest - steadyFrom + 1),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      perInstance: keys.map((key, i) => ({
        cpuPct: (cpu[i]! / wallS) * 100,
        rssMb: peaks[i]! / 1024 / 1024,
        share: (perRelayer.get(computeAddress(key).toLowerCase()) ?? 0) / Math.max(1, latencies.length),
      })),
      nodeCpuPct: (nodeCpu / wallS) * 100,
      workerCpuPct: (workerCpu / wallS) * 100,
      dbCpuPct: (dbCpu / wallS) * 100,
      fullestBlockGasPct: fullest * 100,
      wallS,
      loadAverage: [loadBefore, loadavg()[0]!],
    };
  } finally {
    await Promise.all(bridges.map((b) => b.stop()));
    worker.kill("SIGTERM");
    stack.provider.destroy();
    await node.stop();
    if (process.env.BENCH_KEEP) console.log(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The resource closest to its ceiling, when the fleet fell short of the load that landed: each
 * figure as a share of what it can have (a bridge instance's JavaScript runs on one core; anvil
 * mines on one; the machine's cores are shared by every process on it, the load average says how
 * many wanted one).
 */
export function limit(row: Row, cores = cpus().length): string {
  const landedRate = (row.offered * row.landed) / Math.max(1, row.sent);
  if (row.throughput >= landedRate * 0.95) return "none: kept up with the offered load (raise BENCH_RATE to find the limit)";
  const busiest = Math.max(...row.perInstance.map((p) => p.cpuPct));
  const ours = row.perInstance.reduce((sum, p) => sum + p.cpuPct, 0) + row.nodeCpuPct + row.dbCpuPct + row.workerCpuPct;
  const machine = Math.max(ours, Math.max(...row.loadAverage) * 100) / cores;
  const candidates: [string, number][] = [
    ["chain gas per block (fullest block)", row.fullestBlockGasPct],
    ["the RPC node's CPU (one core)", row.nodeCpuPct],
    ["the echo workers' CPU (one process, one core)", row.workerCpuPct],
    [`Postgres' CPU (of ${cores} cores)`, row.dbCpuPct / cores],
    ["the busiest bridge instance's CPU (one core)", busiest],
    [
      `this machine's ${cores} cores (load average ${Math.max(...row.loadAverage).toFixed(1)}; the benchmark's processes ${(ours / 100).toFixed(1)} cores)`,
      machine,
    ],
  ];
  const [name, pct] = candidates.sort((x, y) => y[1] - x[1])[0]!;
  // Nothing near its ceiling: the instances waited (store round trips, RPC answers, the submit
  // pipeline's steps).
  if (pct < 80) return `none saturated (highest: ${name} ${pct.toFixed(0)}%): the instances waited (store, RPC, submit pipeline)`;
  return `${name} at ${pct.toFixed(0)}%`;
}

export async function fleetBench(sizes: number[]): Promise<void> {
  const rows: Row[] = [];
  for (const n of sizes) {
    if (n < 1 || n > RELAYER_ACCOUNTS.length) throw new Error(`--instances: 1..${RELAYER_ACCOUNTS.length} each`);
    console.log(`fleet of ${n}: running (${RATE}/s offered for ${SECONDS} s)...`);
    rows.push(await runOnce(n));
  }
  const { stopPostgresServer } = await import("../../bridge/dev/postgres-server.js");
  await stopPostgresServer();
  const col = (f: (r: Row) => string) => rows.map((r) => f(r).padStart(22)).join("");
  console.log(
    `\n== relayer fleet on one Postgres (anvil ${BLOCK_TIME_S} s blocks, block gas limit ${GAS_LIMIT}, confirmations ${CONFIRMATIONS}, ${cpus().length} cores) ==`,
  );
  console.log(`${"instances".padEnd(28)}${col((r) => String(r.instances))}`);
  console.log(`${"offered requests/s".padEnd(28)}${col((r) => r.offered.toFixed(0))}`);
  console.log(`${"landed / sent".padEnd(28)}${col((r) => `${r.landed} / ${r.sent}`)}`);
  console.log(`${"fulfilled (exactly once)".padEnd(28)}${col((r) => `${r.fulfilled} (${r.exactlyOnce ? "yes" : "NO"})`)}`);
  console.log(`${"requests/s fulfilled".padEnd(28)}${col((r) => r.throughput.toFixed(0))}`);
  console.log(`${"  while the load ran".padEnd(28)}${col((r) => r.steadyRate.toFixed(0))}`);
  console.log(`${"latency p50/p99 (blocks)".padEnd(28)}${col((r) => `${r.p50} / ${r.p99}`)}`);
  console.log(`${"instance CPU % (each)".padEnd(28)}${col((r) => r.perInstance.map((p) => p.cpuPct.toFixed(0)).join("/"))}`);
  console.log(`${"instance RSS MB (each)".padEnd(28)}${col((r) => r.perInstance.map((p) => p.rssMb.toFixed(0)).join("/"))}`);
  console.log(`${"share of fulfilments %".padEnd(28)}${col((r) => r.perInstance.map((p) => (p.share * 100).toFixed(0)).join("/"))}`);
  console.log(`${"anvil CPU %".padEnd(28)}${col((r) => r.nodeCpuPct.toFixed(0))}`);
  console.log(`${"Postgres CPU %".padEnd(28)}${col((r) => r.dbCpuPct.toFixed(0))}`);
  console.log(`${"echo workers CPU %".padEnd(28)}${col((r) => r.workerCpuPct.toFixed(0))}`);
  console.log(`${"fullest block gas %".padEnd(28)}${col((r) => r.fullestBlockGasPct.toFixed(1))}`);
  console.log(`${"wall time s".padEnd(28)}${col((r) => r.wallS.toFixed(0))}`);
  console.log(`${"load average start/end".padEnd(28)}${col((r) => r.loadAverage.map((l) => l.toFixed(1)).join(" / "))}`);
  for (const row of rows) console.log(`limit with ${row.instances}: ${limit(row)}`);
  console.log(`(the machine is shared: the load average counts every process on it, not only the benchmark's)`);
}
