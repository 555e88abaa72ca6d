import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, Interface, NonceManager, Wallet, type JsonRpcProvider } from "ethers";
import type { BridgeConfigInput } from "../src/config.js";
import { ROUTER_ABI } from "../src/chain/contracts.js";
import { DEV_ROLES, devKey } from "./accounts.js";
import { BridgeProcess } from "./bridge-process.js";
import { deployStack } from "./deploy.js";
import { FakeWorker, type FakeWorkerOptions } from "./fake-worker.js";
import { FaultProxy, type FaultPlan } from "./fault-proxy.js";
import { startLocalNode } from "./local-node.js";

/** The workers of a chaos run, by role; each is assigned about the same share of the requests. */
export type WorkerRole = "healthy" | "slow" | "down" | "hung" | "large";

/** Roles whose worker is never able to answer: their requests are expected to time out. */
const DOWN_ROLES: ReadonlySet<WorkerRole> = new Set(["down", "hung"]);

export interface ChaosOptions {
  requests: number;
  perTx: number;
  /** Seconds over which the requests are sent. */
  loadSeconds: number;
  kills: number;
  /** Pause between kills, uniformly drawn (ms). */
  killEveryMs: readonly [number, number];
  /** How long the bridge stays dead after a SIGKILL (ms). */
  deadForMs: readonly [number, number];
  faults: FaultPlan;
  workers: readonly WorkerRole[];
  /** The slow worker: answer delay, and down `downMs` in every `periodMs`. */
  slow: { delayMs: number; periodMs: number; downMs: number };
  /** Router requestTimeout (s). */
  requestTimeout: number;
  /**
   * CI: deadlines far away (so a loaded machine cannot make an answered request late), and once every
   * request of an up worker is settled chain time jumps past them so the rest is timed out.
   */
  timeWarp: boolean;
  /** How long after the last kill everything must be settled. */
  drainLimitMs: number;
  bridge?: Partial<BridgeConfigInput>;
  seed: number;
  log?: (line: string) => void;
  /** Keep the bridge's directory (log, store, config) even after a clean run. */
  keep?: boolean;
}

export interface ChaosReport {
  sent: number;
  fulfilled: number;
  timedOut: number;
  timedOutWorkerUp: number;
  timedOutWorkerDown: number;
  /** Requested but neither fulfilled nor timed out at the end. */
  lost: number;
  /** Settled more than once, or more than one consumer callback. */
  doublePaid: number;
  /** PHA still reserved in the billing account at the end (wei). */
  reservedLeft: bigint;
  /** From the restart after the last kill until every request was settled (ms); undefined if never. */
  drainMs?: number;
  kills: number;
  bridgeStarts: number;
  faults: Record<string, number>;
  byRole: Record<string, { requests: number; fulfilled: number; timedOut: number }>;
  elapsedMs: number;
  logPath: string;
}

/** mulberry32: the run's own random numbers, repeatable from `seed`. */
export function generator(seed: number): () => number {
  let state = seed;
  return () => {
    let t = (state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An operator's bad day, end to end: anvil with 1 s blocks, the bridge started by its CLI with its
 * SQLite file and SIGKILLed again and again, a JSON-RPC proxy failing a share of its calls (gateway
 * errors, JSON-RPC errors, 5-30 s hangs, dropped connections, lost answers, a trailing log index),
 * and workers that are healthy, slow and periodically down, always down, hung, or answering 64 KiB.
 * Reports what happened to every request, from the chain's events (the source of truth).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = generator(options.seed);
  const between = ([min, max]: readonly [number, number]) => min + random() * (max - min);
  const started = Date.now();
  const node = await startLocalNode({ blockTime: 1 });
  const workers = options.workers.map((role) => ({ role, worker: new FakeWorker(workerOptions(role, options)) }));
  for (const { worker } of workers) await worker.listen();
  const stack = await deployStack(
    node.url,
    workers.map(({ worker }) => ({ key: worker.options.key, endpoint: worker.url })),
    { requestTimeout: options.timeWarp ? 3_600 : options.requestTimeout, funding: 10n ** 24n },
  );
  const roleOf = new Map(workers.map(({ role, worker }) => [worker.address.toLowerCase(), role]));
  const proxy = new FaultProxy(node.url, options.faults);
  await proxy.listen();
  const dir = mkdtempSync(join(tmpdir(), "bridge-chaos-"));
  const bridge = new BridgeProcess(dir, {
    rpcUrl: proxy.url,
    router: stack.addresses.router,
    workerRegistry: stack.addresses.workerRegistry,
    privateKey: devKey(DEV_ROLES.bridge),
    dbPath: join(dir, "bridge.sqlite"),
    confirmations: 1,
    pollIntervalMs: 250,
    logLevel: "info",
    schedule: { sweep: "*/3 * * * * *", retryStuck: "*/2 * * * * *", reconcile: "*/5 * * * * *", attestation: "*/30 * * * * *" },
    submit: { rebroadcastAfterMs: 6_000, missingReceiptGraceMs: 10_000, gasBumpAfterMs: 20_000 },
    ...options.bridge,
  });
  const slow = workers.find((w) => w.role === "slow")?.worker;
  const flapping = slow ? setInterval(() => flap(slow, options.slow.downMs), options.slow.periodMs) : undefined;

  let lastRestart = Date.now();
  let kills = 0;
  let report: ChaosReport | undefined;
  try {
    await bridge.start();
    await bridge.waitServing();
    log(`bridge serving; load: ${options.requests} requests in ${options.requests / options.perTx} transactions over ${options.loadSeconds} s`);
    const load = produce(stack.requester, stack.provider, options, log);
    for (; kills < options.kills; kills++) {
      await sleep(between(options.killEveryMs));
      await bridge.kill("SIGKILL");
      await sleep(between(options.deadForMs));
      await bridge.start();
      lastRestart = Date.now();
      log(`kill ${kills + 1}/${options.kills}, restarted (faults so far ${JSON.stringify(proxy.stats)})`);
    }
    const sent = await load;
    const ids = await requestIds(stack.router, stack.provider, sent);
    const settlements = settlementReader(stack.router, stack.provider);
    const upIds = new Set([...ids].filter(([, worker]) => !DOWN_ROLES.has(roleOf.get(worker)!)).map(([id]) => id));

    // Every request of an up worker settled; then (CI) the rest made expired; then everything settled.
    const deadline = lastRestart + options.drainLimitMs;
    await until(async () => settledOf(await settlements(), upIds) === upIds.size, deadline);
    if (options.timeWarp) {
      await node.rpc("evm_increaseTime", [3_700]);
      log("chain time moved past every deadline");
    }
    let drainMs: number | undefined;
    const everything = new Set(ids.keys());
    const done = async () => {
      const seen = await settlements();
      return settledOf(seen, everything) === everything.size && (await reserved(stack.router, stack.accountId)) === 0n;
    };
    if (await until(done, options.timeWarp ? Date.now() + options.drainLimitMs : deadline)) drainMs = Date.now() - lastRestart;

    const seen = await settlements();
    const byRole: ChaosReport["byRole"] = {};
    let timedOutWorkerUp = 0;
    let timedOutWorkerDown = 0;
    let doublePaid = 0;
    for (const [id, worker] of ids) {
      const role = roleOf.get(worker)!;
      const entry = (byRole[role] ??= { requests: 0, fulfilled: 0, timedOut: 0 });
      entry.requests++;
      const outcome = seen.get(id);
      if ((outcome?.count ?? 0) > 1) doublePaid++;
      if (outcome?.kind === "fulfilled") entry.fulfilled++;
      if (outcome?.kind === "timed_out") {
        entry.timedOut++;
        if (DOWN_ROLES.has(role)) timedOutWorkerDown++;
        else timedOutWorkerUp++;
      }
    }
    const answered = (await stack.requester.getFunction("answered")()) as bigint;
    const fulfilled = [...seen.values()].filter((s) => s.kind === "fulfilled").length;
    // A consumer called back more often than requests were fulfilled was paid twice somewhere.
    if (answered > BigInt(fulfilled)) doublePaid += Number(answered) - fulfilled;
    report = {
      sent: ids.size,
      fulfilled,
      timedOut: timedOutWorkerUp + timedOutWorkerDown,
      timedOutWorkerUp,
      timedOutWorkerDown,
      lost: [...ids.keys()].filter((id) => !seen.has(id)).length,
      doublePaid,
      reservedLeft: await reserved(stack.router, stack.accountId),
      drainMs,
      kills,
      bridgeStarts: bridge.starts,
      faults: { ...proxy.stats },
      byRole,
      elapsedMs: Date.now() - started,
      logPath: bridge.logPath,
    };
    return report;
  } finally {
    clearInterval(flapping);
    await bridge.stop();
    await proxy.close();
    for (const { worker } of workers) await worker.close();
    stack.provider.destroy();
    await node.stop();
    // Keep the bridge's log and store when something went wrong.
    if (!options.keep && report && report.lost === 0 && report.timedOutWorkerUp === 0 && report.doublePaid === 0) rmSync(dir, { recursive: true, force: true });
  }
}

function workerOptions(role: WorkerRole, options: ChaosOptions): FakeWorkerOptions {
  const key = Wallet.createRandom().privateKey;
  switch (role) {
    case "healthy":
      return { key };
    case "slow":
      return { key, delayMs: options.slow.delayMs };
    case "down":
      return { key, down: true };
    case "hung":
      return { key, hang: true };
    case "large":
      return { key, outputBytes: 64 * 1024 };
  }
}

function flap(worker: FakeWorker, downMs: number): void {
  worker.options.down = true;
  setTimeout(() => (worker.options.down = false), downMs).unref();
}

/** Sends the load at a steady rate from its own account; returns the transactions' hashes once all are mined. */
export async function produce(requester: Contract, provider: JsonRpcProvider, options: ChaosOptions, log: (line: string) => void): Promise<string[]> {
  const signer = new NonceManager(new Wallet(devKey(DEV_ROLES.operator), provider));
  const contract = requester.connect(signer) as Contract;
  const txs = Math.ceil(options.requests / options.perTx);
  const interval = (options.loadSeconds * 1000) / txs;
  const startedAt = Date.now();
  const hashes: string[] = [];
  for (let i = 0; i < txs; i++) {
    const due = startedAt + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const tx = (await contract.getFunction("requestMany")(`c${i}-`, options.perTx, { gasLimit: 10_000_000 })) as { hash: string };
    hashes.push(tx.hash);
  }
  log(`load sent: ${txs} transactions`);
  return hashes;
}

const routerEvents = new Interface(ROUTER_ABI);

/** Request id -> assigned worker (lower case), from the AgentRequested events of the load's transactions. */
export async function requestIds(router: Contract, provider: JsonRpcProvider, hashes: string[]): Promise<Map<bigint, string>> {
  const ids = new Map<bigint, string>();
  const address = (await router.getAddress()).toLowerCase();
  for (const hash of hashes) {
    let receipt = await provider.getTransactionReceipt(hash);
    while (!receipt) {
      await sleep(500);
      receipt = await provider.getTransactionReceipt(hash);
    }
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== address) continue;
      const parsed = routerEvents.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "AgentRequested") ids.set(parsed.args.requestId as bigint, (parsed.args.worker as string).toLowerCase());
    }
  }
  return ids;
}

type Settlements = Map<bigint, { kind: "fulfilled" | "timed_out"; count: number }>;
const FULFILLED = routerEvents.getEvent("RequestFulfilled")!.topicHash;
const TIMED_OUT = routerEvents.getEvent("RequestTimedOut")!.topicHash;

/**
 * Request id -> how it was settled and how many times, from the router's events; reads only the
 * settlement topics, and only blocks not read before (the run's own process also serves the fault
 * proxy and the workers: it must stay light).
 */
export function settlementReader(router: Contract, provider: JsonRpcProvider): () => Promise<Settlements> {
  const seen: Settlements = new Map();
  let next = 0;
  return async () => {
    const head = await provider.getBlockNumber();
    if (head < next) return seen;
    const logs = await provider.getLogs({ address: await router.getAddress(), fromBlock: next, toBlock: head, topics: [[FULFILLED, TIMED_OUT]] });
    for (const log of logs) {
      const id = BigInt(log.topics[1]!);
      const previous = seen.get(id);
      seen.set(id, { kind: log.topics[0] === FULFILLED ? "fulfilled" : "timed_out", count: (previous?.count ?? 0) + 1 });
    }
    next = head + 1;
    return seen;
  };
}

export function settledOf(seen: Map<bigint, unknown>, ids: Set<bigint>): number {
  let count = 0;
  for (const id of ids) if (seen.has(id)) count++;
  return count;
}

export async function reserved(router: Contract, accountId: bigint): Promise<bigint> {
  return ((await router.getFunction("accountOf")(accountId)) as { reserved: bigint }).reserved;
}

export async function until(condition: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(1_000);
  }
}

/** The report as the lines `npm run chaos` prints. */
export function formatReport(report: ChaosReport): string {
  const roles = Object.entries(report.byRole)
    .map(([role, r]) => `${role} ${r.fulfilled}/${r.requests} fulfilled, ${r.timedOut} timed out`)
    .join("; ");
  return [
    `requests sent          ${report.sent}`,
    `fulfilled              ${report.fulfilled}`,
    `timed out              ${report.timedOut} (worker up: ${report.timedOutWorkerUp}, worker down: ${report.timedOutWorkerDown})`,
    `lost                   ${report.lost}`,
    `double-paid            ${report.doublePaid}`,
    `reserved left          ${report.reservedLeft} wei`,
    `drain after last kill  ${report.drainMs === undefined ? "did not drain" : `${(report.drainMs / 1000).toFixed(1)} s`}`,
    `kills                  ${report.kills} (bridge started ${report.bridgeStarts} times)`,
    `faults injected        ${Object.entries(report.faults)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `by worker              ${roles}`,
    `run time               ${(report.elapsedMs / 1000).toFixed(0)} s; bridge log ${report.logPath}`,
  ].join("\n");
}
