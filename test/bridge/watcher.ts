import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { StaleNodeError } from "../../bridge/src/errors.js";
import { createLogger } from "../../bridge/src/logger.js";
import { BridgeMetrics } from "../../bridge/src/metrics.js";
import type { BridgeStore } from "../../bridge/src/store/store.js";
import { Watcher } from "../../bridge/src/watcher.js";
import { STORES } from "./stores.js";

for (const [name, open] of STORES)
  describe(`bridge Watcher (synthetic chain) on ${name}`, () => {
    let store: BridgeStore;
    let chain: SyntheticChain;
    let watcher: Watcher;
    let metrics: BridgeMetrics;

    beforeEach(async () => {
      chain = new SyntheticChain();
      store = await open();
      await store.bind(31337n, chain.router);
      metrics = new BridgeMetrics(store, false);
      watcher = new Watcher(chain, store, { confirmations: 2, maxLogRange: 1_000, reorgHistory: 64, startBlock: 0 }, metrics, createLogger("silent"));
    });
    afterEach(async () => await store.close());

    it("confirms a request only once `confirmations` blocks bury it", async () => {
      chain.mine(3);
      await watcher.poll();
      expect((await store.counts()).seen).to.equal(3);
      chain.mine(0);
      await watcher.poll();
      expect((await store.counts()).confirmed).to.equal(0);
      chain.mine(0);
      const result = await watcher.poll();
      expect(result.confirmed).to.equal(3);
      expect((await store.counts()).confirmed).to.equal(3);
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
      expect((await store.counts()).confirmed).to.equal(2);
      const inputs = (await store.list()).map((r) => Buffer.from(r.input.slice(2), "hex").toString());
      expect(inputs.every((i) => i.startsWith("new-"))).to.equal(true);
    });

    it("detects a reorg below the cursor when the chain got shorter, from a stored block's changed hash", async () => {
      chain.mine(1, "a-");
      chain.mine(0);
      await watcher.poll();
      chain.reorg(0);
      chain.mine(0, "other-");
      const result = await watcher.poll();
      expect(result.orphaned).to.deep.equal([1n]);
      expect((await store.get(1n))!.state).to.equal("orphaned");
    });

    it("does not take a node lagging behind the cursor for a reorg: nothing orphaned, nothing rewound", async () => {
      chain.mine(1, "a-");
      chain.mine(1, "b-");
      chain.mine(0);
      await watcher.poll();
      const cursor = await store.cursor();
      chain.lagBy = 2;
      const result = await watcher.poll();
      expect(result).to.include({ stale: true });
      expect(result.orphaned).to.deep.equal([]);
      expect(await store.cursor()).to.deep.equal(cursor);
      expect((await store.counts()).orphaned).to.equal(0);
      expect((await metrics.reorgs.get()).values[0]?.value ?? 0).to.equal(0);
      chain.lagBy = 0;
      chain.mine(0);
      chain.mine(0);
      await watcher.poll();
      expect((await store.counts()).confirmed).to.equal(2);
    });

    it("never moves its cursor past a range the answering node could not cover (a silently clamped eth_getLogs)", async () => {
      chain.mine(1, "a-");
      chain.mine(1, "b-");
      chain.mine(1, "c-");
      chain.eventsLagBy = 2;
      await watcher.poll().then(
        () => expect.fail("the scan must not be accepted"),
        (error: Error) => expect(error).to.be.instanceOf(StaleNodeError),
      );
      expect(await store.cursor()).to.equal(undefined);
      chain.eventsLagBy = 0;
      await watcher.poll();
      expect((await store.list()).map((r) => r.id)).to.deep.equal([1n, 2n, 3n]);
    });

    it("refuses a scan whose logs were cut short (a trailing log index behind a current header): requestCount says requests are missing", async () => {
      chain.mine(1, "a-");
      chain.mine(2, "b-");
      chain.mine(0);
      chain.logsLagBy = 2;
      await watcher.poll().then(
        () => expect.fail("the scan must not be accepted"),
        (error: Error) => expect(error.message).to.match(/event scan incomplete: blocks 0-3: 3 requests issued, 1 returned/),
      );
      expect(await store.cursor()).to.equal(undefined);
      chain.logsLagBy = 0;
      await watcher.poll();
      expect((await store.list()).map((r) => r.id)).to.deep.equal([1n, 2n, 3n]);
    });

    it("keeps its cursor when an RPC call fails, then catches up", async () => {
      chain.mine(2);
      chain.failNext = 1;
      await watcher.poll().then(
        () => expect.fail("poll should fail"),
        (error: Error) => expect(error.message).to.match(/injected/),
      );
      expect(await store.cursor()).to.equal(undefined);
      await watcher.poll();
      expect((await store.counts()).seen + (await store.counts()).confirmed).to.equal(2);
    });
  });
