import { expect } from "chai";
import { Wallet } from "ethers";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { classifyRefusal } from "../../bridge/src/dispatch/worker-refusals.js";
import { Dispatcher, backoffDelay, type DispatcherOptions } from "../../bridge/src/dispatcher.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { AnswerVerifier } from "../../bridge/src/verify.js";
import { StaticWorkerDirectory } from "../../bridge/src/worker-directory.js";
import { WORKER_ERRORS } from "../../protocol/worker-api.js";
import { waitFor } from "./helpers.js";

const WORKER_KEY = Wallet.createRandom().privateKey;
const OTHER_KEY = Wallet.createRandom().privateKey;
const BASE: DispatcherOptions = {
  timeoutMs: 1_000,
  concurrency: 8,
  perWorkerConcurrency: 8,
  backoffBaseMs: 10_000,
  backoffMaxMs: 60_000,
  breakerThreshold: 5,
  breakerCooldownMs: 1_000,
  breakerMaxCooldownMs: 8_000,
  hedgeMinMs: 50,
};

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

  function dispatcher(endpoints: Record<string, string[]> | string[], options: Partial<DispatcherOptions> = {}) {
    const directory = new StaticWorkerDirectory(Array.isArray(endpoints) ? { [chain.worker]: endpoints } : endpoints);
    return new Dispatcher(
      store,
      directory,
      new AnswerVerifier(31337n, chain.router),
      { chainId: 31337n, router: chain.router },
      { ...BASE, ...options },
      new BridgeMetrics(store, false),
      createLogger("silent"),
    );
  }

  async function load(requests: number, workerFor?: (id: bigint) => string) {
    chain = new SyntheticChain();
    // The synthetic chain's worker must be the fake worker's key for signatures to verify.
    Object.defineProperty(chain, "worker", { value: new Wallet(WORKER_KEY).address });
    chain.workerFor = workerFor;
    chain.mine(requests);
    store = new SqliteStore(":memory:");
    await store.bind(31337n, chain.router);
    const events = await chain.routerEvents(0, 1);
    await store.applyScan({ ...events, blocks: [{ number: 1, hash: chain.blocks[1]!.hash }], cursor: { number: 1, hash: chain.blocks[1]!.hash } }, 64);
    await store.confirmBlock({ number: 1, hash: chain.blocks[1]!.hash }, Date.now());
  }

  beforeEach(() => load(2));

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await store.close();
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
    await d.tick(0n);
    await d.drain();
    expect((await store.counts()).signed).to.equal(2);
  });

  it("fails over to the next endpoint of the same worker", async () => {
    const down = await worker({ down: true });
    const replica = await worker();
    const d = dispatcher([down.url, replica.url]);
    await d.tick(0n);
    await d.drain();
    expect((await store.counts()).signed).to.equal(2);
    expect(replica.executed).to.equal(2);
  });

  it("rejects an answer signed by another key and schedules a retry with backoff", async () => {
    const w = await worker({ signWith: Wallet.createRandom().privateKey });
    const d = dispatcher([w.url]);
    const before = Date.now();
    await d.tick(0n);
    await d.drain();
    const record = (await store.get(1n))!;
    expect(record.state).to.equal("dispatched");
    expect(record.lastError).to.match(/signed by .* but the request is assigned to/);
    expect(record.nextAttemptAt).to.be.at.least(before + 5_000);
    await d.tick(0n);
    await d.drain();
    expect((await store.get(1n))!.attempts).to.equal(1, "not retried before its backoff");
  });

  it("gives up on a worker that does not answer within the timeout", async () => {
    const slow = await worker({ delayMs: 2_000 });
    const d = dispatcher([slow.url], { timeoutMs: 100 });
    await d.tick(0n);
    await d.drain();
    expect((await store.get(1n))!.lastError).to.match(/no answer within 100 ms/);
  });

  it("leaves a request past its deadline to the timeout sweep", async () => {
    const w = await worker();
    const d = dispatcher([w.url]);
    await d.tick((await store.get(1n))!.request.deadline + 1n);
    await d.drain();
    expect((await store.counts()).failed).to.equal(2);
    expect(w.executed).to.equal(0);
  });

  describe("worker refusals", () => {
    it("classifies every code of the worker API's table as the table says (421: next endpoint)", () => {
      for (const [code, { http, retryable }] of Object.entries(WORKER_ERRORS)) {
        expect(classifyRefusal(http, code), code).to.equal(http === 421 ? "misrouted" : retryable ? "retry" : "final");
      }
      expect(classifyRefusal(409, "REQUEST_NOT_PENDING")).to.equal("final");
      expect(classifyRefusal(503, "CHAIN_UNAVAILABLE")).to.equal("retry");
      expect(classifyRefusal(421, "WRONG_ROUTER")).to.equal("misrouted");
    });

    it("classifies by the worker's error code first, then by HTTP status", () => {
      expect(classifyRefusal(503, "REQUEST_NOT_VISIBLE")).to.equal("retry");
      expect(classifyRefusal(421, "WRONG_WORKER")).to.equal("misrouted");
      expect(classifyRefusal(409, undefined)).to.equal("final");
      expect(classifyRefusal(400, "SOMETHING_NEW")).to.equal("final");
      expect(classifyRefusal(503, undefined)).to.equal("retry");
      expect(classifyRefusal(429, undefined)).to.equal("retry");
      expect(classifyRefusal(421, undefined)).to.equal("misrouted");
    });

    it("a final refusal (409 REQUEST_NOT_PENDING) marks the request failed at once: no retries", async () => {
      const w = await worker({ refuse: { status: 409, code: "REQUEST_NOT_PENDING" } });
      const d = dispatcher([w.url], { backoffBaseMs: 1, backoffMaxMs: 1 });
      for (let i = 0; i < 3; i++) {
        await d.tick(0n);
        await d.drain();
      }
      expect((await store.get(1n))!.state).to.equal("failed");
      expect((await store.get(1n))!.lastError).to.match(/worker refused: HTTP 409 REQUEST_NOT_PENDING/);
      expect(w.received).to.equal(2, "one call per request");
    });

    it("a retryable refusal (503 REQUEST_NOT_VISIBLE) is retried with backoff until answered", async () => {
      const w = await worker({ refuse: { status: 503, code: "REQUEST_NOT_VISIBLE" } });
      const d = dispatcher([w.url], { backoffBaseMs: 1, backoffMaxMs: 1 });
      await d.tick(0n);
      await d.drain();
      expect((await store.get(1n))!.state).to.equal("dispatched");
      w.options.refuse = undefined;
      await waitFor(
        async () => {
          await d.tick(0n);
          await d.drain();
          return (await store.counts()).signed === 2;
        },
        5_000,
        "answers after the worker caught up",
      );
    });

    it("a misrouted endpoint (421 WRONG_WORKER) hands over to the next endpoint", async () => {
      const wrong = await worker({ refuse: { status: 421, code: "WRONG_WORKER" } });
      const right = await worker();
      const d = dispatcher([wrong.url, right.url]);
      await d.tick(0n);
      await d.drain();
      expect((await store.counts()).signed).to.equal(2);
    });
  });

  describe("isolation between workers", () => {
    const other = new Wallet(OTHER_KEY).address;

    it("a hung worker holds only its own share of the slots: the healthy worker is served in the same tick", async () => {
      await load(20, (id) => (id % 2n === 0n ? other : new Wallet(WORKER_KEY).address));
      const healthy = await worker();
      const hung = await worker({ key: OTHER_KEY, hang: true });
      const d = dispatcher({ [chain.worker]: [healthy.url], [other]: [hung.url] }, { concurrency: 8, perWorkerConcurrency: 4, timeoutMs: 2_000 });
      const started = Date.now();
      await d.tick(0n);
      expect(d.busy).to.equal(8);
      await waitFor(
        async () => {
          await d.tick(0n);
          return (await store.counts()).signed === 10;
        },
        1_500,
        "the healthy worker's 10 answers while the hung one holds 4 slots",
      );
      expect(Date.now() - started).to.be.lessThan(1_500);
      expect(hung.received).to.equal(4);
      await d.drain();
    });

    it("opens a failing worker's circuit: no calls but one probe per cooldown; a successful probe closes it", async () => {
      await load(20);
      const w = await worker({ down: true });
      const d = dispatcher([w.url], { backoffBaseMs: 1, backoffMaxMs: 1, breakerThreshold: 3, breakerCooldownMs: 300, perWorkerConcurrency: 1 });
      for (let i = 0; i < 10; i++) {
        await d.tick(0n);
        await d.drain();
      }
      expect(w.received).to.equal(3, "the circuit opened after 3 failures");
      expect(d.health.state(chain.worker)).to.equal("open");
      await new Promise((r) => setTimeout(r, 350));
      await d.tick(0n);
      expect(d.busy).to.equal(1, "one probe");
      await d.drain();
      expect(d.health.state(chain.worker)).to.equal("open", "the probe failed: open again, longer");
      w.options.down = false;
      await new Promise((r) => setTimeout(r, 650));
      await waitFor(
        async () => {
          await d.tick(0n);
          await d.drain();
          return (await store.counts()).signed === 20;
        },
        5_000,
        "all answered once the worker is back",
      );
      expect(d.health.state(chain.worker)).to.equal("closed");
    });

    it("hedges a slow primary with its replica instead of waiting for the timeout", async () => {
      const slow = await worker({ hang: true });
      const replica = await worker();
      const d = dispatcher([slow.url, replica.url], { timeoutMs: 5_000, hedgeMinMs: 100 });
      const started = Date.now();
      await d.tick(0n);
      await d.drain();
      expect((await store.counts()).signed).to.equal(2);
      expect(Date.now() - started).to.be.lessThan(2_000, "hedged after timeoutMs/4 without history, not after 5 s");
      expect(replica.executed).to.equal(2);
    });
  });
});
