import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { Bridge } from "../../bridge/src/bridge.js";
import { PRAGUE } from "../../bridge/src/chain/gas-schedule.js";
import { parseConfig } from "../../bridge/src/config.js";
import { LeaseLostError, RelayerInUseError, RpcError, SimulationError } from "../../bridge/src/errors.js";
import { Failover } from "../../bridge/src/failover.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { Reconciler } from "../../bridge/src/reconciler.js";
import { PostgresStore } from "../../bridge/src/store/postgres-store.js";
import type { BridgeStore } from "../../bridge/src/store/store.js";
import { Submitter } from "../../bridge/src/submitter.js";
import { TxManager } from "../../bridge/src/txm/tx-manager.js";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import type { Hex } from "../../protocol/hex.js";
import type { AgentRequest } from "../../protocol/request.js";
import { ANSWER, FakeTxChain } from "./fake-tx-chain.js";
import { RELAYER_A, RELAYER_B, freshDatabase } from "./postgres.js";
import { STORES } from "./stores.js";

const OPTIONS = { maxFeePerGas: 1_000n, gasBumpAfterMs: 60_000, gasBumpPercent: 15, rebroadcastAfterMs: 10_000, missingReceiptGraceMs: 5_000 };
const SUBMIT = { maxBatchSize: 6, maxInFlight: 100, maxInFlightGas: 1e12, gasPerFulfillment: 1, maxTxGas: 1e9, maxTxBytes: 1e9, deadlineMarginSeconds: 24 };
const log = createLogger("silent");

/**
 * The node answering state reads is `lagBy` blocks behind the chain the scanner read, as a real
 * node is: at "latest" (its head) the router holds no commitment for a request opened in a newer
 * block (isPending false, backupWorker reverts RequestNotPending), and a read at a block it does not
 * have fails (geth: "header not found"). `headLags`: eth_blockNumber goes to that node too (else,
 * as behind a load balancer, to a current one).
 */
class LaggingNode extends FakeTxChain {
  headLags = false;

  private get nodeHead(): number {
    return Math.max(0, this.blocks.length - 1 - this.lagBy);
  }

  private openedBy(id: bigint, block: number): boolean {
    const opened = this.blocks.findIndex((b) => id >= b.firstId && id < b.firstId + BigInt(b.count));
    return opened >= 0 && opened <= block;
  }

  private readAt(atBlock: number | undefined): number {
    const at = atBlock ?? this.nodeHead;
    if (at > this.nodeHead) throw new RpcError("eth_call", { transport: false, rpcCode: -32000 }, { details: "header not found" });
    return at;
  }

  override async blockNumber(): Promise<number> {
    return this.headLags ? this.nodeHead : this.blocks.length - 1;
  }

  override async isPending(requestIds: bigint[], atBlock?: number): Promise<(boolean | Error)[]> {
    let at: number;
    try {
      at = this.readAt(atBlock);
    } catch (error) {
      return requestIds.map(() => error as Error);
    }
    return requestIds.map((id) => this.openedBy(id, at) && !this.settled.has(id));
  }

  override async backupWorker(request: AgentRequest, rank: number, atBlock?: number): Promise<{ worker: string; opensAt: bigint }> {
    if (!this.openedBy(request.id, this.readAt(atBlock)))
      throw new SimulationError("eth_call", { data: "0x", name: "RequestNotPending", reason: `RequestNotPending(${request.id})` });
    return super.backupWorker(request, rank);
  }
}

/** A chain whose requests (6 per block) are in block 1, head 3, scanned and confirmed into `store`. */
async function scanned(store: BridgeStore, requests: number): Promise<LaggingNode> {
  const chain = new LaggingNode({ requests, perBlock: requests });
  chain.mine(0);
  chain.mine(0);
  await store.bind(31337n, chain.router);
  const events = await chain.routerEvents(0, 3);
  const blocks = [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash }));
  await store.applyScan({ ...events, blocks, cursor: blocks[2]! }, 64);
  await store.confirmBlocks(blocks, Date.now());
  return chain;
}

for (const [name, open] of STORES)
  describe(`bridge fleet safety on ${name}: a lagging node's "not pending" is not final (R-1)`, () => {
    let store: BridgeStore;
    afterEach(async () => await store.close());

    for (const headLags of [false, true])
      it(`verified answers are not parked by a submitter pass on a node 3 blocks behind (eth_blockNumber ${headLags ? "lagging too" : "current"}); sent once it catches up`, async function () {
        this.timeout(60_000);
        store = await open();
        const chain = await scanned(store, 6);
        for (let id = 1n; id <= 6n; id++) await store.saveAnswer(id, { ...ANSWER, requestId: id.toString() });
        const metrics = new BridgeMetrics(store, false);
        const submitter = new Submitter(chain, store, new TxManager(chain, store, OPTIONS, metrics, log), SUBMIT, metrics, log, PRAGUE);
        chain.lagBy = 3;
        chain.headLags = headLags;
        // The node refuses a read at the request's block: the pass fails as on any RPC error, and is retried.
        expect(
          await submitter.tick(0n).then(
            () => undefined,
            (error: unknown) => error,
          ),
        ).to.be.instanceOf(RpcError);
        expect(chain.offered).to.have.length(0);
        const states = await Promise.all([1n, 2n, 3n, 4n, 5n, 6n].map(async (id) => (await store.get(id))!.state));
        expect(states).to.deep.equal(Array(6).fill("signed"), "not marked settled elsewhere");
        chain.lagBy = 0;
        await sleep(150); // the Postgres store's idle-queue cache
        await submitter.tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data)).flat()).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n]);
      });

    it("the reconciler puts answers parked as settled back in the queue while the router still holds their requests", async function () {
      this.timeout(60_000);
      store = await open();
      const chain = await scanned(store, 6);
      for (let id = 1n; id <= 6n; id++) await store.saveAnswer(id, { ...ANSWER, requestId: id.toString() });
      expect((await store.readyToSubmit(6)).map((r) => r.id)).to.have.length(6);
      // Parked on a lagging node's word (as a bridge before this fix did); 5 and 6 really are settled.
      await store.markSettledElsewhere([1n, 2n, 3n, 4n, 5n, 6n]);
      chain.settled.add(5n);
      chain.settled.add(6n);
      const metrics = new BridgeMetrics(store, false);
      // A reconciler pass on a lagging node leaves them alone (its reads fail)...
      chain.lagBy = 3;
      await new Reconciler(chain, store, { startBlock: 0, maxLogRange: 100 }, metrics, log).run();
      expect((await store.get(1n))!.state).to.equal("submitted");
      chain.lagBy = 0;
      await new Reconciler(chain, store, { startBlock: 0, maxLogRange: 100 }, metrics, log).run();
      const states = await Promise.all([1n, 2n, 3n, 4n, 5n, 6n].map(async (id) => (await store.get(id))!.state));
      expect(states).to.deep.equal(["signed", "signed", "signed", "signed", "submitted", "submitted"]);
      await sleep(150);
      const submitter = new Submitter(chain, store, new TxManager(chain, store, OPTIONS, metrics, log), SUBMIT, metrics, log, PRAGUE);
      await submitter.tick(0n);
      expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data)).flat()).to.deep.equal([1n, 2n, 3n, 4n]);
    });

    it("R-1b: a failover pass on a node behind the request does not end its failover: the backup is asked again and takes over", async function () {
      this.timeout(60_000);
      store = await open();
      const chain = await scanned(store, 1);
      chain.backupFor = () => ({ worker: `0x${"bb".repeat(20)}`, opensAt: 0n }); // rank 1's window is open
      const failover = new Failover(chain, store, new BridgeMetrics(store, false), log);
      const now = (await chain.block("latest"))!.timestamp;
      for (const headLags of [false, true]) {
        chain.lagBy = 3;
        chain.headLags = headLags;
        expect(await failover.tick(now)).to.equal(0);
        expect((await store.get(1n))!.backupAt).to.not.equal(-1, "not NO_MORE_BACKUPS");
      }
      chain.lagBy = 0;
      expect(await failover.tick(now)).to.equal(1);
      const record = (await store.get(1n))!;
      expect([record.rank, record.assignee]).to.deep.equal([1, `0x${"bb".repeat(20)}`]);
    });
  });

/**
 * Fleet safety against the instances' clocks and identities (review s27, R-2 to R-5): attacks on
 * a real Postgres, each shown refused.
 */
describe("bridge fleet safety on PostgresStore: clocks and leases", () => {
  const chain = new SyntheticChain({ requests: 6, perBlock: 6 });
  const worker = chain.makeRequest(1n).request.worker;
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  async function instance(url: string, relayer: string, leaseMs = 30_000): Promise<PostgresStore> {
    const store = await PostgresStore.open({ url, relayer, leaseMs });
    opened.push(store);
    await store.bind(31337n, chain.router);
    return store;
  }

  async function seeded(store: BridgeStore): Promise<void> {
    const events = await chain.routerEvents(0, 1);
    const block = { number: 1, hash: chain.blocks[1]!.hash };
    await store.applyScan({ ...events, blocks: [block], cursor: block }, 64);
    await store.confirmBlock(block, Date.now());
  }

  /** A fresh database with instance A (relayer A) on it, the chain's requests scanned in. */
  async function seededInstance(leaseMs: number): Promise<{ url: string; a: PostgresStore }> {
    const url = await freshDatabase();
    const a = await instance(url, RELAYER_A, leaseMs);
    await seeded(a);
    return { url, a };
  }

  /** Runs `fn` with this process's wall clock moved by `skewMs` (another host's clock). */
  async function skewed<T>(skewMs: number, fn: () => Promise<T>): Promise<T> {
    const realNow = Date.now;
    Date.now = () => realNow() + skewMs;
    try {
      return await fn();
    } finally {
      Date.now = realNow;
    }
  }

  it("R-2: an instance whose clock runs 10 min ahead dies holding a request: another takes it over within the lease and its in-flight mark, on the database's clock", async function () {
    this.timeout(30_000);
    const url = await freshDatabase();
    const leaseMs = 300;
    const [a, b] = [await instance(url, RELAYER_A, leaseMs), await instance(url, RELAYER_B, leaseMs)];
    await seeded(a);
    // A's dispatcher claims the request and marks it in flight for 200 ms, on its own (skewed) clock.
    await skewed(10 * 60_000, async () => {
      expect((await a.dueForWorker(worker, Date.now(), 1, new Set())).map((r) => r.id)).to.deep.equal([1n]);
      await a.markDispatched(1n, 1, Date.now() + 200);
      await a.recordDispatchFailure(1n, "worker unreachable", Date.now() + 200);
    });
    expect((await a.get(1n))!.state).to.equal("dispatched");
    // A dies. Within its lease and mark B leaves the request alone; after them, B takes it over.
    expect((await b.dueForWorker(worker, Date.now(), 6, new Set())).map((r) => r.id)).to.not.include(1n);
    await sleep(leaseMs * 3);
    expect((await b.dueForWorker(worker, Date.now(), 6, new Set())).map((r) => r.id)).to.include(1n);
  });

  it("R-3: a second live instance given the same relayer key is refused at start (RelayerInUseError) and takes nothing; a dead one's successor takes the key once its lease lapsed", async function () {
    this.timeout(30_000);
    const leaseMs = 300;
    const { url, a } = await seededInstance(leaseMs);
    expect((await a.renewLeases()).scanner).to.equal(true);
    const twin = await instance(url, RELAYER_A, leaseMs);
    // A stays alive (renews as its dispatch loop does) while the twin starts.
    let alive = true;
    const renewing = (async () => {
      while (alive) {
        await a.renewLeases();
        await sleep(20);
      }
    })();
    const started = performance.now();
    const refused = await twin.renewLeases().then(
      () => undefined,
      (error: unknown) => error,
    );
    alive = false;
    await renewing;
    expect(refused).to.be.instanceOf(RelayerInUseError);
    expect(performance.now() - started).to.be.lessThan(leaseMs * 4, "refused within about one lease");
    expect((await a.renewLeases()).scanner).to.equal(true, "A keeps the scanning lease");
    // A crashes (no clean stop): a new process on the key waits its lease out and carries on.
    const successor = await instance(url, RELAYER_A, leaseMs);
    expect((await successor.renewLeases()).scanner).to.equal(true);
    // A clean stop hands the key over at once.
    await successor.close();
    opened.splice(opened.indexOf(successor), 1);
    const next = await instance(url, RELAYER_A, leaseMs);
    const at = performance.now();
    await next.renewLeases();
    expect(performance.now() - at).to.be.lessThan(leaseMs, "no wait after a clean stop");
  });

  it("R-4: a relayer that stalled past its lease finds its transaction handed back to the fleet: its fee bump (a new send) is refused (LeaseLostError), nothing stored", async function () {
    this.timeout(30_000);
    const url = await freshDatabase();
    const leaseMs = 300;
    const [a, b] = [await instance(url, RELAYER_A, leaseMs), await instance(url, RELAYER_B, leaseMs)];
    await seeded(a);
    await a.renewLeases();
    await a.dueForWorker(worker, Date.now(), 1, new Set());
    await a.saveAnswer(1n, { ...ANSWER, requestId: "1" });
    expect((await a.readyToSubmit(1)).map((r) => r.id)).to.deep.equal([1n]);
    const attempt = (byte: string) => ({ hash: `0x${byte.repeat(32)}` as Hex, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: Date.now() });
    const txA = await a.createTx({ kind: "fulfill", nonce: 0, to: chain.router, data: "0x01", gasLimit: 1n, requestIds: [1n] }, attempt("a1"));
    await a.addAttempt(txA, attempt("a2")); // a bump while A holds its lease
    await sleep(leaseMs * 3); // A stalls
    expect((await b.renewLeases()).handedOver?.txs).to.equal(1);
    const refused = await a.addAttempt(txA, attempt("a3")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(LeaseLostError);
    const hashes = (await a.txsWithNonce(0)).flatMap((t) => t.attempts.map((x) => x.hash));
    expect(hashes).to.have.members([attempt("a1").hash, attempt("a2").hash]);
  });

  it("R-3b: a process that stalled past its key's lease while a successor took the key claims and sends nothing more (RelayerInUseError, fenced by instance id); its work is the successor's", async function () {
    this.timeout(30_000);
    const leaseMs = 300;
    const { url, a } = await seededInstance(leaseMs);
    await a.renewLeases();
    // A holds work: two requests claimed by its dispatcher, one answered and in a transaction.
    expect((await a.dueForWorker(worker, Date.now(), 2, new Set())).map((r) => r.id)).to.deep.equal([1n, 2n]);
    await a.saveAnswer(1n, { ...ANSWER, requestId: "1" });
    expect((await a.readyToSubmit(1)).map((r) => r.id)).to.deep.equal([1n]);
    const attempt = (byte: string) => ({ hash: `0x${byte.repeat(32)}` as Hex, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: Date.now() });
    const txA = await a.createTx({ kind: "fulfill", nonce: 0, to: chain.router, data: "0x01", gasLimit: 1n, requestIds: [1n] }, attempt("a1"));
    // A stalls (GC, VM pause): its orchestrator starts a replacement with the same key, which takes it once A's lease lapsed.
    await sleep(leaseMs + 200);
    const successor = await instance(url, RELAYER_A, leaseMs);
    await successor.renewLeases();
    // A resumes: every stage that claims or sends is refused, in the statement that would claim or send.
    await successor.saveAnswer(3n, { ...ANSWER, requestId: "3" });
    await sleep(150); // A's idle-queue caches
    const refusals = await Promise.all(
      [
        a.dueForWorker(worker, Date.now(), 6, new Set()),
        a.readyToSubmit(6),
        a.createTx({ kind: "fulfill", nonce: 1, to: chain.router, data: "0x01", gasLimit: 1n, requestIds: [3n] }, attempt("a2")),
        a.createTx({ kind: "purge", nonce: 1, to: RELAYER_A, data: "0x", gasLimit: 21_000n, requestIds: [] }, attempt("a3")),
        a.addAttempt(txA, attempt("a4")),
      ].map((p) =>
        (p as Promise<unknown>).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    for (const refused of refusals) expect(refused).to.be.instanceOf(RelayerInUseError);
    // Found out once, it stays out: its lease renewal is refused too.
    expect(
      await a.renewLeases().then(
        () => undefined,
        (error: unknown) => error,
      ),
    ).to.be.instanceOf(RelayerInUseError);
    // Nothing A did after the take-over is stored; its work is the successor's (same key): claims, answers, transaction.
    expect((await successor.txsWithNonce(1)).length).to.equal(0);
    expect((await successor.txsWithNonce(0)).flatMap((t) => t.attempts.map((x) => x.hash))).to.deep.equal([attempt("a1").hash]);
    expect((await successor.unfinishedTxs()).map((t) => t.id)).to.deep.equal([txA]);
    expect((await successor.dueForWorker(worker, Date.now(), 6, new Set())).map((r) => r.id)).to.deep.equal([2n, 4n, 5n, 6n]);
    expect((await successor.readyToSubmit(6)).map((r) => r.id)).to.deep.equal([3n]);
  });

  it("R-3b: a running bridge that finds its key taken over stops itself (finished: RelayerInUseError); the holder carries its work", async function () {
    this.timeout(30_000);
    const leaseMs = 300;
    const { url, a } = await seededInstance(leaseMs);
    const fake = new FakeTxChain({ requests: 6, perBlock: 6 });
    const config = parseConfig({
      rpcUrl: "http://127.0.0.1:1",
      router: chain.router,
      privateKey: `0x${"11".repeat(32)}`,
      pollIntervalMs: 50,
      http: { enabled: false },
      logLevel: "silent",
    });
    const bridge = await Bridge.create(config, { chain: fake, store: a, logger: log });
    await bridge.start();
    // While A's process is paused a successor with the same key takes the lapsed lease (as in the test above).
    const successor = await instance(url, RELAYER_A, leaseMs);
    // First A's dispatcher claims and tries all six (no worker endpoint here: each backs off).
    for (let i = 0; i < 100 && (await successor.counts()).dispatched < 6; i++) await sleep(50);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("UPDATE leases SET owner = $1, until = (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000 WHERE name = $2", [
        successor.instance,
        `relayer:${RELAYER_A.toLowerCase()}`,
      ]);
    } finally {
      await client.end();
    }
    const halted = await Promise.race([bridge.finished, sleep(10_000).then(() => "still running")]);
    expect(halted).to.be.instanceOf(RelayerInUseError);
    expect(fake.offered).to.have.length(0, "nothing sent");
    // Whatever A had claimed is the successor's at once (same key): all six requests.
    // A's claims (all six, tried once: no worker endpoint here) are the successor's (same key) once their backoff passes: none waits out a lease.
    expect((await successor.list()).map((r) => [r.state, r.attempts])).to.deep.equal(Array(6).fill(["dispatched", 1]));
    expect((await successor.dueForWorker(worker, Date.now() + 600_000, 6, new Set())).map((r) => r.id)).to.have.members([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it("R-5: a wall-clock step back on one host does not freeze its lease renewal (monotonic throttle): it keeps its relayer and scanning leases", async function () {
    this.timeout(30_000);
    const leaseMs = 300;
    const { url, a } = await seededInstance(leaseMs);
    expect((await a.renewLeases()).scanner).to.equal(true);
    await a.dueForWorker(worker, Date.now(), 1, new Set());
    await a.saveAnswer(1n, { ...ANSWER, requestId: "1" });
    await a.readyToSubmit(1);
    await a.createTx(
      { kind: "fulfill", nonce: 0, to: chain.router, data: "0x01", gasLimit: 1n, requestIds: [1n] },
      { hash: `0x${"a1".repeat(32)}` as Hex, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: Date.now() },
    );
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000; // NTP steps A's host back one hour
    let renewed: Awaited<ReturnType<PostgresStore["renewLeases"]>>;
    try {
      for (let i = 0; i < 10; i++) {
        await a.renewLeases();
        await sleep(100);
      }
      const b = await instance(url, RELAYER_B, leaseMs);
      renewed = await b.renewLeases();
    } finally {
      Date.now = realNow;
    }
    expect(renewed.scanner).to.equal(false, "A still holds the scanning lease: one scanner");
    expect(renewed.handedOver).to.equal(undefined, "the live relayer A is not declared dead");
    expect((await a.get(1n))!.state).to.equal("submitted", "A's in-flight fulfilment stays A's");
  });
});
