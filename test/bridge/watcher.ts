import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import { Watcher } from "../../bridge/src/watcher.js";

describe("bridge Watcher (synthetic chain)", () => {
  let store: SqliteStore;
  let chain: SyntheticChain;
  let watcher: Watcher;

  beforeEach(() => {
    chain = new SyntheticChain();
    store = new SqliteStore(":memory:");
    store.bind(31337n, chain.router);
    watcher = new Watcher(chain, store, { confirmations: 2, maxLogRange: 1_000, reorgHistory: 64, startBlock: 0 }, new BridgeMetrics(store, false), createLogger("silent"));
  });
  afterEach(() => store.close());

  it("confirms a request only once `confirmations` blocks bury it", async () => {
    chain.mine(3);
    await watcher.poll();
    expect(store.counts().seen).to.equal(3);
    chain.mine(0);
    await watcher.poll();
    expect(store.counts().confirmed).to.equal(0);
    chain.mine(0);
    const result = await watcher.poll();
    expect(result.confirmed).to.equal(3);
    expect(store.counts().confirmed).to.equal(3);
  });

  it("orphans requests of a reorganised block, never confirms them, and picks up the new chain's", async () => {
    chain.mine(0);
    const fork = chain.mine(2, "old-");
    await watcher.poll();
    chain.reorg(fork - 1);
    chain.mine(2, "new-");
    chain.mine(0);
    chain.mine(0);
    const result = await watcher.poll();
    expect(result.orphaned.map(String).sort()).to.deep.equal(["1", "2"]);
    expect(store.counts().confirmed).to.equal(2);
    const inputs = store.list().map((r) => Buffer.from(r.input.slice(2), "hex").toString());
    expect(inputs.every((i) => i.startsWith("new-"))).to.equal(true);
  });

  it("detects a reorg below the cursor when the chain got shorter", async () => {
    chain.mine(1, "a-");
    chain.mine(0);
    await watcher.poll();
    chain.reorg(0);
    const result = await watcher.poll();
    expect(result.orphaned).to.deep.equal([1n]);
    expect(store.get(1n)!.state).to.equal("orphaned");
  });

  it("keeps its cursor when an RPC call fails, then catches up", async () => {
    chain.mine(2);
    chain.failNext = 1;
    await watcher.poll().then(
      () => expect.fail("poll should fail"),
      (error: Error) => expect(error.message).to.match(/injected/),
    );
    expect(store.cursor()).to.equal(undefined);
    await watcher.poll();
    expect(store.counts().seen + store.counts().confirmed).to.equal(2);
  });
});
