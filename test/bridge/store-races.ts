import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Wallet } from "ethers";
import pg from "pg";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { Dispatcher } from "../../bridge/src/dispatcher.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { PostgresStore } from "../../bridge/src/store/postgres-store.js";
import type { BridgeStore } from "../../bridge/src/store/store.js";
import { AnswerVerifier } from "../../bridge/src/verify.js";
import { StaticWorkerDirectory } from "../../bridge/src/worker-directory.js";
import { ANSWER } from "./fake-tx-chain.js";
import { RELAYER_A, RELAYER_B, freshDatabase } from "./postgres.js";
import { rejection } from "./rejection.js";
import { STORES } from "./stores.js";

/**
 * Interleavings the asynchronous store lets in: between two awaits of one stage, another stage (or
 * another instance) may write the same request. Each test performs the interleaving.
 */

const WORKER_KEY = Wallet.createRandom().privateKey;
const BACKUP = `0x${"bb".repeat(20)}`;

for (const [name, open] of STORES)
  describe(`bridge ${name}: interleavings between awaits`, () => {
    let store: BridgeStore;
    let chain: SyntheticChain;
    const servers: FakeWorker[] = [];

    beforeEach(async () => {
      chain = new SyntheticChain();
      Object.defineProperty(chain, "worker", { value: new Wallet(WORKER_KEY).address });
      chain.mine(2);
      store = await open();
      await store.bind(31337n, chain.router);
      const events = await chain.routerEvents(0, 1);
      const block = { number: 1, hash: chain.blocks[1]!.hash };
      await store.applyScan({ ...events, blocks: [block], cursor: block }, 64);
      await store.confirmBlock(block, Date.now());
    });
    afterEach(async () => {
      for (const s of servers.splice(0)) await s.close();
      await store.close();
    });

    /**
     * `store` with `between` run right after the first store call the dispatcher makes once `after`
     * was called: what another stage does while the dispatcher awaits its next step.
     */
    function interleaved(after: string, between: () => Promise<void>): { proxy: BridgeStore; ran: () => boolean } {
      let armed = false;
      let ran = false;
      const proxy = new Proxy(store, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (typeof value !== "function") return value;
          return async (...args: unknown[]) => {
            const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
            if (armed && !ran) {
              ran = true;
              await between();
            }
            if (key === after) armed = true;
            return result;
          };
        },
      });
      return { proxy, ran: () => ran };
    }

    it("a worker's refusal never undoes a hand-over to a backup that lands while the dispatcher awaits", async () => {
      const refusing = new FakeWorker({ key: WORKER_KEY, refuse: { status: 409, code: "REQUEST_NOT_PENDING" } });
      await refusing.listen();
      servers.push(refusing);
      // The hand-over (Failover.assignBackup) lands after the dispatcher's first store call that follows the worker call.
      const { proxy, ran } = interleaved("markDispatched", async () => {
        expect(await store.assignBackup(1n, 1, BACKUP, 0)).to.equal(true);
      });
      const dispatcher = new Dispatcher(
        proxy,
        new StaticWorkerDirectory({ [chain.worker]: [refusing.url] }),
        new AnswerVerifier(31337n, chain.router),
        { chainId: 31337n, router: chain.router },
        {
          timeoutMs: 1_000,
          concurrency: 1,
          perWorkerConcurrency: 1,
          backoffBaseMs: 10_000,
          backoffMaxMs: 60_000,
          breakerThreshold: 5,
          breakerCooldownMs: 1_000,
          breakerMaxCooldownMs: 8_000,
          hedgeMinMs: 50,
        },
        new BridgeMetrics(store, false),
        createLogger("silent"),
      );
      await dispatcher.tick(0n);
      await dispatcher.drain();
      expect(ran()).to.equal(true, "the hand-over ran between the dispatcher's awaits");
      const record = (await store.get(1n))!;
      expect(record.rank).to.equal(1);
      expect(record.assignee).to.equal(BACKUP);
      expect(record.state).to.equal("confirmed", "the backup's dispatch is queued, not failed by the primary's refusal");
    });

    it("a refusal with the rank still current marks the request failed (the guard only skips a changed rank)", async () => {
      await store.markFailed(1n, "worker refused", 0);
      expect((await store.get(1n))!.state).to.equal("failed");
      await store.assignBackup(2n, 1, BACKUP, 0);
      await store.markFailed(2n, "worker refused", 0);
      expect((await store.get(2n))!.state).to.equal("confirmed");
    });

    it("an answer saved and a submitter read started right after it: the read sees the answer", async () => {
      await store.markDispatched(1n, 1, 0);
      await store.dueForWorker(chain.worker, Date.now(), 10, new Set());
      // Not awaited: the dispatcher's write and the submitter's read start in this order, side by side.
      const saved = store.saveAnswer(1n, ANSWER);
      const ready = store.readyToSubmit(10);
      await saved;
      expect((await ready).map((r) => r.id)).to.deep.equal([1n]);
    });

    it("two transactions created at once for different requests get their own ids and links", async () => {
      for (const id of [1n, 2n]) {
        await store.markDispatched(id, 1, 0);
        await store.saveAnswer(id, ANSWER);
      }
      await store.readyToSubmit(10);
      const attempt = (byte: string) => ({ hash: `0x${byte.repeat(32)}` as const, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: 1 });
      const tx = (nonce: number, id: bigint) => ({ kind: "fulfill" as const, nonce, to: chain.router, data: "0x01" as const, gasLimit: 1n, requestIds: [id] });
      const [a, b] = await Promise.all([store.createTx(tx(0, 1n), attempt("a1")), store.createTx(tx(1, 2n), attempt("a2"))]);
      expect(a).to.not.equal(b);
      expect((await store.get(1n))!.fulfilTx).to.equal(a);
      expect((await store.get(2n))!.fulfilTx).to.equal(b);
    });
  });

describe("bridge PostgresStore: one relayer key, concurrent instances", () => {
  const chain = new SyntheticChain({ requests: 6, perBlock: 2 });
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  async function instance(url: string, relayer: string): Promise<PostgresStore> {
    const store = await PostgresStore.open({ url, relayer });
    opened.push(store);
    await store.bind(31337n, chain.router);
    return store;
  }

  it("two instances started with the same key cannot both hold an unfinished transaction on one nonce", async () => {
    const url = await freshDatabase();
    const [a, twin] = [await instance(url, RELAYER_A), await instance(url, RELAYER_A)];
    const attempt = (byte: string) => ({ hash: `0x${byte.repeat(32)}` as const, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: 1 });
    const purge = { kind: "purge" as const, nonce: 7, to: RELAYER_A, data: "0x" as const, gasLimit: 21_000n, requestIds: [] };
    const results = await Promise.allSettled([a.createTx(purge, attempt("c1")), twin.createTx(purge, attempt("c2"))]);
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1, "one transaction per nonce");
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(String(refused.reason)).to.match(/transactions_open_nonce|duplicate key/);
    // Another key's nonce 7 is its own.
    const b = await instance(url, RELAYER_B);
    await b.createTx({ ...purge, to: RELAYER_B }, attempt("c3"));
    // Once the first is abandoned, its nonce may be taken over (a purge), as before.
    const [first] = await a.unfinishedTxs();
    await a.abandonTx(first!.id, "test");
    await a.createTx(purge, attempt("c4"));
    expect(await rejection(a.createTx(purge, attempt("c5")))).to.match(/duplicate key|transactions_open_nonce/);
  });

  it("a transaction finished between the reads of the transactions and their attempts is read whole (one snapshot)", async function () {
    this.timeout(20_000);
    const url = await freshDatabase();
    const a = await instance(url, RELAYER_A);
    const attempt = { hash: `0x${"d1".repeat(32)}` as const, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: 1 };
    await a.createTx({ kind: "purge", nonce: 3, to: RELAYER_A, data: "0x", gasLimit: 21_000n, requestIds: [] }, attempt);
    // Another session (the confirmer of a concurrent pass, a take-over) holds tx_attempts: the
    // read of the transactions goes through, the read of their attempts waits for it...
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("LOCK TABLE tx_attempts IN ACCESS EXCLUSIVE MODE");
      const read = a.unfinishedTxs();
      for (let i = 0; ; i++) {
        const waiting = await other.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
        if (waiting.rows.length > 0) break;
        expect(i).to.be.below(200, "the read never waited");
        await sleep(20);
      }
      // ...which finishes the transaction meanwhile.
      await other.query("UPDATE transactions SET state = 'confirmed' WHERE nonce = 3");
      await other.query("COMMIT");
      const txs = await read;
      for (const tx of txs) expect(tx.attempts, `transaction ${tx.id} (${tx.state}) read without its attempts`).to.not.be.empty;
    } finally {
      await other.end();
    }
  });

  it("claims taken at the same moment by two instances on their pools never overlap", async () => {
    const url = await freshDatabase();
    const a = await instance(url, RELAYER_A);
    const b = await instance(url, RELAYER_B);
    const events = await chain.routerEvents(0, 3);
    const blocks = [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash }));
    await a.applyScan({ ...events, blocks, cursor: blocks[2]! }, 256);
    await a.confirmBlocks(blocks, Date.now());
    const worker = chain.makeRequest(1n).request.worker;
    // One claim per instance at a time (each instance's dispatcher is single-flight); the two side by side.
    const [claimA, claimB] = await Promise.all([a, b].map((s) => s.dueForWorker(worker, Date.now(), 3, new Set())));
    const byA = claimA!.map((r) => r.id);
    const byB = claimB!.map((r) => r.id);
    expect(byA.filter((id) => byB.includes(id))).to.deep.equal([], "no request leased to both");
    expect(new Set([...byA, ...byB]).size).to.equal(6);
  });
});
