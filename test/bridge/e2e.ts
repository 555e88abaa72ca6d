import { expect } from "chai";
import { Wallet } from "ethers";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { PRAGUE, gasLimitFor } from "../../bridge/src/chain/gas-schedule.js";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";
import { FaultProxy } from "../../bridge/dev/fault-proxy.js";

/** Moves chain time past every open request's deadline (router requestTimeout is 120 s in these tests). */
async function passDeadlines(scenario: Scenario): Promise<void> {
  await scenario.node.rpc("evm_increaseTime", [600]);
  await scenario.node.rpc("evm_mine", []);
}

describe("bridge end to end (anvil)", function () {
  this.timeout(180_000);
  let scenario: Scenario | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await scenario?.stop();
    scenario = undefined;
  });

  it("fulfils a stream of requests exactly once each, in batches", async () => {
    scenario = await startScenario();
    const bridge = await scenario.startBridge();
    for (let i = 0; i < 5; i++) await scenario.request(20, `s${i}-`);
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 100, 60_000, "100 fulfilments");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 100, timedOut: 0 });
    expect(await scenario.stack.requester.getFunction("answered")()).to.equal(100n);
    expect((await bridge.store.txStats()).count).to.be.lessThan(100, "fulfilments were batched");
  });

  it("resumes from its store after being stopped mid-stream, paying each request once", async () => {
    scenario = await startScenario();
    scenario.workers[0]!.options.delayMs = 20;
    const first = await scenario.startBridge({ submit: { maxBatchSize: 5 } });
    for (let i = 0; i < 6; i++) await scenario.request(25, `r${i}-`);
    await waitFor(async () => (await first.store.counts()).fulfilled >= 20, 60_000, "some fulfilments");
    await first.stop();
    const settledBefore = (await scenario.settledCounts()).fulfilled.size;
    expect(settledBefore).to.be.lessThan(150, "bridge was stopped mid-stream");
    await scenario.request(25, "after-");
    const second = await scenario.startBridge({ submit: { maxBatchSize: 5 } });
    await waitFor(async () => (await second.store.counts()).fulfilled === 175, 90_000, "175 fulfilments after restart");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 175, timedOut: 0 });
    expect(await scenario.stack.requester.getFunction("answered")()).to.equal(175n);
  });

  it("fails over to a replica endpoint, and times out (refund + slash) a worker that never answers", async () => {
    scenario = await startScenario({ workerCount: 2 });
    const [healthy, dead] = scenario.workers as [FakeWorker, FakeWorker];
    healthy.options.down = true; // its on-chain endpoint answers 503...
    const replica = new FakeWorker({ key: healthy.options.key }); // ...but a replica of the same enclave key is up
    await replica.listen();
    cleanups.push(() => replica.close());
    dead.options.down = true;
    const bridge = await scenario.startBridge({ workers: { [healthy.address]: [replica.url] } });
    await scenario.request(30);
    await waitFor(async () => (await bridge.store.list({ limit: 1_000 })).length === 30, 30_000, "30 requests stored");
    const assigned = async (worker: string) => (await bridge.store.list({ limit: 1_000 })).filter((r) => r.request.worker === worker).length;
    await waitFor(async () => (await assigned(healthy.address)) === (await bridge.store.counts()).fulfilled, 60_000, "healthy worker's requests fulfilled");
    const deadCount = (await bridge.store.list({ limit: 1_000 })).filter((r) => r.request.worker === dead.address).length;
    expect(deadCount).to.be.greaterThan(0);
    expect(replica.executed).to.be.greaterThan(0);

    const before = (await scenario.stack.router.getFunction("accountOf")(1n)) as { reserved: bigint };
    expect(before.reserved).to.be.greaterThan(0n);
    await passDeadlines(scenario);
    await waitFor(async () => (await bridge.store.counts()).timed_out === deadCount, 60_000, "dead worker's requests timed out");
    const settled = assertExactlyOnce(await scenario.settledCounts());
    expect(settled).to.deep.equal({ fulfilled: 30 - deadCount, timedOut: deadCount });
    expect(await scenario.stack.staking.getFunction("timeoutSlashes")(dead.address)).to.equal(BigInt(deadCount));
    expect(await scenario.stack.staking.getFunction("timeoutSlashes")(healthy.address)).to.equal(0n);
    const after = (await scenario.stack.router.getFunction("accountOf")(1n)) as { reserved: bigint };
    expect(after.reserved).to.equal(0n, "every reservation refunded or settled");
  });

  it("never submits an answer signed by a key other than the assigned worker's", async () => {
    scenario = await startScenario();
    const worker = scenario.workers[0]!;
    worker.options.signWith = Wallet.createRandom().privateKey;
    const bridge = await scenario.startBridge();
    await scenario.request(3);
    await waitFor(
      async () => (await bridge.store.list()).length === 3 && (await bridge.store.list()).every((r) => r.attempts >= 2),
      30_000,
      "retries of rejected answers",
    );
    expect((await bridge.store.counts()).signed + (await bridge.store.counts()).submitted).to.equal(0);
    expect((await bridge.store.txStats()).count).to.equal(0, "no gas spent");
    expect((await bridge.store.list())[0]!.lastError).to.match(/signed by 0x[0-9a-fA-F]{40}, but the request is assigned to/);
    await passDeadlines(scenario);
    await waitFor(async () => (await bridge.store.counts()).timed_out === 3, 30_000, "timeouts");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 0, timedOut: 3 });
  });

  it("fulfils honest 64 KiB outputs: batches cut by size, gas limits at the fork's calldata floor", async () => {
    scenario = await startScenario();
    scenario.workers[0]!.options.outputBytes = 64 * 1024;
    const bridge = await scenario.startBridge();
    await scenario.request(6, "big-");
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 6, 60_000, "6 fulfilments with 64 KiB outputs");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 6, timedOut: 0 });
    const sent = (await Promise.all(Array.from({ length: 21 }, (_, n) => bridge.store.txsWithNonce(n)))).flat();
    const fulfils = sent.filter((tx) => tx.kind === "fulfill" && tx.state === "confirmed");
    expect(fulfils.length).to.be.greaterThan(0);
    for (const tx of fulfils) {
      expect((tx.data.length - 2) / 2).to.be.at.most(bridge.config.submit.maxTxBytes);
      expect(tx.gasLimit).to.be.at.least(gasLimitFor(tx.data, 0n, PRAGUE), "at or above the EIP-7623 floor");
    }
  });

  it("settles every request exactly once when a fraction of JSON-RPC calls fail", async () => {
    scenario = await startScenario();
    // 10% refused by the gateway, 5% acted on with the answer lost.
    const proxy = new FaultProxy(scenario.node.url, { rate: 0.15, weights: { http500: 2, lostAnswer: 1, rpcError: 0, hang: 0, drop: 0 } });
    const url = await proxy.listen();
    cleanups.push(() => proxy.close());
    const bridge = await scenario.startBridge({ submit: { maxBatchSize: 10 } }, url);
    for (let i = 0; i < 4; i++) await scenario.request(25, `f${i}-`);
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 100, 90_000, "100 fulfilments through a flaky RPC");
    expect(proxy.stats.http500 + proxy.stats.lostAnswer).to.be.greaterThan(10);
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 100, timedOut: 0 });
    expect(await scenario.stack.requester.getFunction("answered")()).to.equal(100n);
  });

  for (const logsOnly of [false, true]) {
    it(`behind an RPC whose ${logsOnly ? "log index trails (eth_getLogs clamped, headers current)" : "backends lag (clamped logs, missing blocks)"}: every request fulfilled, no false reorg`, async () => {
      scenario = await startScenario();
      const proxy = new FaultProxy(scenario.node.url, { rate: 0, lag: { rate: 0.5, blocks: 3, logsOnly } });
      const url = await proxy.listen();
      cleanups.push(() => proxy.close());
      const bridge = await scenario.startBridge({}, url);
      for (let i = 0; i < 12; i++) await scenario.request(1, `lag${i}-`);
      await waitFor(async () => (await bridge.store.counts()).fulfilled === 12, 60_000, "12 fulfilments behind a lagging RPC");
      expect(proxy.stats.lagged).to.be.greaterThan(10);
      expect((await bridge.metrics.reorgs.get()).values[0]?.value ?? 0).to.equal(0, "a lagging node is not a reorg");
      expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 12, timedOut: 0 });
    });
  }

  it("drops requests whose block was reorganised away and serves the new chain's requests", async () => {
    scenario = await startScenario();
    const bridge = await scenario.startBridge({ confirmations: 3 });
    const snapshot = await scenario.node.rpc("evm_snapshot", []);
    await scenario.request(5, "old-");
    await waitFor(async () => (await bridge.store.counts()).seen === 5, 10_000, "5 seen");
    await scenario.node.rpc("evm_revert", [snapshot]);
    // The new chain: other requests (same ids, other inputs), then enough blocks to confirm them.
    // Sent through the node's unlocked account: a client-side nonce cache would not know of the revert.
    await scenario.node.rpc("evm_mine", []);
    const data = scenario.stack.requester.interface.encodeFunctionData("requestMany", ["new-", 5]);
    const from = new Wallet(devKey(DEV_ROLES.agentOwner)).address;
    await scenario.node.rpc("eth_sendTransaction", [{ from, to: scenario.stack.addresses.requester, data }]);
    for (let i = 0; i < 3; i++) await scenario.node.rpc("evm_mine", []);
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 5, 30_000, "new chain's requests fulfilled");
    expect(bridge.metrics.reorgs.get).to.exist;
    expect((await bridge.metrics.reorgs.get()).values[0]!.value).to.be.greaterThan(0);
    const inputs = (await bridge.store.list()).map((r) => Buffer.from(r.input.slice(2), "hex").toString());
    expect(inputs.every((i) => i.startsWith("new-"))).to.equal(true, `only the new chain's requests: ${inputs.join(",")}`);
    expect(scenario.workers[0]!.executed).to.equal(5, "orphaned requests were never dispatched");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 5, timedOut: 0 });
  });
});
