import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { StoreMismatchError } from "../../bridge/src/errors.js";
import { MIGRATIONS, migrate, type Migration } from "../../bridge/src/store/migrations.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { NO_MORE_BACKUPS, type BridgeStore } from "../../bridge/src/store/store.js";
import { ANSWER } from "./fake-tx-chain.js";
import { rejection } from "./rejection.js";
import { STORES } from "./stores.js";

for (const [name, open] of STORES)
  describe(`bridge ${name}`, () => {
    let store: BridgeStore;
    const chain = new SyntheticChain({ requests: 6, perBlock: 2 }); // blocks 1..3 hold ids 1..6

    beforeEach(async () => {
      store = await open();
      await store.bind(31337n, chain.router);
    });
    afterEach(async () => await store.close());

    async function scanAll() {
      const events = await chain.routerEvents(0, 3);
      const head = (await chain.block(3))!;
      return store.applyScan({ ...events, blocks: [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash })), cursor: head }, 256);
    }

    it("refuses to serve another chain or router", async () => {
      expect(await rejection(store.bind(1n, chain.router))).to.be.instanceOf(StoreMismatchError);
    });

    it("stores each request once however often its range is scanned", async () => {
      expect((await scanAll()).added).to.equal(6);
      expect((await scanAll()).added).to.equal(0);
      expect((await store.counts()).seen).to.equal(6);
      expect((await store.cursor())?.number).to.equal(3);
    });

    it("walks a request through its states and keeps the answer", async () => {
      await scanAll();
      expect(await store.confirmBlock({ number: 1, hash: chain.blocks[1]!.hash }, Date.now())).to.equal(2);
      expect(await store.confirmBlock({ number: 2, hash: "0xdead" }, Date.now())).to.equal(0, "a different hash is not confirmed");
      await store.markDispatched(1n, 1, 0);
      await store.saveAnswer(1n, ANSWER);
      expect((await store.readyToSubmit(10)).map((r) => r.id)).to.deep.equal([1n]);
      const txId = await store.createTx(
        { kind: "fulfill", nonce: 0, to: chain.router, data: "0x01", gasLimit: 100_000n, requestIds: [1n] },
        { hash: `0x${"aa".repeat(32)}`, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: 1 },
      );
      expect((await store.get(1n))!.state).to.equal("submitted");
      expect((await store.get(1n))!.fulfilTx).to.equal(txId);
      await store.abandonTx(txId, "test");
      expect((await store.get(1n))!.state).to.equal("signed");
      expect((await store.get(1n))!.answer).to.deep.equal(ANSWER);
    });

    it("applies settlements and never reopens a settled request except through a reorg", async () => {
      await scanAll();
      await store.applyScan(
        {
          requests: [],
          settlements: [{ requestId: 2n, outcome: "timed_out", block: { number: 4, hash: "0x04" }, txHash: "0xt", fee: 0n, refund: 5n }],
          blocks: [{ number: 4, hash: "0x04" }],
          cursor: { number: 4, hash: "0x04" },
        },
        256,
      );
      expect((await store.get(2n))!.state).to.equal("timed_out");
      await store.markFailed(2n, "late");
      expect((await store.get(2n))!.state).to.equal("timed_out");
      // Reorg to block 3: the settlement (block 4) is reopened; requests of block 3 are orphaned.
      const orphaned = await store.rewind({ number: 2, hash: chain.blocks[2]!.hash });
      expect(orphaned.sort()).to.deep.equal([5n, 6n]);
      expect((await store.get(2n))!.state).to.equal("confirmed", "reopened: the submitter re-checks isPending");
      expect((await store.get(5n))!.state).to.equal("orphaned");
      expect((await store.cursor())?.number).to.equal(2);
    });

    it("does not count the gas of a transaction whose block was reorganised away: it is tracked again until re-mined", async () => {
      await scanAll();
      const txId = await store.createTx(
        { kind: "timeout", nonce: 0, to: chain.router, data: "0x01", gasLimit: 100_000n, requestIds: [1n] },
        { hash: `0x${"cc".repeat(32)}`, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, createdAt: 1 },
      );
      await store.confirmTx(txId, { hash: `0x${"cc".repeat(32)}`, blockNumber: 3, gasUsed: 70_000n, effectiveGasPrice: 2n, success: true, settlements: [] });
      await store.resolveNonce(0);
      expect(await store.txStats()).to.deep.equal({ count: 1, gasUsed: 70_000n, feesPaid: 140_000n });
      await store.rewind({ number: 2, hash: chain.blocks[2]!.hash });
      expect(await store.txStats()).to.deep.equal({ count: 0, gasUsed: 0n, feesPaid: 0n });
      expect((await store.unfinishedTxs()).map((t) => [t.id, t.state, t.resolved])).to.deep.equal([[txId, "unconfirmed", false]]);
      expect(await store.unresolvedNonces(10)).to.deep.equal([0]);
    });

    it("lists expired unsettled requests by deadline", async () => {
      await scanAll();
      const deadline = chain.makeRequest(1n).request.deadline;
      expect(await store.expired(deadline, 10)).to.have.length(0);
      expect(await store.expired(deadline + 1n, 10)).to.have.length(6);
    });

    it("failover: hands an unanswered request to a backup, re-queued under the backup, and records who answered", async () => {
      await scanAll();
      await store.confirmBlock({ number: 1, hash: chain.blocks[1]!.hash }, Date.now());
      const primary = chain.worker.toLowerCase();
      const backup = `0x${"b1".repeat(20)}`;
      const deadline = chain.makeRequest(1n).request.deadline;
      // Confirmed requests with no answer are due for a look at their backup (backup_at 0: not known yet).
      expect((await store.failoverDue(deadline - 100n, 10)).map((r) => r.id)).to.deep.equal([1n, 2n]);
      await store.scheduleBackups([
        { id: 1n, at: Number(deadline - 50n) },
        { id: 2n, at: Number(deadline - 50n) },
      ]);
      expect(await store.failoverDue(deadline - 100n, 10)).to.have.length(0, "not before their window");
      expect((await store.failoverDue(deadline - 50n, 10)).map((r) => r.id)).to.deep.equal([1n, 2n]);
      await store.markDispatched(1n, 3, Date.now() + 60_000);
      expect(await store.assignBackup(1n, 1, backup, 0)).to.equal(true);
      expect(await store.assignBackup(1n, 1, backup, 0)).to.equal(false, "only upward in rank");
      const handed = (await store.get(1n))!;
      expect([handed.state, handed.assignee, handed.rank, handed.attempts, handed.nextAttemptAt, handed.request.worker.toLowerCase()]).to.deep.equal([
        "confirmed",
        backup,
        1,
        0,
        0,
        primary,
      ]);
      // The dispatcher's queue: request 1 under the backup now, request 2 under the primary.
      expect((await store.dispatchWorkers()).sort()).to.deep.equal([backup, primary].sort());
      expect((await store.dueForWorker(backup, Date.now(), 10, new Set())).map((r) => r.id)).to.deep.equal([1n]);
      expect((await store.dueForWorker(primary, Date.now(), 10, new Set())).map((r) => r.id)).to.deep.equal([2n]);
      await store.saveAnswer(1n, ANSWER, 1);
      expect((await store.readyToSubmit(10)).map((r) => [r.id, r.answerRank])).to.deep.equal([[1n, 1]]);
      // The draw moved (WrongSigner): the answer is dropped and rank 1 is read again.
      await store.redrawBackup(1n, "moved");
      expect([(await store.get(1n))!.state, (await store.get(1n))!.rank, (await store.get(1n))!.answer]).to.deep.equal(["failed", 0, undefined]);
      expect(await store.assignBackup(1n, 1, backup, 0)).to.equal(true);
      await store.saveAnswer(1n, ANSWER, 1);
      expect((await store.failoverDue(deadline - 1n, 10)).map((r) => r.id)).to.deep.equal([2n], "an answered request is not handed over");
      await store.scheduleBackups([{ id: 2n, at: NO_MORE_BACKUPS }]);
      expect(await store.failoverDue(deadline - 1n, 10)).to.have.length(0, "no further backup");
      expect(await store.failoverDue(deadline, 10)).to.have.length(0);
      const settlement = {
        requestId: 1n,
        outcome: "fulfilled" as const,
        block: { number: 4, hash: "0x04" },
        txHash: "0x05",
        fee: 1n,
        refund: 0n,
        worker: backup,
      };
      await store.observe([], [settlement]);
      expect([(await store.get(1n))!.state, (await store.get(1n))!.answeredBy]).to.deep.equal(["fulfilled", backup]);
      expect(await store.failoverStats()).to.deep.equal({ handedOver: 1, answeredByBackup: 1 });
    });

    if (name === "SqliteStore")
      it("reads its queues through their partial indexes (the SQL state lists match the indexes')", async () => {
        // INDEXED BY makes SQLite refuse the query when the WHERE no longer implies the index's predicate.
        await store.expired(1n, 10);
        await store.seenBlocks(10, 10);
        await store.dueForWorker("0x01", Date.now(), 10, new Set());
        await store.dispatchWorkers();
        await store.failoverDue(1n, 10);
        const db = (store as unknown as { db: DatabaseSync }).db;
        expect(() => db.prepare("SELECT * FROM requests INDEXED BY requests_deadline WHERE state IN ('seen') AND deadline < 1")).to.throw(/no query solution/);
      });
  });

describe("bridge store migrations", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bridge-migrations-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const userVersion = (path: string) => {
    const db = new DatabaseSync(path);
    try {
      return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    } finally {
      db.close();
    }
  };

  it("upgrades a store written before numbered migrations (schema_version 1 in meta), keeping its rows", async () => {
    const path = join(dir, "legacy.sqlite");
    const legacy = new DatabaseSync(path);
    MIGRATIONS[0]!.up(legacy);
    legacy.exec(`INSERT INTO meta (key, value) VALUES ('schema_version', '1'), ('cursor', '{"number":7,"hash":"0x07"}')`);
    legacy.close();
    const store = new SqliteStore(path);
    expect(await store.cursor()).to.deep.equal({ number: 7, hash: "0x07" });
    await store.close();
    expect(userVersion(path)).to.equal(MIGRATIONS.at(-1)!.version);
  });

  it("turns version 1's sent-transaction rows into logical transactions with their attempts (migration 2)", async () => {
    const path = join(dir, "v1.sqlite");
    const v1 = new DatabaseSync(path);
    MIGRATIONS[0]!.up(v1);
    v1.exec("PRAGMA user_version = 1");
    const insertTx = v1.prepare(
      "INSERT INTO txs (hash, kind, nonce, to_address, data, gas_limit, max_fee, priority_fee, request_ids, sent_at, status, block_number, gas_used, effective_gas_price) VALUES (?, ?, ?, '0xr', ?, '100', ?, '1', ?, ?, ?, ?, ?, ?)",
    );
    // nonce 0: sent, bumped, the bump mined; nonce 1: sent and bumped, both pending; nonce 2: replaced by an unknown one.
    insertTx.run("0xa0", "fulfill", 0, "0xd0", "10", '["1"]', 1, "replaced", null, null, null);
    insertTx.run("0xa1", "fulfill", 0, "0xd0", "12", '["1"]', 2, "mined", 9, "50000", "3");
    insertTx.run("0xb0", "fulfill", 1, "0xd1", "10", '["2"]', 3, "pending", null, null, null);
    insertTx.run("0xb1", "fulfill", 1, "0xd1", "12", '["2"]', 4, "pending", null, null, null);
    insertTx.run("0xc0", "timeout", 2, "0xd2", "10", '["3"]', 5, "replaced", null, null, null);
    v1.prepare(
      "INSERT INTO requests (id, request, input, request_hash, worker, deadline, block_number, block_hash, log_index, tx_hash, state, seen_at, submit_tx) VALUES ('2', '{}', '0x', '0x', '0xw', 1, 1, '0x', 0, '0x', 'submitted', 0, '0xb1')",
    ).run();
    v1.close();
    const store = new SqliteStore(path);
    try {
      const [confirmed] = await store.txsWithNonce(0);
      expect(confirmed).to.include({ state: "confirmed", minedHash: "0xa1", gasUsed: 50_000n, success: true, resolved: true });
      expect(confirmed!.attempts.map((a) => a.hash)).to.deep.equal(["0xa0", "0xa1"]);
      const [pending] = await store.unfinishedTxs();
      expect(pending).to.include({ nonce: 1, state: "unconfirmed", resolved: false });
      expect(pending!.attempts.map((a) => [a.hash, a.maxFeePerGas])).to.deep.equal([
        ["0xb0", 10n],
        ["0xb1", 12n],
      ]);
      expect((await store.txsWithNonce(2))[0]).to.include({ kind: "timeout", state: "abandoned" });
      expect(await store.txStats()).to.deep.equal({ count: 1, gasUsed: 50_000n, feesPaid: 150_000n });
      const db = (store as unknown as { db: DatabaseSync }).db;
      expect(db.prepare("SELECT fulfil_tx FROM requests WHERE id = '2'").get()).to.deep.equal({ fulfil_tx: pending!.id });
    } finally {
      await store.close();
    }
  });

  it("refuses a store written by a newer bridge", () => {
    const path = join(dir, "future.sqlite");
    const future = new DatabaseSync(path);
    future.exec(`PRAGMA user_version = ${MIGRATIONS.at(-1)!.version + 1}`);
    future.close();
    expect(() => new SqliteStore(path)).to.throw(StoreMismatchError, /written by a newer bridge/);
  });

  it("applies each step atomically with its version: a failing step leaves the store at the previous one", () => {
    const path = join(dir, "steps.sqlite");
    const steps: Migration[] = [
      { version: 1, description: "a", up: (db) => db.exec("CREATE TABLE a (x)") },
      { version: 2, description: "b", up: (db) => db.exec("CREATE TABLE b (x); INSERT INTO nowhere VALUES (1)") },
    ];
    const db = new DatabaseSync(path);
    expect(() => migrate(db, path, steps)).to.throw(StoreMismatchError, /store migration 2 \(b\) failed/);
    expect((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version).to.equal(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).to.equal(undefined);
    steps[1] = { version: 2, description: "b", up: (d) => d.exec("CREATE TABLE b (x)") };
    expect(migrate(db, path, steps)).to.deep.equal({ from: 1, to: 2 });
    db.close();
  });
});
