import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { Dispatcher } from "../../bridge/src/dispatcher.js";
import { Failover } from "../../bridge/src/failover.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { NO_MORE_BACKUPS } from "../../bridge/src/store/store.js";
import { AnswerVerifier } from "../../bridge/src/verify.js";
import { StaticWorkerDirectory } from "../../bridge/src/worker-directory.js";
import type { AgentRequest } from "../../protocol/request.js";
import { waitFor } from "./helpers.js";

const PRIMARY_KEY = Wallet.createRandom().privateKey;
const BACKUP_KEYS = [Wallet.createRandom().privateKey, Wallet.createRandom().privateKey];
const BACKUPS = BACKUP_KEYS.map((key) => new Wallet(key).address.toLowerCase());
/** Windows as the router opens them: backup 1 from 50 % of a 100 s timeout, backup 2 from 75 %. */
const TIMEOUT = 100n;
const opensAt = (request: AgentRequest, rank: number) => request.deadline - TIMEOUT + (TIMEOUT * (100n - (100n >> BigInt(rank)))) / 100n;

describe("bridge Failover", () => {
  let dir: string;
  let chain: SyntheticChain;
  let store: SqliteStore;
  const silent = createLogger("silent");

  function failover(): Failover {
    return new Failover(chain, store, new BridgeMetrics(store, false), silent);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "bridge-failover-"));
    chain = new SyntheticChain();
    Object.defineProperty(chain, "worker", { value: new Wallet(PRIMARY_KEY).address });
    chain.backupFor = (request, rank) => (rank <= 2 ? { worker: BACKUPS[rank - 1]!, opensAt: opensAt(request, rank) } : undefined);
    chain.mine(50);
    store = new SqliteStore(join(dir, "bridge.sqlite"));
    await store.bind(31337n, chain.router);
    const events = await chain.routerEvents(0, 1);
    const block = { number: 1, hash: chain.blocks[1]!.hash };
    await store.applyScan({ ...events, blocks: [block], cursor: block }, 64);
    await store.confirmBlock(block, Date.now());
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deadline = async () => (await store.get(1n))!.request.deadline;

  it("learns when windows open from one backupWorker read per config version and rank: the happy path costs no call per request", async () => {
    const early = (await deadline()) - TIMEOUT + 1n;
    expect(await failover().tick(early)).to.equal(0);
    expect(chain.backupCalls).to.equal(1, "one read to learn the window");
    expect(await store.failoverDue(early, 100)).to.have.length(0, "every request scheduled from it in the same pass: each waits for its window");
    const f = failover();
    await f.tick(early);
    await f.tick(early);
    expect(chain.backupCalls).to.equal(1, "nothing left to ask after a restart either");
    expect((await store.get(7n))!.backupAt).to.equal(Number(opensAt((await store.get(7n))!.request, 1)));
    expect((await store.get(7n))!.rank).to.equal(0);
  });

  it("where the router has no backup for a request (NoBackup: one operator's workers), one pass asks for every due request, not one per pass", async () => {
    chain.backupFor = () => undefined;
    const early = (await deadline()) - TIMEOUT + 1n;
    const due = (await store.failoverDue(early, 100)).length;
    expect(due).to.be.above(2);
    await failover().tick(early);
    // Each pass reads the whole due queue: one request settled per pass would read it once per request.
    expect(await store.failoverDue(early, 100)).to.have.length(0, "every request's NoBackup recorded in the first pass");
    expect(chain.backupCalls).to.equal(due, "one read per request (the router's draw is per request)");
    expect((await store.get(1n))!.backupAt).to.equal(NO_MORE_BACKUPS);
  });

  it("hands an unanswered request over to backup 1 when its window opens, then to backup 2, then stops (NoBackup)", async () => {
    const f = failover();
    const request = (await store.get(1n))!.request;
    await store.markDispatched(2n, 1, 0);
    await store.saveAnswer(2n, { ...answerOf(2n) });
    expect(await f.tick(opensAt(request, 1) - 1n)).to.equal(0);
    expect(await f.tick(opensAt(request, 1))).to.equal(49, "all but the answered request");
    const handed = (await store.get(1n))!;
    expect([handed.state, handed.assignee, handed.rank]).to.deep.equal(["confirmed", BACKUPS[0], 1]);
    expect((await store.get(2n))!.rank).to.equal(0, "its primary answered: no handover");
    // Backup 2's window: learned, then due.
    expect(await f.tick(opensAt(request, 1))).to.equal(0);
    expect(await f.tick(opensAt(request, 2))).to.equal(49);
    expect([(await store.get(1n))!.assignee, (await store.get(1n))!.rank]).to.deep.equal([BACKUPS[1], 2]);
    // No backup 3 (MAX_BACKUPS = 2): nothing more to look at, and nothing asked again.
    const calls = chain.backupCalls;
    expect((await store.get(1n))!.backupAt).to.equal(NO_MORE_BACKUPS);
    await f.tick(request.deadline - 1n);
    expect(chain.backupCalls).to.equal(calls);
  });

  it("does not hand over a request settled meanwhile (backupWorker reverts RequestNotPending), nor after the deadline", async () => {
    const request = (await store.get(1n))!.request;
    chain.settled.add(1n);
    await failover().tick(opensAt(request, 1));
    expect((await store.get(1n))!.rank).to.equal(0);
    expect((await store.get(1n))!.backupAt).to.equal(NO_MORE_BACKUPS);
    expect(await store.failoverDue(request.deadline, 100)).to.have.length(0);
  });

  it("survives a restart mid-window: the handover and the next window are in the store", async () => {
    const request = (await store.get(1n))!.request;
    const before = failover();
    expect(await before.tick(opensAt(request, 1))).to.equal(1, "one request teaches the window");
    expect(await before.tick(opensAt(request, 1))).to.equal(49);
    expect(await before.tick(opensAt(request, 1))).to.equal(0, "learns backup 2's window...");
    expect(await before.tick(opensAt(request, 1))).to.equal(0, "...and schedules every request's");
    await store.close();
    store = new SqliteStore(join(dir, "bridge.sqlite"));
    await store.bind(31337n, chain.router);
    expect([(await store.get(1n))!.assignee, (await store.get(1n))!.rank]).to.deep.equal([BACKUPS[0], 1]);
    expect(await store.failoverDue(opensAt(request, 2) - 1n, 100)).to.have.length(0, "every next window is in the store");
    expect(await store.dueForWorker(BACKUPS[0]!, Date.now(), 100, new Set())).to.have.length(50);
    const after = failover();
    let handedOver = 0;
    for (let pass = 0; pass < 3; pass++) handedOver += await after.tick(opensAt(request, 2));
    expect(handedOver).to.equal(50);
    expect(await store.dueForWorker(BACKUPS[1]!, Date.now(), 100, new Set())).to.have.length(50);
  });

  function dispatcherFor(endpoints: Record<string, string[]>): Dispatcher {
    return new Dispatcher(
      store,
      new StaticWorkerDirectory(endpoints),
      new AnswerVerifier(31337n, chain.router),
      { chainId: 31337n, router: chain.router },
      {
        timeoutMs: 10_000,
        concurrency: 100,
        perWorkerConcurrency: 100,
        backoffBaseMs: 60_000,
        backoffMaxMs: 60_000,
        breakerThreshold: 100,
        breakerCooldownMs: 1_000,
        breakerMaxCooldownMs: 1_000,
        hedgeMinMs: 50,
      },
      new BridgeMetrics(store, false),
      silent,
    );
  }

  /** Passes until nothing more is handed over. */
  async function handOver(f: Failover, chainTime: bigint): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < 3; pass++) total += await f.tick(chainTime);
    return total;
  }

  it("dispatches a handed-over request to the backup with its rank; the answer is the backup's, kept with that rank", async () => {
    const request = (await store.get(1n))!.request;
    const primary = new FakeWorker({ key: PRIMARY_KEY, down: true });
    const backup = new FakeWorker({ key: BACKUP_KEYS[0]! });
    await primary.listen();
    await backup.listen();
    try {
      const dispatcher = dispatcherFor({ [chain.worker]: [primary.url], [BACKUPS[0]!]: [backup.url] });
      // The primary is down: every request is tried on it and waits for its backoff.
      await dispatcher.tick(request.deadline - TIMEOUT);
      await dispatcher.drain();
      expect(primary.received).to.equal(50);
      expect((await store.counts()).dispatched).to.equal(50);
      expect(await handOver(failover(), opensAt(request, 1))).to.equal(50);
      await dispatcher.tick(opensAt(request, 1));
      await dispatcher.drain();
      expect((await store.counts()).signed).to.equal(50);
      expect(backup.asBackup.size).to.equal(50);
      expect(backup.asBackup.get("1")).to.equal("1", "asked as backup 1");
      const record = (await store.get(1n))!;
      expect([record.answerRank, record.answer!.worker.toLowerCase()]).to.deep.equal([1, BACKUPS[0]]);
    } finally {
      await primary.close();
      await backup.close();
    }
  });

  it("keeps a slow primary's answer that arrives after the handover as the primary's (rank 0: fulfillBatch), and asks the backup nothing", async () => {
    const request = (await store.get(1n))!.request;
    const primary = new FakeWorker({ key: PRIMARY_KEY, delayMs: 300 });
    const backup = new FakeWorker({ key: BACKUP_KEYS[0]! });
    await primary.listen();
    await backup.listen();
    try {
      const dispatcher = dispatcherFor({ [chain.worker]: [primary.url], [BACKUPS[0]!]: [backup.url] });
      await dispatcher.tick(request.deadline - TIMEOUT);
      await waitFor(() => primary.received === 50, 5_000, "50 calls to the primary");
      expect(await handOver(failover(), opensAt(request, 1))).to.equal(50, "handed over while the primary's calls are in flight");
      await dispatcher.tick(opensAt(request, 1)); // in flight: not dispatched twice
      await dispatcher.drain();
      expect((await store.counts()).signed).to.equal(50);
      expect(backup.received).to.equal(0);
      const record = (await store.get(1n))!;
      expect([record.answerRank, record.answer!.worker]).to.deep.equal([0, chain.worker]);
    } finally {
      await primary.close();
      await backup.close();
    }
  });
});

function answerOf(id: bigint) {
  return {
    simulated: true,
    worker: "0x0000000000000000000000000000000000000001",
    requestId: id.toString(),
    requestHash: `0x${"11".repeat(32)}`,
    status: 0,
    statusName: "OK",
    output: "0x",
    outputHash: `0x${"22".repeat(32)}`,
    subAgentIds: [],
    subAgentPrices: [],
    signature: "0x",
  };
}
