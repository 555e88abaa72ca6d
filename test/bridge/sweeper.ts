import { expect } from "chai";
import { PRAGUE } from "../../bridge/src/chain/gas-schedule.js";
import { RpcError } from "../../bridge/src/errors.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { BATCH_EXECUTION_GAS, ENTRY_BYTES, Sweeper } from "../../bridge/src/sweeper.js";
import { TxManager } from "../../bridge/src/txm/tx-manager.js";
import { FakeTxChain } from "./fake-tx-chain.js";

const TXM = { maxFeePerGas: 1_000n, gasBumpAfterMs: 60_000, gasBumpPercent: 15, rebroadcastAfterMs: 10_000, missingReceiptGraceMs: 5_000 };
const rpcFailure = () => new RpcError("eth_maxPriorityFeePerGas", { transport: true }, { details: "HTTP 502" });

describe("bridge Sweeper (timeoutBatch)", () => {
  let chain: FakeTxChain;
  let store: SqliteStore;
  let txm: TxManager;
  const sweeper = (perTx = 100) =>
    new Sweeper(
      chain,
      store,
      txm,
      { sweepAll: true, gasPerTimeout: 100_000, maxTxGas: 21_000 + Number(BATCH_EXECUTION_GAS) + perTx * (100_000 + 16 * ENTRY_BYTES) },
      new BridgeMetrics(store, false),
      createLogger("silent"),
      PRAGUE,
    );
  /** Request ids of each timeout transaction offered, in order. */
  const timeoutTxs = () =>
    chain.offered.filter((t) => t.to?.toLowerCase() === chain.router.toLowerCase()).map((t) => FakeTxChain.decodeIds(t.data).map(Number));

  beforeEach(async () => {
    chain = new FakeTxChain({ requests: 6, perBlock: 6 });
    store = new SqliteStore(":memory:");
    await store.bind(31337n, chain.router);
    const events = await chain.routerEvents(0, 1);
    const block = { number: 1, hash: chain.blocks[1]!.hash };
    await store.applyScan({ ...events, blocks: [block], cursor: block }, 64);
    chain.clock = 100_000_000n; // every deadline passed
    txm = new TxManager(chain, store, TXM, new BridgeMetrics(store, false), createLogger("silent"));
  });
  afterEach(async () => await store.close());

  it("times out expired requests many per transaction, and does not sweep them again while their transaction is unmined", async () => {
    expect(await sweeper().sweep()).to.deep.equal({ sent: 6, failed: 0 });
    expect(timeoutTxs()).to.deep.equal([[1, 2, 3, 4, 5, 6]]);
    expect(await sweeper().sweep()).to.deep.equal({ sent: 0, failed: 0 });
    expect((await store.get(1n))!.timeoutTx).to.equal((await store.unfinishedTxs())[0]!.id);
  });

  it("cuts the expired requests into transactions by the gas cap", async () => {
    await sweeper(4).sweep();
    expect(timeoutTxs()).to.deep.equal([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it("leaves out entries whose timeout would revert and sends the others", async () => {
    chain.reverting.add(2n).add(5n);
    expect(await sweeper().sweep()).to.deep.equal({ sent: 4, failed: 0 });
    expect(timeoutTxs()).to.deep.equal([[1, 3, 4, 6]]);
  });

  it("retries a timeout whose send failed before broadcast (fees RPC error) on the next sweep of the same process", async () => {
    chain.failFees = rpcFailure();
    expect(await sweeper().sweep()).to.deep.equal({ sent: 0, failed: 1 });
    expect((await store.get(1n))!.timeoutTx).to.equal(undefined);
    expect(await sweeper().sweep()).to.deep.equal({ sent: 6, failed: 0 });
  });

  it("sweeps on past a chunk that fails", async () => {
    chain.failSimulate = rpcFailure();
    expect(await sweeper(2).sweep()).to.deep.equal({ sent: 4, failed: 1 });
    expect(timeoutTxs()).to.deep.equal([
      [3, 4],
      [5, 6],
    ]);
  });

  it("sweeps again the requests of a timeout transaction that was abandoned", async () => {
    await sweeper().sweep();
    await store.abandonTx((await store.unfinishedTxs())[0]!.id, "test");
    expect(await sweeper().sweep()).to.deep.equal({ sent: 6, failed: 0 });
  });
});
