import { expect } from "chai";
import { Wallet } from "ethers";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { Dispatcher, backoffDelay } from "../../bridge/src/dispatcher.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { AnswerVerifier } from "../../bridge/src/verify.js";
import { StaticWorkerDirectory } from "../../bridge/src/worker-directory.js";

const WORKER_KEY = Wallet.createRandom().privateKey;

describe("bridge Dispatcher", () => {
  let store: SqliteStore;
  let chain: SyntheticChain;
  const servers: FakeWorker[] = [];

  async function worker(options: Partial<ConstructorParameters<typeof FakeWorker>[0]> = {}) {
    const w = new FakeWorker({ key: WORKER_KEY, ...options });
    await w.listen();
    servers.push(w);
    return w;
  }

  function dispatcher(endpoints: string[], timeoutMs = 1_000) {
    const directory = new StaticWorkerDirectory({ [chain.worker]: endpoints });
    return new Dispatcher(
      store,
      directory,
      new AnswerVerifier(31337n, chain.router),
      { chainId: 31337n, router: chain.router },
      { timeoutMs, concurrency: 8, backoffBaseMs: 10_000, backoffMaxMs: 60_000 },
      new BridgeMetrics(store, false),
      createLogger("silent"),
    );
  }

  beforeEach(async () => {
    chain = new SyntheticChain();
    // The synthetic chain's worker must be the fake worker's key for signatures to verify.
    Object.defineProperty(chain, "worker", { value: new Wallet(WORKER_KEY).address });
    chain.mine(2);
    store = new SqliteStore(":memory:");
    store.bind(31337n, chain.router);
    const events = await chain.routerEvents(0, 1);
    store.applyScan({ ...events, blocks: [{ number: 1, hash: chain.blocks[1]!.hash }], cursor: { number: 1, hash: chain.blocks[1]!.hash } }, 64);
    store.confirmBlock({ number: 1, hash: chain.blocks[1]!.hash }, Date.now());
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    store.close();
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffDelay(1, 100, 10_000, () => 1)).to.equal(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).to.equal(800);
    expect(backoffDelay(4, 100, 10_000, () => 0)).to.equal(400);
    expect(backoffDelay(30, 100, 10_000, () => 1)).to.equal(10_000);
  });

  it("stores a verified answer as signed", async () => {
    const w = await worker();
    const d = dispatcher([w.url]);
    d.tick(0n);
    await d.drain();
    expect(store.counts().signed).to.equal(2);
  });

  it("fails over to the next endpoint of the same worker", async () => {
    const down = await worker({ down: true });
    const replica = await worker();
    const d = dispatcher([down.url, replica.url]);
    d.tick(0n);
    await d.drain();
    expect(store.counts().signed).to.equal(2);
    expect(replica.executed).to.equal(2);
  });

  it("rejects an answer signed by another key and schedules a retry with backoff", async () => {
    const w = await worker({ signWith: Wallet.createRandom().privateKey });
    const d = dispatcher([w.url]);
    const before = Date.now();
    d.tick(0n);
    await d.drain();
    const record = store.get(1n)!;
    expect(record.state).to.equal("dispatched");
    expect(record.lastError).to.match(/signed by .* but the request is assigned to/);
    expect(record.nextAttemptAt).to.be.at.least(before + 5_000);
    d.tick(0n);
    await d.drain();
    expect(store.get(1n)!.attempts).to.equal(1, "not retried before its backoff");
  });

  it("gives up on a worker that does not answer within the timeout", async () => {
    const slow = await worker({ delayMs: 2_000 });
    const d = dispatcher([slow.url], 100);
    d.tick(0n);
    await d.drain();
    expect(store.get(1n)!.lastError).to.match(/no answer within 100 ms/);
  });

  it("leaves a request past its deadline to the timeout sweep", async () => {
    const w = await worker();
    const d = dispatcher([w.url]);
    d.tick(store.get(1n)!.request.deadline + 1n);
    await d.drain();
    expect(store.counts().failed).to.equal(2);
    expect(w.executed).to.equal(0);
  });
});
