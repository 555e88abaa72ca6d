import { expect } from "chai";
import { RpcError } from "../../bridge/src/errors.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { PRAGUE } from "../../bridge/src/chain/gas-schedule.js";
import { Submitter } from "../../bridge/src/submitter.js";
import { classifySendError, type SendErrorKind } from "../../bridge/src/txm/send-errors.js";
import { DROPS_BEFORE_ABANDON } from "../../bridge/src/txm/resender.js";
import { TxManager } from "../../bridge/src/txm/tx-manager.js";
import type { BridgeStore } from "../../bridge/src/store/store.js";
import type { Hex } from "../../protocol/hex.js";
import { ANSWER, FakeTxChain, lostAnswer, refusal } from "./fake-tx-chain.js";
import { rejection } from "./rejection.js";
import { STORES } from "./stores.js";

const OPTIONS = { maxFeePerGas: 1_000n, gasBumpAfterMs: 60_000, gasBumpPercent: 15, rebroadcastAfterMs: 10_000, missingReceiptGraceMs: 5_000 };

describe("bridge send-error classification", () => {
  const cases: [SendErrorKind, string][] = [
    ["already_known", "already known"],
    ["already_known", "transaction already imported"],
    ["already_known", "Known transaction: 0x26c9c0b1"],
    ["already_known", "AlreadyKnown"],
    ["nonce_too_low", "nonce too low"],
    ["nonce_too_low", "Nonce too low. Expected nonce to be 2 but got 0. Note that transactions can't be queued when automining."],
    ["nonce_too_low", "OldNonce, Current nonce: 5, nonce of rejected tx: 3"],
    ["nonce_too_high", "nonce too high"],
    ["nonce_too_high", "NonceGap, Future nonce. Expected nonce: 10"],
    ["underpriced", "replacement transaction underpriced"],
    ["underpriced", "Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 2784810132 is necessary"],
    ["underpriced", "max fee per gas less than block base fee"],
    ["underpriced", "transaction underpriced"],
    ["underpriced", "FeeTooLow, MaxFeePerGas too low. MaxFeePerGas: 5, BaseFee: 7, MaxPriorityFeePerGas:1, Block number: 3"],
    ["insufficient_funds", "insufficient funds for gas * price + value"],
    ["insufficient_funds", "Insufficient funds for gas * price + value"],
    ["insufficient_funds", "Sender doesn't have enough funds to send tx. The max upfront cost is: 1 and the sender's balance is: 0."],
    ["insufficient_funds", "Upfront cost exceeds account balance"],
    ["fatal", "intrinsic gas too low"],
    ["fatal", "exceeds block gas limit"],
    ["fatal", "oversized data"],
    ["fatal", "invalid sender"],
    ["fatal", "Transaction gas limit is 100000000 and exceeds transaction gas cap of 16777216"],
    ["fatal", "intrinsic gas too high -- tx.gas_limit > env.block.gas_limit"],
    ["fatal", "Transaction requires gas floor of 61000 but got limit of 37000"],
    ["fatal", "invalid chain id for signer"],
  ];
  for (const [kind, message] of cases) {
    it(`${kind}: "${message.slice(0, 60)}"`, () => expect(classifySendError(refusal(message))).to.equal(kind));
  }

  it("transport: no answer, a busy node, an unknown complaint, or not a JSON-RPC error at all", () => {
    expect(classifySendError(lostAnswer())).to.equal("transport");
    expect(classifySendError(refusal("internal error", -32603))).to.equal("transport");
    expect(classifySendError(refusal("limit exceeded", -32005))).to.equal("transport");
    expect(classifySendError(refusal("the node is confused"))).to.equal("transport");
    expect(classifySendError(new TypeError("x"))).to.equal("transport");
  });
});

for (const [name, open] of STORES)
  describe(`bridge transaction manager on ${name}`, () => {
    let chain: FakeTxChain;
    let store: BridgeStore;
    let txm: TxManager;
    const metrics = () => new BridgeMetrics(store, false);
    const manager = () => new TxManager(chain, store, OPTIONS, metrics(), createLogger("silent"));
    const intent = (ids: bigint[], data: Hex = "0x1234") => ({ kind: "fulfill" as const, to: chain.router, data, gasLimit: 100_000n, requestIds: ids });
    const send = (ids: bigint[]) => txm.exclusive(() => txm.send(intent(ids)));
    const states = async (ids: bigint[]) => Promise.all(ids.map(async (id) => (await store.get(id))!.state));
    /** A submitter with room for everything but what a test limits (batch size, bytes per transaction). */
    const batchSubmitter = (limits: { maxBatchSize?: number; maxTxBytes?: number } = {}) =>
      new Submitter(
        chain,
        store,
        txm,
        { maxBatchSize: 6, maxInFlight: 100, maxInFlightGas: 1e12, gasPerFulfillment: 1, maxTxGas: 1e9, maxTxBytes: 1e9, deadlineMarginSeconds: 24, ...limits },
        metrics(),
        createLogger("silent"),
        PRAGUE,
      );

    /** Six requests with signed answers (output by id, empty unless given). */
    const setUp = async (outputOf: (id: bigint) => Hex = () => "0x") => {
      chain = new FakeTxChain({ requests: 6, perBlock: 6 });
      store = await open();
      await store.bind(31337n, chain.router);
      const events = await chain.routerEvents(0, 1);
      const block = { number: 1, hash: chain.blocks[1]!.hash };
      await store.applyScan({ ...events, blocks: [block], cursor: block }, 64);
      await store.confirmBlock(block, Date.now());
      for (let id = 1n; id <= 6n; id++) await store.saveAnswer(id, { ...ANSWER, requestId: id.toString(), output: outputOf(id) });
      txm = manager();
    };
    beforeEach(() => setUp());
    afterEach(async () => await store.close());

    describe("broadcaster", () => {
      it("persists the transaction and its requests' link, then broadcasts it", async () => {
        const result = await send([1n, 2n]);
        expect(result).to.include({ sent: true, acknowledged: true, nonce: 0 });
        const [tx] = await store.unfinishedTxs();
        expect(tx).to.include({ state: "unconfirmed", nonce: 0, kind: "fulfill" });
        expect(tx!.attempts.map((a) => a.state)).to.deep.equal(["broadcast"]);
        expect(await states([1n, 2n, 3n])).to.deep.equal(["submitted", "submitted", "signed"]);
        expect((await store.get(1n))!.fulfilTx).to.equal(tx!.id);
      });

      it("already known: counts as accepted", async () => {
        chain.script.push(refusal("already known"));
        expect(await send([1n])).to.include({ sent: true, acknowledged: true });
        expect((await store.unfinishedTxs())[0]!.state).to.equal("unconfirmed");
      });

      it("no answer (transport): keeps the transaction in progress on its nonce; the resender offers the same bytes again", async () => {
        chain.script.push(lostAnswer());
        const first = await send([1n]);
        expect(first).to.include({ sent: true, acknowledged: false, nonce: 0 });
        expect((await store.unfinishedTxs())[0]!.state).to.equal("in_progress");
        expect(await send([2n])).to.include({ nonce: 1 });
        await txm.exclusive(() => txm.track());
        expect(chain.offered.filter((t) => t.nonce === 0).map((t) => t.hash)).to.deep.equal([first.sent ? first.hash : "", first.sent ? first.hash : ""]);
        expect((await store.unfinishedTxs()).map((t) => t.state)).to.deep.equal(["unconfirmed", "unconfirmed"]);
      });

      for (const [kind, message] of [
        ["nonce_too_low", "nonce too low"],
        ["nonce_too_high", "nonce too high"],
        ["underpriced", "transaction underpriced"],
        ["insufficient_funds", "insufficient funds for gas * price + value"],
        ["fatal", "oversized data"],
      ] as const) {
        it(`${kind}: abandons the transaction, queues its requests again and frees the nonce`, async () => {
          chain.script.push(refusal(message));
          const result = await send([1n, 2n]);
          expect(result).to.include({ sent: false, kind });
          expect(await store.unfinishedTxs()).to.deep.equal([]);
          expect(await states([1n, 2n])).to.deep.equal(["signed", "signed"]);
          expect((await store.txsWithNonce(0))[0]).to.include({ state: "abandoned" });
          expect(await send([1n, 2n])).to.include({ sent: true, nonce: 0 });
        });
      }
    });

    describe("resender", () => {
      it("after a crash, offers the persisted transaction again on its own nonce before new ones are mined", async () => {
        chain.script.push(lostAnswer());
        chain.pool.clear();
        await send([1n, 2n]);
        chain.pool.clear(); // the node never got it
        txm = manager(); // a restarted process
        expect(await send([3n])).to.include({ nonce: 1 }, "the tracked nonce is not reused");
        await txm.exclusive(() => txm.track());
        expect(chain.offered.at(-1)!.nonce).to.equal(0);
        expect([...chain.pool.values()].map((t) => t.nonce).sort()).to.deep.equal([0, 1]);
      });

      it("re-broadcasts an unconfirmed transaction a node may have dropped, after rebroadcastAfterMs", async () => {
        const sent = await send([1n]);
        chain.pool.clear();
        const now = Date.now();
        await txm.resender.run({ full: true }, now + 1_000);
        expect(chain.pool.size).to.equal(0, "not yet");
        await txm.resender.run({ full: true }, now + OPTIONS.rebroadcastAfterMs + 1);
        expect([...chain.pool.keys()]).to.deep.equal([sent.sent ? sent.hash : ""]);
      });

      it("a transaction the node keeps dropping is abandoned after DROPS_BEFORE_ABANDON checks: requests queued again, nonce purged", async () => {
        chain.dropAll = true;
        await send([1n, 2n]);
        let now = Date.now();
        for (let check = 1; check < DROPS_BEFORE_ABANDON; check++) {
          now += OPTIONS.rebroadcastAfterMs + 1;
          await txm.resender.run({ full: true }, now);
          expect((await store.unfinishedTxs())[0]).to.include({ kind: "fulfill" }, `still tracked after ${check} drops`);
        }
        chain.dropAll = false;
        chain.pool.clear();
        await txm.resender.run({ full: true }, now + OPTIONS.rebroadcastAfterMs + 1);
        expect(await states([1n, 2n])).to.deep.equal(["signed", "signed"]);
        expect((await store.txsWithNonce(0)).map((t) => [t.kind, t.state])).to.deep.equal([
          ["fulfill", "abandoned"],
          ["purge", "unconfirmed"],
        ]);
      });

      it("replaces a stuck transaction with fees raised by gasBumpPercent, persisting the attempt before sending it", async () => {
        await send([1n]);
        await txm.resender.run({ full: true }, Date.now() + OPTIONS.gasBumpAfterMs + 1);
        const [tx] = await store.unfinishedTxs();
        expect(tx!.attempts).to.have.length(2);
        expect(tx!.attempts[1]!.maxFeePerGas).to.equal(115n);
        expect(tx!.attempts[1]!.maxPriorityFeePerGas).to.equal(12n);
        expect(chain.offered.at(-1)!.maxFeePerGas).to.equal(115n);
      });

      it("underpriced on a re-broadcast (a pool holds another transaction on its nonce): bumps the fees", async () => {
        await send([1n]);
        chain.pool.clear();
        chain.script.push(refusal("replacement transaction underpriced"));
        await txm.resender.run({ full: true }, Date.now() + OPTIONS.rebroadcastAfterMs + 1);
        expect((await store.unfinishedTxs())[0]!.attempts).to.have.length(2);
      });

      it("fatal on a re-broadcast: abandons it, queues its requests again, takes its nonce over with a self-transfer", async () => {
        await send([1n, 2n]);
        await send([3n]);
        chain.pool.clear();
        chain.script.push(refusal("intrinsic gas too low"));
        await txm.resender.run({ full: true }, Date.now() + OPTIONS.rebroadcastAfterMs + 1);
        expect(await states([1n, 2n])).to.deep.equal(["signed", "signed"]);
        const atZero = await store.txsWithNonce(0);
        expect(atZero.map((t) => [t.kind, t.state])).to.deep.equal([
          ["fulfill", "abandoned"],
          ["purge", "unconfirmed"],
        ]);
        expect(atZero[1]!.attempts[0]!.maxFeePerGas).to.be.greaterThan(atZero[0]!.attempts[0]!.maxFeePerGas);
        expect(chain.offered.some((t) => t.nonce === 0 && t.to === chain.account && t.data === "0x")).to.equal(true);
      });

      it("fills a nonce that no tracked transaction holds, so later ones are not held back", async () => {
        await send([1n]);
        await send([2n]);
        await store.abandonTx((await store.txsWithNonce(0))[0]!.id, "test");
        await txm.resender.run({ full: true });
        expect((await store.txsWithNonce(0)).map((t) => t.kind)).to.deep.equal(["fulfill", "purge"]);
      });
    });

    describe("confirmer", () => {
      it("confirms the mined attempt, counts its gas, records the settlements in its receipt, queues again the requests it did not settle", async () => {
        const sent = await send([1n, 2n, 3n]);
        chain.mineTx(sent.sent ? sent.hash : "0x", { settled: [1n, 2n] });
        await txm.exclusive(() => txm.track());
        expect((await store.txsWithNonce(0))[0]).to.include({ state: "confirmed", success: true, gasUsed: 50_000n });
        expect(await states([1n, 2n, 3n])).to.deep.equal(["fulfilled", "fulfilled", "signed"]);
        expect(await store.txStats()).to.deep.equal({ count: 1, gasUsed: 50_000n, feesPaid: 350_000n });
      });

      it("queues every request of a reverted transaction again", async () => {
        const sent = await send([1n, 2n]);
        chain.mineTx(sent.sent ? sent.hash : "0x", { success: false });
        await txm.exclusive(() => txm.track());
        expect(await states([1n, 2n])).to.deep.equal(["signed", "signed"]);
        expect((await store.txStats()).count).to.equal(1, "its gas was paid");
      });

      it("a nonce taken by another transaction of ours: the other is abandoned and its requests queued again", async () => {
        chain.script.push(lostAnswer());
        await send([1n, 2n]);
        chain.pool.clear();
        // Two logical transactions on one nonce, as a process that reused it after a crash would leave.
        const other = await chain.sign({ to: chain.router, data: "0x99", nonce: 0, gasLimit: 100_000n, ...chain.fee });
        const reuse = store.createTx(
          { kind: "fulfill", nonce: 0, to: chain.router, data: "0x99", gasLimit: 100_000n, requestIds: [3n] },
          { hash: other.hash, ...chain.fee, createdAt: Date.now() },
        );
        if (name === "PostgresStore") {
          // Postgres refuses the second open transaction on the nonce (migration 4): the state cannot arise there.
          expect(String(await rejection(reuse))).to.match(/transactions_open_nonce/);
          return;
        }
        await reuse;
        await chain.broadcast(other.raw);
        chain.mineTx(other.hash, { settled: [3n] });
        await txm.exclusive(() => txm.track());
        expect(await states([1n, 2n, 3n])).to.deep.equal(["signed", "signed", "fulfilled"]);
        expect((await store.txsWithNonce(0)).map((t) => t.state)).to.deep.equal(["abandoned", "confirmed"]);
      });

      it("a nonce used by a transaction this bridge never sent: abandoned after the grace period, not before", async () => {
        await send([1n]);
        chain.pool.clear();
        chain.mined = 1;
        const now = Date.now();
        await txm.confirmer.check(now);
        await txm.confirmer.check(now + OPTIONS.missingReceiptGraceMs - 1);
        expect((await store.get(1n))!.state).to.equal("submitted");
        await txm.confirmer.check(now + OPTIONS.missingReceiptGraceMs);
        expect((await store.get(1n))!.state).to.equal("signed");
      });

      it("counts the gas of a transaction abandoned but mined after all (a node kept it), and abandons the one that lost its nonce", async () => {
        chain.script.push(refusal("nonce too high")); // refused, so abandoned at once...
        await send([1n]);
        const kept = chain.offered.at(-1)!;
        chain.pool.set(kept.hash as Hex, kept); // ...but a node kept it
        chain.pool.delete(kept.hash as Hex);
        await send([2n]); // the nonce given back is used again
        chain.pool.set(kept.hash as Hex, kept);
        chain.mineTx(kept.hash as Hex, { settled: [1n] });
        await txm.exclusive(() => txm.track());
        expect((await store.txsWithNonce(0)).map((t) => [t.requestIds.map(String), t.state, t.resolved])).to.deep.equal([
          [["1"], "confirmed", true],
          [["2"], "abandoned", true],
        ]);
        expect(await states([1n, 2n])).to.deep.equal(["fulfilled", "signed"], "request 1 settled from the receipt, request 2 queued again");
        expect(await store.txStats()).to.include({ count: 1, gasUsed: 50_000n });
      });
    });

    describe("fulfilment batches", () => {
      it("a batch no node accepts is retried in halves until the culprit stands alone; the culprit is given up", async () => {
        const culprit = 3n.toString(16).padStart(64, "0");
        chain.always = () => (chain.offered.at(-1)!.data.includes(culprit) ? refusal("oversized data") : undefined);
        const submitter = batchSubmitter();
        for (let pass = 0; pass < 6; pass++) await submitter.tick(0n);
        expect((await store.get(3n))!.state).to.equal("failed");
        expect((await store.get(3n))!.lastError).to.match(/no node accepts its fulfilment/);
        expect(await states([1n, 2n, 4n, 5n, 6n])).to.deep.equal(Array(5).fill("submitted"));
      });
      it("failover: a backup's answer travels alone in fulfillAsBackup with its estimated gas; superseded by the primary's, it is settled, not failed", async () => {
        const backup = `0x${"b1".repeat(20)}`;
        for (const id of [2n, 4n, 5n]) {
          await store.markFailed(id, "worker down");
          expect(await store.assignBackup(id, 1, backup, 0)).to.equal(true);
          await store.saveAnswer(id, { ...ANSWER, requestId: id.toString(), worker: backup }, 1);
        }
        // 4: the primary's answer landed first; 5: the node's latest block is still before the window.
        chain.backupReverts.set(4n, "RequestNotPending");
        chain.backupReverts.set(5n, "BackupWindowNotOpen");
        await batchSubmitter().tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n, 3n, 6n], [2n]]);
        expect([...chain.backupEncoded]).to.deep.equal([
          [2n, 1],
          [4n, 1],
          [5n, 1],
        ]);
        expect(chain.offered[1]!.gasLimit).to.equal(520_000n, "the estimate plus 30 %");
        expect(await states([2n, 4n, 5n])).to.deep.equal(["submitted", "submitted", "signed"]);
        expect((await store.get(4n))!.fulfilTx).to.equal(undefined, "settled elsewhere: waits for the event, in no transaction");
        expect((await store.get(4n))!.lastError).to.equal(undefined);
        chain.backupReverts.delete(5n);
        await batchSubmitter().tick(0n);
        expect(FakeTxChain.decodeIds(chain.offered.at(-1)!.data)).to.deep.equal([5n]);
      });

      it("failover: a backup no longer drawn for its rank (WrongSigner: stake moved) is dropped and the rank handed over again", async () => {
        const backup = `0x${"b1".repeat(20)}`;
        await store.markFailed(2n, "worker down");
        await store.assignBackup(2n, 1, backup, 0);
        await store.saveAnswer(2n, { ...ANSWER, requestId: "2", worker: backup }, 1);
        chain.backupReverts.set(2n, "WrongSigner");
        await batchSubmitter().tick(0n);
        const record = (await store.get(2n))!;
        expect([record.state, record.rank, record.backupAt, record.answer, record.answerRank]).to.deep.equal(["failed", 0, 0, undefined, undefined]);
        expect(record.lastError).to.match(/backup 1 is no longer the router's draw: WrongSigner\(2\)/);
        expect((await store.failoverDue(0n, 10)).map((r) => r.id)).to.include(2n, "Failover reads backup 1 again");
        expect(await store.assignBackup(2n, 1, `0x${"b2".repeat(20)}`, 0)).to.equal(true);
      });

      it("packs a transaction with every answer that fits, oldest first: a large output does not cut the batch short", async () => {
        // Requests 1 and 2 carry 3,000-byte outputs; the byte limit holds one of them plus the four small answers.
        await store.close();
        await setUp((id) => (id <= 2n ? `0x${"ab".repeat(3_000)}` : "0x"));
        const submitter = batchSubmitter({ maxTxBytes: 7_076 });
        await submitter.tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n, 3n, 4n, 5n, 6n], [2n]]);
      });
      it("reads the answers from the store once per pass, however many transactions it packs them into", async () => {
        const reads: number[] = [];
        const read = store.readyToSubmit.bind(store);
        store.readyToSubmit = async (limit) => {
          const rows = await read(limit);
          reads.push(rows.length);
          return rows;
        };
        // Each empty-output entry is 800 bytes with its offset: two fit under 1,800 bytes, so three transactions.
        const submitter = batchSubmitter({ maxBatchSize: 10, maxTxBytes: 1_800 });
        await submitter.tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([
          [1n, 2n],
          [3n, 4n],
          [5n, 6n],
        ]);
        expect(reads).to.deep.equal([6], "one read of all six answers");
      });

      it("an answer that may expire before inclusion travels alone (one expired entry reverts a whole fulfillBatch)", async () => {
        const submitter = batchSubmitter();
        const deadline = (await store.get(1n))!.request.deadline;
        await submitter.tick(deadline - 10n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n], [2n], [3n], [4n], [5n], [6n]]);
      });

      it("answers that travel one per transaction are pipelined on consecutive nonces, bounded by the gas the unmined ones hold", async () => {
        // 3,000-byte outputs, one per transaction under the byte limit: six single-answer transactions.
        await store.close();
        await setUp(() => `0x${"ab".repeat(3_000)}`);
        const options = { maxBatchSize: 6, maxInFlight: 100, gasPerFulfillment: 1, maxTxGas: 1e9, maxTxBytes: 4_000, deadlineMarginSeconds: 24 };
        const submitter = (maxInFlight: number, maxInFlightGas: number) =>
          new Submitter(chain, store, txm, { ...options, maxInFlight, maxInFlightGas }, metrics(), createLogger("silent"), PRAGUE);
        await submitter(1, 1e12).tick(0n);
        const perTx = Number(chain.offered[0]!.gasLimit);
        // Room for 3.5 transactions' gas: the pass fills the pipeline to 4 without waiting for a block.
        await submitter(100, Math.floor(3.5 * perTx)).tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n], [2n], [3n], [4n]]);
        expect(chain.offered.map((tx) => tx.nonce)).to.deep.equal([0, 1, 2, 3], "consecutive nonces");
        // Nothing more while they hold the budget; once mined, the rest goes out.
        await submitter(100, Math.floor(3.5 * perTx)).tick(0n);
        expect(chain.offered.length).to.equal(4);
        for (const tx of [...chain.pool.values()]) chain.mineTx(tx.hash as Hex, { settled: FakeTxChain.decodeIds(tx.data) });
        await submitter(100, Math.floor(3.5 * perTx)).tick(0n);
        expect(chain.offered.slice(4).map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[5n], [6n]]);
      });

      it("plans the transactions the pipeline has room for together: one isPending call, simulations before the first broadcast", async () => {
        await store.close();
        await setUp(() => `0x${"ab".repeat(3_000)}`);
        const calls: string[] = [];
        const isPending = chain.isPending.bind(chain);
        const simulate = chain.simulate.bind(chain);
        const broadcast = chain.broadcast.bind(chain);
        chain.isPending = (ids) => (calls.push("isPending"), isPending(ids));
        chain.simulate = (data) => (calls.push("simulate"), simulate(data));
        chain.broadcast = (raw) => (calls.push("broadcast"), broadcast(raw));
        const options = {
          maxBatchSize: 6,
          maxInFlight: 100,
          maxInFlightGas: 1e12,
          gasPerFulfillment: 1,
          maxTxGas: 1e9,
          maxTxBytes: 4_000,
          deadlineMarginSeconds: 24,
        };
        await new Submitter(chain, store, txm, options, metrics(), createLogger("silent"), PRAGUE).tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n], [2n], [3n], [4n], [5n], [6n]]);
        expect(calls).to.deep.equal(["isPending", ...Array(6).fill("simulate"), ...Array(6).fill("broadcast")]);
      });

      it("a batch whose simulation fails on an RPC error waits for the next pass; the others are sent", async () => {
        await store.close();
        await setUp(() => `0x${"ab".repeat(3_000)}`);
        chain.failSimulate = new RpcError("eth_call", { transport: true }, { details: "no answer" });
        const options = {
          maxBatchSize: 6,
          maxInFlight: 100,
          maxInFlightGas: 1e12,
          gasPerFulfillment: 1,
          maxTxGas: 1e9,
          maxTxBytes: 4_000,
          deadlineMarginSeconds: 24,
        };
        const submitter = new Submitter(chain, store, txm, options, metrics(), createLogger("silent"), PRAGUE);
        await submitter.tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data)[0])).to.deep.equal([2n, 3n, 4n, 5n, 6n]);
        expect((await store.get(1n))!.state).to.equal("signed");
        await submitter.tick(0n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data)[0])).to.deep.equal([2n, 3n, 4n, 5n, 6n, 1n]);
      });

      it("answers with time to spare share one transaction", async () => {
        const submitter = batchSubmitter();
        await submitter.tick((await store.get(1n))!.request.deadline - 25n);
        expect(chain.offered.map((tx) => FakeTxChain.decodeIds(tx.data))).to.deep.equal([[1n, 2n, 3n, 4n, 5n, 6n]]);
      });
    });

    it("rejects nothing silently: an RpcError that is not a refusal is retried, never abandoned", async () => {
      chain.script.push(new RpcError("eth_sendRawTransaction", { transport: false, rpcCode: -32603 }, { details: "internal error" }));
      expect(await send([1n])).to.include({ sent: true, acknowledged: false });
      expect((await store.get(1n))!.state).to.equal("submitted");
    });
  });
