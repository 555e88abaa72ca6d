import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { FaultProxy } from "../../bridge/dev/fault-proxy.js";
import { Bridge } from "../../bridge/src/bridge.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { Scheduler } from "../../bridge/src/scheduler.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { type Scenario, startScenario, waitFor } from "./helpers.js";

/** Collects a logger's lines. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe("bridge health and start-up", function () {
  this.timeout(120_000);
  let scenario: Scenario | undefined;
  let proxy: FaultProxy | undefined;
  const bridges: Bridge[] = [];

  afterEach(async () => {
    for (const bridge of bridges.splice(0)) await bridge.stop();
    await proxy?.close();
    await scenario?.stop();
    proxy = scenario = undefined;
  });

  it("keeps node-cron's messages in the JSON log (a skipped overlapping run used to print a coloured console line)", async () => {
    const { stream, lines } = capture();
    const store = new SqliteStore(":memory:");
    const scheduler = new Scheduler(new BridgeMetrics(store, false), createLogger("debug", stream));
    const consoleLines: unknown[] = [];
    const saved = { warn: console.warn, log: console.log, info: console.info, error: console.error, debug: console.debug };
    for (const method of Object.keys(saved) as (keyof typeof saved)[]) console[method] = (...args: unknown[]) => void consoleLines.push(args);
    try {
      scheduler.add({ name: "slow", expression: "* * * * * *", run: () => sleep(2_200) });
      await sleep(3_500);
    } finally {
      Object.assign(console, saved);
      await scheduler.stop();
      await store.close();
    }
    expect(consoleLines).to.deep.equal([]);
    expect(lines.every((line) => JSON.parse(line))).to.equal(true);
    expect(lines.map((line) => JSON.parse(line) as { event?: string }).some((entry) => entry.event === "cron")).to.equal(
      true,
      "the overlap was logged as JSON",
    );
  });

  it("starts while its RPC fails: serves /healthz (503, with the error) and retries until the chain answers", async () => {
    scenario = await startScenario();
    proxy = new FaultProxy(scenario.node.url, { rate: 1, weights: { http500: 1, rpcError: 0, hang: 0, drop: 0, lostAnswer: 0 } });
    await proxy.listen();
    const config = scenario.bridgeConfig({ rpcUrl: proxy.url });
    const bridge = await Bridge.create(config, { logger: createLogger("silent") });
    bridges.push(bridge);
    const started = bridge.start();
    await waitFor(() => bridge.httpPort !== undefined && bridge.stages.get("startup").consecutiveFailures >= 2, 10_000, "two failed connection attempts");
    const response = await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`);
    expect(response.status).to.equal(503);
    const body = (await response.json()) as { stages: { startup: { ok: boolean; error: string } } };
    expect(body.stages.startup).to.deep.include({ ok: false });
    // RPC_FAILED names the node (its origin only: a path or query may hold an API key).
    expect(body.stages.startup.error).to.include(`eth_chainId failed (${new URL(proxy.url).origin}): HTTP 500`);
    proxy.plan = { rate: 0 };
    await started;
    await scenario.request(3, "late-");
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 3, 30_000, "fulfilments once the chain answers");
    await waitFor(async () => (await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`)).status === 200, 10_000, "healthy");
  });

  it("turns unhealthy when the submitter is jammed (a transaction unmined for long) and when expired requests are not swept", async () => {
    scenario = await startScenario();
    // No scheduled sweep: the test runs it.
    const bridge = await scenario.startBridge({ schedule: { sweep: "0 0 0 1 1 *", retryStuck: "* * * * * *", attestation: "0 0 0 1 1 *" } });
    bridges.push(bridge);
    await waitFor(async () => (await bridge.health()).ok, 10_000, "healthy");

    const jammed = await bridge.store.createTx(
      { kind: "fulfill", nonce: 1_000, to: bridge.chain.router, data: "0x", gasLimit: 21_000n, requestIds: [] },
      { hash: `0x${"ab".repeat(32)}`, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, createdAt: Date.now() - 10 * 60_000 },
    );
    expect((await bridge.health()).stages.submitter).to.include({ ok: false, unminedTransactions: 1 });
    await bridge.store.abandonTx(jammed, "test");
    expect((await bridge.health()).stages.submitter!.ok).to.equal(true);

    scenario.workers[0]!.options.down = true;
    await scenario.request(2, "expiring-");
    await waitFor(async () => (await bridge.store.list()).length === 2, 10_000, "requests seen");
    await scenario.node.rpc("evm_increaseTime", [600]);
    await scenario.node.rpc("evm_mine", []);
    await waitFor(async () => (await bridge.health()).stages.sweeper!.ok === false, 10_000, "sweeper behind");
    expect((await bridge.health()).ok).to.equal(false);
    await bridge.sweep();
    await waitFor(async () => (await bridge.store.counts()).timed_out === 2, 20_000, "swept");
    await waitFor(async () => (await bridge.health()).ok, 10_000, "healthy again");
  });
});
