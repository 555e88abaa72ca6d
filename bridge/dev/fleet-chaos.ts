import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Wallet, computeAddress } from "ethers";
import pg from "pg";
import { DEV_ROLES, devKey } from "./accounts.js";
import { BridgeProcess } from "./bridge-process.js";
import { generator, produce, requestIds, reserved, settledOf, settlementReader, until, type ChaosOptions } from "./chaos.js";
import { deployStack } from "./deploy.js";
import { FakeWorker } from "./fake-worker.js";
import { startLocalNode } from "./local-node.js";
import { postgresServer } from "./postgres-server.js";

/** Funded development accounts (anvil's ten) the chaos run and the benchmark leave free: one relayer key per fleet instance. */
export const RELAYER_ACCOUNTS = [DEV_ROLES.bridge, DEV_ROLES.bridgeB, 7, 8, 9] as const;

export interface FleetChaosOptions {
  instances: number;
  requests: number;
  perTx: number;
  loadSeconds: number;
  /** One instance (drawn at random) is SIGKILLed this often (ms)... */
  killEveryMs: readonly [number, number];
  /** ...and restarted after this long: longer than `leaseMs` leaves its claims to the others. */
  deadForMs: readonly [number, number];
  /** Kills continue this long after the load was sent. */
  killAfterLoadMs: number;
  leaseMs: number;
  drainLimitMs: number;
  seed: number;
  log?: (line: string) => void;
  keep?: boolean;
}

export interface FleetChaosReport {
  sent: number;
  fulfilled: number;
  timedOut: number;
  lost: number;
  doublePaid: number;
  reservedLeft: bigint;
  /** Requests the shared store still holds unsettled after the drain (stuck). */
  stuck: number;
  kills: number;
  /** Kills whose instance stayed dead longer than the lease (its claims were taken over). */
  longKills: number;
  /** fulfilBatch transactions mined per relayer (instance). */
  fulfilTxsByInstance: number[];
  drainMs?: number;
  elapsedMs: number;
  dir: string;
}

/**
 * A relayer fleet's bad day: anvil with 1 s blocks, `instances` bridge CLIs on one Postgres (each
 * its own relayer key), one of them SIGKILLed every few seconds and restarted (sometimes only after
 * its leases ran out), under a steady load of requests for two healthy workers. Deadlines are far
 * away, so every request must end fulfilled, exactly once, with nothing left unsettled in the store.
 */
export async function runFleetChaos(options: FleetChaosOptions): Promise<FleetChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = generator(options.seed);
  const between = ([min, max]: readonly [number, number]) => min + random() * (max - min);
  const started = Date.now();
  const server = await postgresServer();
  const url = await server.createDatabase();
  const node = await startLocalNode({ blockTime: 1 });
  const workers = [new FakeWorker({ key: Wallet.createRandom().privateKey }), new FakeWorker({ key: Wallet.createRandom().privateKey, delayMs: 100 })];
  for (const worker of workers) await worker.listen();
  const stack = await deployStack(
    node.url,
    workers.map((worker) => ({ key: worker.options.key, endpoint: worker.url })),
    { requestTimeout: 3_600, funding: 10n ** 24n },
  );
  const dir = mkdtempSync(join(tmpdir(), "bridge-fleet-"));
  const keys = RELAYER_ACCOUNTS.slice(0, options.instances).map((account) => devKey(account));
  if (keys.length < options.instances) throw new Error(`at most ${RELAYER_ACCOUNTS.length} instances`);
  const bridges = keys.map((privateKey, i) => {
    const home = join(dir, `instance-${i}`);
    mkdirSync(home);
    return new BridgeProcess(home, {
      rpcUrl: node.url,
      router: stack.addresses.router,
      workerRegistry: stack.addresses.workerRegistry,
      privateKey,
      store: { kind: "postgres", url, leaseMs: options.leaseMs },
      confirmations: 1,
      pollIntervalMs: 250,
      logLevel: "info",
      schedule: { sweep: "*/3 * * * * *", retryStuck: "*/2 * * * * *", reconcile: "*/5 * * * * *", attestation: "*/30 * * * * *" },
      submit: { rebroadcastAfterMs: 6_000, missingReceiptGraceMs: 10_000, gasBumpAfterMs: 20_000 },
    });
  });
  let kills = 0;
  let longKills = 0;
  let lastRestart = Date.now();
  let report: FleetChaosReport | undefined;
  try {
    await Promise.all(bridges.map((b) => b.start()));
    await Promise.all(bridges.map((b) => b.waitServing()));
    log(`${bridges.length} instances serving; load: ${options.requests} requests over ${options.loadSeconds} s`);
    let loadDone = false;
    const load = produce(
      stack.requester,
      stack.provider,
      { requests: options.requests, perTx: options.perTx, loadSeconds: options.loadSeconds } as ChaosOptions,
      log,
    ).finally(() => (loadDone = true));
    let killUntil = Infinity;
    while (Date.now() < killUntil) {
      await sleep(between(options.killEveryMs));
      const victim = bridges[Math.floor(random() * bridges.length)]!;
      const deadFor = between(options.deadForMs);
      await victim.kill("SIGKILL");
      kills++;
      if (deadFor > options.leaseMs) longKills++;
      await sleep(deadFor);
      await victim.start();
      lastRestart = Date.now();
      log(`kill ${kills}: instance ${bridges.indexOf(victim)} dead ${Math.round(deadFor)} ms`);
      if (loadDone && killUntil === Infinity) killUntil = Date.now() + options.killAfterLoadMs;
    }
    const sent = await load;
    const ids = await requestIds(stack.router, stack.provider, sent);
    const settlements = settlementReader(stack.router, stack.provider);
    const everything = new Set(ids.keys());
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const unsettledInStore = async () =>
      Number((await db.query("SELECT COUNT(*) AS n FROM requests WHERE state NOT IN ('fulfilled', 'timed_out')")).rows[0].n as string);
    let drainMs: number | undefined;
    try {
      const done = async () =>
        settledOf(await settlements(), everything) === everything.size &&
        (await reserved(stack.router, stack.accountId)) === 0n &&
        (await unsettledInStore()) === 0;
      if (await until(done, lastRestart + options.drainLimitMs)) drainMs = Date.now() - lastRestart;
      const seen = await settlements();
      const answered = (await stack.requester.getFunction("answered")()) as bigint;
      const fulfilled = [...seen.values()].filter((s) => s.kind === "fulfilled").length;
      let doublePaid = [...seen.values()].filter((s) => s.count > 1).length;
      if (answered > BigInt(fulfilled)) doublePaid += Number(answered) - fulfilled;
      const byRelayer = await db.query("SELECT relayer, COUNT(*) AS n FROM transactions WHERE kind = 'fulfill' AND state = 'confirmed' GROUP BY relayer");
      const fulfilTxs = new Map(byRelayer.rows.map((r: { relayer: string; n: string }) => [r.relayer, Number(r.n)]));
      report = {
        sent: ids.size,
        fulfilled,
        timedOut: [...seen.values()].filter((s) => s.kind === "timed_out").length,
        lost: [...everything].filter((id) => !seen.has(id)).length,
        doublePaid,
        reservedLeft: await reserved(stack.router, stack.accountId),
        stuck: await unsettledInStore(),
        kills,
        longKills,
        fulfilTxsByInstance: keys.map((key) => fulfilTxs.get(computeAddress(key).toLowerCase()) ?? 0),
        drainMs,
        elapsedMs: Date.now() - started,
        dir,
      };
      return report;
    } finally {
      await db.end();
    }
  } finally {
    await Promise.all(bridges.map((b) => b.stop()));
    for (const worker of workers) await worker.close();
    stack.provider.destroy();
    await node.stop();
    if (!options.keep && report && report.lost === 0 && report.doublePaid === 0 && report.stuck === 0) rmSync(dir, { recursive: true, force: true });
  }
}

export function formatFleetReport(report: FleetChaosReport): string {
  return [
    `requests sent          ${report.sent}`,
    `fulfilled              ${report.fulfilled}`,
    `timed out              ${report.timedOut}`,
    `lost                   ${report.lost}`,
    `double-paid            ${report.doublePaid}`,
    `stuck in the store     ${report.stuck}`,
    `reserved left          ${report.reservedLeft} wei`,
    `kills                  ${report.kills} (${report.longKills} dead longer than the lease)`,
    `fulfil txs by instance ${report.fulfilTxsByInstance.join(" / ")}`,
    `drain after last kill  ${report.drainMs === undefined ? "did not drain" : `${(report.drainMs / 1000).toFixed(1)} s`}`,
    `run time               ${(report.elapsedMs / 1000).toFixed(0)} s; logs in ${report.dir}`,
  ].join("\n");
}
