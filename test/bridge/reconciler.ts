import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { Reconciler } from "../../bridge/src/reconciler.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";

describe("bridge Reconciler", () => {
  let chain: SyntheticChain;
  let store: SqliteStore;
  let reconciler: Reconciler;

  /** Scans blocks 1..3 (two requests each) into the store but drops the requests in `missed`, as a faulty RPC would. */
  async function scanMissing(missed: bigint[]) {
    const events = await chain.routerEvents(0, 3);
    const head = { number: 3, hash: chain.blocks[3]!.hash };
    await store.applyScan({ requests: events.requests.filter((r) => !missed.includes(r.request.id)), settlements: [], blocks: [head], cursor: head }, 64);
  }

  beforeEach(async () => {
    chain = new SyntheticChain({ requests: 6, perBlock: 2 });
    store = new SqliteStore(":memory:");
    await store.bind(31337n, chain.router);
    reconciler = new Reconciler(chain, store, { startBlock: 0, maxLogRange: 2 }, new BridgeMetrics(store, false), createLogger("silent"));
  });
  afterEach(async () => await store.close());

  it("adds the pending requests a scan missed, found by id, and checks each id once", async () => {
    await scanMissing([3n, 4n]);
    expect(await reconciler.run()).to.deep.equal({ recovered: 2, settled: 0 });
    expect((await store.list()).map((r) => [r.id, r.state])).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n].map((id) => [id, "seen"]));
    expect((await store.get(3n))!.block.number).to.equal(2);
    expect(await store.reconciledThrough()).to.equal(6n);
    expect(await reconciler.run()).to.deep.equal({ recovered: 0, settled: 0 });
  });

  it("leaves out requests the router no longer holds", async () => {
    await scanMissing([3n]);
    chain.settled.add(3n);
    expect(await reconciler.run()).to.deep.equal({ recovered: 0, settled: 0 });
    expect(await store.get(3n)).to.equal(undefined);
    expect(await store.reconciledThrough()).to.equal(6n);
  });

  it("keeps its watermark below a pending request its node cannot find yet, and finds it later", async () => {
    await scanMissing([5n]);
    chain.lagBy = 1; // block 3, with request 5, is beyond the answering node
    expect(await reconciler.run()).to.deep.equal({ recovered: 0, settled: 0 });
    expect(await store.reconciledThrough()).to.equal(0n);
    chain.lagBy = 0;
    expect(await reconciler.run()).to.deep.equal({ recovered: 1, settled: 0 });
    expect(await store.reconciledThrough()).to.equal(6n);
  });

  it("settles an open request whose settlement event a scan missed", async () => {
    await scanMissing([]);
    const block = chain.mine(0);
    chain.blocks[block]!.settlements.push({
      requestId: 2n,
      outcome: "timed_out",
      block: { number: block, hash: chain.blocks[block]!.hash },
      txHash: "0xt",
      fee: 0n,
      refund: 9n,
    });
    chain.settled.add(2n);
    const head = { number: block, hash: chain.blocks[block]!.hash };
    await store.applyScan({ requests: [], settlements: [], blocks: [head], cursor: head }, 64); // scanned, but without the event
    expect(await reconciler.run()).to.deep.equal({ recovered: 0, settled: 1 });
    expect(await store.get(2n)).to.include({ state: "timed_out", refund: 9n });
  });
});
