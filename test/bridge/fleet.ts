import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { computeAddress } from "ethers";
import pg from "pg";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { loadConfig, parseConfig } from "../../bridge/src/config.js";
import { ConfigError, LeaseLostError, StoreMismatchError } from "../../bridge/src/errors.js";
import { Failover } from "../../bridge/src/failover.js";
import { openStore } from "../../bridge/src/store/open-store.js";
import { PG_MIGRATIONS } from "../../bridge/src/store/pg-migrations.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { PostgresStore } from "../../bridge/src/store/postgres-store.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { Watcher } from "../../bridge/src/watcher.js";
import { ANSWER } from "./fake-tx-chain.js";
import { RELAYER_A, RELAYER_B, freshDatabase } from "./postgres.js";
import { rejection } from "./rejection.js";

/**
 * A fleet: several bridge instances (stores with their own relayer address) on one Postgres
 * database. Each test performs the fault: two instances claiming the same work, an instance dying
 * with leases, a stale instance submitting after its lease was taken over.
 */
describe("bridge fleet on one Postgres (leases, fencing, per-relayer transactions)", () => {
  const chain = new SyntheticChain({ requests: 6, perBlock: 2 }); // blocks 1..3 hold ids 1..6, all for one worker
  const worker = chain.makeRequest(1n).request.worker;
  let url: string;
  const open: PostgresStore[] = [];

  async function instance(relayer: string, leaseMs = 30_000): Promise<PostgresStore> {
    const store = await PostgresStore.open({ url, relayer, leaseMs });
    open.push(store);
    await store.bind(31337n, chain.router);
    return store;
  }

  beforeEach(async () => {
    url = await freshDatabase();
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  /** Both instances scan the same range (every instance scans): each request is stored once. */
  async function scanAndConfirm(...stores: PostgresStore[]): Promise<void> {
    const events = await chain.routerEvents(0, 3);
    const blocks = [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash }));
    let added = 0;
    for (const store of stores) added += (await store.applyScan({ ...events, blocks, cursor: blocks[2]! }, 256)).added;
    expect(added).to.equal(6, "six requests stored once, however many instances scanned them");
    for (const block of blocks) await stores[0]!.confirmBlock(block, Date.now());
  }

  const attempt = (byte: string) => ({ hash: `0x${byte.repeat(32)}` as const, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: Date.now() });
  const fulfil = (nonce: number, requestIds: bigint[]) => ({
    kind: "fulfill" as const,
    nonce,
    to: chain.router,
    data: "0x01" as const,
    gasLimit: 100_000n,
    requestIds,
  });

  it("two instances claiming the same queue get disjoint requests, and a request is put in one transaction only", async () => {
    const a = await instance(RELAYER_A);
    const b = await instance(RELAYER_B);
    await scanAndConfirm(a, b);
    const claimedA = (await a.dueForWorker(worker, Date.now(), 4, new Set())).map((r) => r.id);
    const claimedB = (await b.dueForWorker(worker, Date.now(), 10, new Set())).map((r) => r.id);
    expect(claimedA).to.deep.equal([1n, 2n, 3n, 4n]);
    expect(claimedB).to.deep.equal([5n, 6n], "B gets only what A did not claim");
    expect(await b.dueForWorker(worker, Date.now(), 10, new Set(["5", "6"]))).to.have.length(0, "nothing left to B while A's leases last");
    for (const id of claimedA) await a.saveAnswer(id, ANSWER);
    for (const id of claimedB) await b.saveAnswer(id, ANSWER);
    expect((await b.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([5n, 6n], "B's submitter sees only its own answers");
    // B tries to put A's requests in its own transaction anyway: refused, nothing persisted.
    expect(await rejection(b.createTx(fulfil(0, [1n, 5n]), attempt("bb"))))
      .to.be.instanceOf(LeaseLostError)
      .with.property("message")
      .that.matches(/no longer leased/);
    expect(await b.unfinishedTxs()).to.have.length(0);
    expect((await a.get(1n))!.state).to.equal("signed");
    const txA = await a.createTx(fulfil(0, claimedA), attempt("aa"));
    const txB = await b.createTx(fulfil(0, claimedB), attempt("bc"));
    expect((await a.get(1n))!.fulfilTx).to.equal(txA);
    expect((await a.get(5n))!.fulfilTx).to.equal(txB);
    // Each relayer has its own nonce sequence: both used nonce 0, each sees only its own.
    expect((await a.unfinishedTxs()).map((t) => t.id)).to.deep.equal([txA]);
    expect((await b.unfinishedTxs()).map((t) => t.id)).to.deep.equal([txB]);
    expect((await b.txsWithNonce(0)).map((t) => t.id)).to.deep.equal([txB]);
  });

  it("claims taken at the same moment on two connections never overlap (FOR UPDATE SKIP LOCKED)", async () => {
    const a = await instance(RELAYER_A);
    await scanAndConfirm(a);
    // Two raw connections run the claim concurrently, as two processes would.
    const claim = async (relayer: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("BEGIN");
        const { rows } = await client.query(
          `UPDATE requests r SET lease_owner = $1, lease_until = 1e15 FROM (SELECT id FROM requests WHERE state = 'confirmed' AND (lease_owner IS NULL OR lease_until < 0)
           ORDER BY block_number, log_index LIMIT 4 FOR UPDATE SKIP LOCKED) c WHERE r.id = c.id RETURNING r.id`,
          [relayer],
        );
        await sleep(200); // both hold their locks at once
        await client.query("COMMIT");
        return rows.map((r: { id: string }) => r.id);
      } finally {
        await client.end();
      }
    };
    const [x, y] = await Promise.all([claim(RELAYER_A), claim(RELAYER_B)]);
    expect([...x, ...y].sort()).to.deep.equal(["1", "2", "3", "4", "5", "6"]);
    expect(x.filter((id) => y.includes(id))).to.deep.equal([]);
  });

  it("takes over a dead instance's requests once its lease runs out, not before", async function () {
    this.timeout(20_000);
    const a = await instance(RELAYER_A, 400);
    const b = await instance(RELAYER_B, 400);
    await scanAndConfirm(a, b);
    expect(await a.dueForWorker(worker, Date.now(), 3, new Set())).to.have.length(3);
    const answered = await a.dueForWorker(worker, Date.now(), 3, new Set(["1", "2", "3"]));
    expect(answered.map((r) => r.id)).to.deep.equal([4n, 5n, 6n]);
    for (const r of answered) await a.saveAnswer(r.id, ANSWER);
    await a.close(); // killed: it holds leases on 1-3 (dispatching) and 4-6 (answered, not yet submitted)
    const started = Date.now();
    expect(await b.dueForWorker(worker, Date.now(), 10, new Set())).to.have.length(0);
    expect(await b.readyToSubmit(10)).to.have.length(0);
    let dispatch: bigint[] = [];
    let submit: bigint[] = [];
    while (dispatch.length < 3 || submit.length < 3) {
      await sleep(50);
      dispatch = [...dispatch, ...(await b.dueForWorker(worker, Date.now(), 10, new Set(dispatch.map(String)))).map((r) => r.id)];
      if (submit.length < 3) submit = (await b.readyToSubmit(10)).map((r) => r.id);
      expect(Date.now() - started).to.be.below(5_000, "taken over within a bounded time");
    }
    expect(Date.now() - started).to.be.at.least(350, "not before the lease ran out");
    expect(dispatch.sort()).to.deep.equal([1n, 2n, 3n]);
    expect(submit).to.deep.equal([4n, 5n, 6n]);
    await b.createTx(fulfil(0, submit), attempt("b1"));
    expect((await b.get(4n))!.state).to.equal("submitted");
  });

  it("fencing: an instance that stalled past its lease cannot submit requests another instance took over", async function () {
    this.timeout(20_000);
    const a = await instance(RELAYER_A, 300);
    const b = await instance(RELAYER_B, 300);
    await scanAndConfirm(a, b);
    for (const r of await a.dueForWorker(worker, Date.now(), 2, new Set())) await a.saveAnswer(r.id, ANSWER);
    expect((await a.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([1n, 2n]);
    await sleep(400); // A stalls (GC pause, partition) past its lease...
    expect((await b.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([1n, 2n], "...and B takes the answers over");
    expect(await rejection(a.createTx(fulfil(0, [1n, 2n]), attempt("a2")))).to.be.instanceOf(LeaseLostError);
    expect(await a.unfinishedTxs()).to.have.length(0, "A persisted nothing, so its broadcaster sends nothing");
    const txB = await b.createTx(fulfil(0, [1n, 2n]), attempt("b2"));
    expect(await a.get(1n)).to.include({ state: "submitted", fulfilTx: txB });
    // Once in B's transaction, A cannot re-claim them even with its lease expired and B's too.
    await sleep(400);
    expect(await a.readyToSubmit(10)).to.have.length(0);
    expect(await rejection(a.createTx(fulfil(1, [1n]), attempt("a3")))).to.be.instanceOf(LeaseLostError);
  });

  it("sends the dispatcher's per-request writes in bulk ahead of its next call, or within the flush window for the other instances", async () => {
    const a = await instance(RELAYER_A);
    const b = await instance(RELAYER_B);
    await scanAndConfirm(a, b);
    for (const r of await a.dueForWorker(worker, Date.now(), 3, new Set())) {
      await a.markDispatched(r.id, 1, Date.now() + 60_000);
      await a.saveAnswer(r.id, ANSWER);
    }
    expect((await a.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([1n, 2n, 3n], "its own next call sees them");
    await a.markDispatched(4n, 1, 0); // not A's: it never claimed 4
    await sleep(100);
    expect(await b.get(1n)).to.include({ state: "signed", attempts: 1 });
    expect(await b.get(4n)).to.include({ state: "confirmed", attempts: 0 }, "a write on a request another instance may hold is dropped");
  });

  it("an instance whose lease lapsed with nobody claiming keeps its work (its own lease is renewed)", async function () {
    const a = await instance(RELAYER_A, 200);
    await scanAndConfirm(a);
    for (const r of await a.dueForWorker(worker, Date.now(), 1, new Set())) await a.saveAnswer(r.id, ANSWER);
    await sleep(300);
    await a.createTx(fulfil(0, [1n]), attempt("a4"));
  });

  it("times out an expired request once: a second instance's timeout transaction for it is refused", async () => {
    const a = await instance(RELAYER_A);
    const b = await instance(RELAYER_B);
    await scanAndConfirm(a, b);
    const expiredAt = chain.makeRequest(1n).request.deadline + 1n;
    const seenByA = (await a.expired(expiredAt, 10)).map((r) => r.id);
    const seenByB = (await b.expired(expiredAt, 10)).map((r) => r.id);
    expect(seenByB).to.deep.equal(seenByA, "both sweepers see the same expired requests");
    const timeout = (requestIds: bigint[]) => ({ kind: "timeout" as const, nonce: 0, to: chain.router, data: "0x02" as const, gasLimit: 500_000n, requestIds });
    await a.createTx(timeout(seenByA.slice(0, 3)), attempt("c1"));
    expect(await rejection(b.createTx(timeout(seenByB), attempt("c2"))))
      .to.be.instanceOf(LeaseLostError)
      .with.property("message")
      .that.matches(/another timeout transaction/);
    expect((await b.expired(expiredAt, 10)).map((r) => r.id)).to.deep.equal([4n, 5n, 6n]);
    await b.createTx(timeout([4n, 5n, 6n]), attempt("c3"));
    expect(await a.expired(expiredAt, 10)).to.have.length(0);
  });

  it("one instance scans the logs, the other follows the head only; the scan is taken over within the lease when the scanner dies", async function () {
    this.timeout(20_000);
    const own = new SyntheticChain({ requests: 4, perBlock: 2 });
    const scans = { a: 0, b: 0 };
    // The chain each instance's watcher sees, counting its eth_getLogs scans.
    const counted = (key: keyof typeof scans) =>
      new Proxy(own, {
        get(target, prop) {
          if (prop === "routerEvents") return (from: number, to: number) => (scans[key]++, target.routerEvents(from, to));
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const leaseMs = 600;
    const a = await instance(RELAYER_A, leaseMs);
    const b = await instance(RELAYER_B, leaseMs);
    const watcher = (store: PostgresStore, key: keyof typeof scans) =>
      new Watcher(
        counted(key),
        store,
        { confirmations: 0, maxLogRange: 1_000, reorgHistory: 64, startBlock: 0 },
        new BridgeMetrics(store, false),
        createLogger("silent"),
      );
    const [wa, wb] = [watcher(a, "a"), watcher(b, "b")];
    expect((await a.renewLeases()).scanner).to.equal(true, "A started first: it takes the scanning lease");
    expect((await b.renewLeases()).scanner).to.equal(false);
    for (let round = 0; round < 3; round++) {
      own.mine(2);
      await wb.poll(); // B first: without the lease it would scan the new blocks itself
      await wa.poll();
    }
    expect(scans.a).to.be.at.least(3);
    expect(scans.b).to.equal(0, "the second instance never scans while the first holds the lease");
    await wa.poll();
    expect((await b.counts()).confirmed).to.equal(10, "the scanner recorded and confirmed every request for the fleet");
    // A dies (no clean stop): its lease runs out and B scans from the shared cursor.
    const died = Date.now();
    let later = 0;
    while (scans.b === 0) {
      own.mine(1);
      later++;
      await wb.poll();
      await sleep(25);
      expect(Date.now() - died).to.be.below(leaseMs * 3, "taken over within a bounded time");
    }
    expect(Date.now() - died).to.be.below(leaseMs + leaseMs / 3 + 300, "within the lease and one renewal period");
    await wb.poll();
    expect((await b.counts()).confirmed).to.equal(10 + later, "nothing missed across the hand-over");
  });

  it("failover runs on the scanner only: the other instances neither read every request's backup window nor ask the router", async () => {
    const a = await instance(RELAYER_A);
    const b = await instance(RELAYER_B);
    expect((await a.renewLeases()).scanner).to.equal(true);
    await scanAndConfirm(a);
    const own = new SyntheticChain({ requests: 6, perBlock: 2 });
    // Reads of the failover queue per instance: each would load every open request's row.
    const reads = { a: 0, b: 0 };
    const counted = (store: PostgresStore, key: keyof typeof reads) =>
      new Proxy(store, {
        get(target, prop) {
          if (prop === "failoverDue") return (...args: Parameters<PostgresStore["failoverDue"]>) => (reads[key]++, target.failoverDue(...args));
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const failover = (store: PostgresStore, key: keyof typeof reads) =>
      new Failover(own, counted(store, key), new BridgeMetrics(store, false), createLogger("silent"));
    const chainTime = BigInt(Math.floor(Date.now() / 1000));
    expect(await failover(b, "b").tick(chainTime)).to.equal(0);
    expect(reads.b).to.equal(0, "the non-scanner leaves failover to the scanner");
    expect(own.backupCalls).to.equal(0);
    const scanner = failover(a, "a");
    for (let pass = 0; pass < 10 && (await b.failoverDue(chainTime, 10)).length > 0; pass++) await scanner.tick(chainTime);
    expect(reads.a).to.be.above(0);
    expect(own.backupCalls).to.be.above(0, "the scanner looks the windows up (NoBackup here: nothing more to try)");
    expect(await b.failoverDue(chainTime, 10)).to.have.length(0, "and its decisions are the fleet's");
  });

  it("a relayer that dies for good with sent but unmined fulfilments: its requests go back to the fleet once its lease expired, never while it lives", async function () {
    this.timeout(20_000);
    const a = await instance(RELAYER_A, 400);
    const b = await instance(RELAYER_B, 400);
    await scanAndConfirm(a, b);
    expect((await b.renewLeases()).scanner).to.equal(true, "B scans (and so hands work over)");
    await a.renewLeases();
    for (const r of await a.dueForWorker(worker, Date.now(), 3, new Set())) await a.saveAnswer(r.id, ANSWER);
    const txA = await a.createTx(fulfil(0, [1n, 2n, 3n]), attempt("d1"));
    await a.markBroadcast(attempt("d1").hash, Date.now());
    await a.unfinishedTxs(); // flushes the deferred write
    // A lives (renews): nothing is handed over, however long.
    for (let i = 0; i < 6; i++) {
      await sleep(150);
      await a.renewLeases();
      expect((await b.renewLeases()).handedOver).to.equal(undefined);
    }
    expect(await b.readyToSubmit(10)).to.have.length(0);
    // A dies for good: after its lease, B's renewal hands its transaction's requests back, free for any instance.
    const died = Date.now();
    let handed: Awaited<ReturnType<PostgresStore["renewLeases"]>>["handedOver"];
    while (!handed) {
      await sleep(50);
      handed = (await b.renewLeases()).handedOver;
      expect(Date.now() - died).to.be.below(2_000, "within the lease and one renewal period");
    }
    expect(handed).to.deep.include({ txs: 1, requests: 3 });
    expect(handed.relayers).to.deep.equal([RELAYER_A.toLowerCase()]);
    expect((await a.txsWithNonce(0))[0]).to.include({ id: txA, state: "abandoned", resolved: false });
    expect((await b.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([1n, 2n, 3n], "B claims them (its submitter checks isPending before sending)");
    await b.createTx(fulfil(0, [1n, 2n, 3n]), attempt("d2"));
    expect((await b.renewLeases()).handedOver).to.equal(undefined, "handed over once");
  });

  it("scans by every instance are idempotent and the shared cursor never moves back except by a reorg", async () => {
    const a = await instance(RELAYER_A);
    const b = await instance(RELAYER_B);
    await scanAndConfirm(a, b);
    // B, behind, records an older range: the cursor stays at A's.
    await b.applyScan({ requests: [], settlements: [], blocks: [], cursor: { number: 2, hash: chain.blocks[2]!.hash } }, 256);
    expect((await a.cursor())?.number).to.equal(3);
    await b.rewind({ number: 1, hash: chain.blocks[1]!.hash });
    expect((await a.cursor())?.number).to.equal(1);
  });

  it("applies its numbered migrations once when instances start together, and refuses a newer schema", async () => {
    const stores = await Promise.all([PostgresStore.open({ url, relayer: RELAYER_A }), PostgresStore.open({ url, relayer: RELAYER_B })]);
    open.push(...stores);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT version FROM schema_migrations ORDER BY version");
      expect(rows.map((r: { version: number }) => r.version)).to.deep.equal(PG_MIGRATIONS.map((m) => m.version));
      await client.query("INSERT INTO schema_migrations (version, description) VALUES ($1, 'from the future')", [PG_MIGRATIONS.at(-1)!.version + 1]);
    } finally {
      await client.end();
    }
    expect(await rejection(PostgresStore.open({ url, relayer: RELAYER_A })))
      .to.be.instanceOf(StoreMismatchError)
      .with.property("message")
      .that.matches(/written by a newer bridge/);
  });

  it("is chosen by config (store.kind, or BRIDGE_POSTGRES_URL); SQLite stays the default; a bad URL is a config error", async () => {
    const base = { rpcUrl: "http://127.0.0.1:8545", router: chain.router, privateKey: `0x${"11".repeat(32)}`, dbPath: ":memory:" };
    expect(parseConfig(base).store).to.deep.equal({ kind: "sqlite" });
    const sqlite = await openStore(parseConfig(base));
    expect(sqlite).to.be.instanceOf(SqliteStore);
    await sqlite.close();
    expect(() => parseConfig({ ...base, store: { kind: "postgres", url: "mysql://x" } })).to.throw(ConfigError, /postgres:\/\//);
    expect(() => parseConfig({ ...base, store: { kind: "postgres", url, lease: 5 } })).to.throw(ConfigError);
    const config = loadConfig(undefined, {
      BRIDGE_RPC_URL: base.rpcUrl,
      BRIDGE_ROUTER: base.router,
      BRIDGE_PRIVATE_KEY: base.privateKey,
      BRIDGE_POSTGRES_URL: url,
    });
    expect(config.store).to.deep.equal({ kind: "postgres", url, leaseMs: 30_000, statementTimeoutMs: 30_000, poolSize: 8 });
    const store = await openStore(config);
    open.push(store as PostgresStore);
    expect(store).to.be.instanceOf(PostgresStore);
    expect((store as PostgresStore).relayer).to.equal(computeAddress(base.privateKey).toLowerCase());
  });
});
