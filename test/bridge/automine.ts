import { expect } from "chai";
import { Writable } from "node:stream";
import { Bridge } from "../../bridge/src/bridge.js";
import { createLogger } from "../../bridge/src/logger.js";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";

/**
 * A dev chain that mines only when a transaction arrives (anvil / `hardhat node` automine, no block
 * time), with the bridge's default confirmations: nothing else sends a transaction, so no block
 * would ever bury a request nor move the head's clock past a deadline.
 */
// Straight from the node: ethers' provider caches the block number.
const blockNumber = async (scenario: Scenario) => Number(await scenario.node.rpc("eth_blockNumber"));

for (const kind of ["anvil", "hardhat"] as const) {
  describe(`bridge on a chain that mines only on transactions (${kind} automine)`, function () {
    this.timeout(180_000);
    let scenario: Scenario | undefined;
    let bridge: Bridge | undefined;

    after(async () => {
      await bridge?.stop();
      await scenario?.stop();
    });

    it("answers a request and refunds an expired one with default confirmations and no other traffic, saying once why it waits", async () => {
      scenario = await startScenario({ node: { kind } });
      const lines: { event?: string; msg: string; level: number }[] = [];
      const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
      const config = scenario.bridgeConfig({ confirmations: undefined, logLevel: "info", schedule: { sweep: "* * * * * *" } });
      expect(config.confirmations).to.equal(2);
      bridge = await Bridge.create(config, { logger: createLogger("info", sink) });
      await bridge.start();

      await scenario.request(1, "idle-");
      const head = await blockNumber(scenario);
      await waitFor(async () => (await bridge!.store.counts()).fulfilled === 1, 20_000, "the request answered");
      // Only the bridge's own fulfilment transaction was mined after the request.
      expect(await blockNumber(scenario)).to.equal(head + 1);
      const waits = lines.filter((l) => l.event === "confirm_wait");
      expect(waits).to.have.length(1);
      expect(waits[0]!.msg).to.match(/mines only on transactions \(automine\)/);

      scenario.workers[0]!.options.down = true;
      await scenario.request(1, "late-");
      await waitFor(async () => (await bridge!.store.list({ limit: 10 })).length === 2, 20_000, "request stored");
      // The deadline passes on the chain's clock without a block (evm_increaseTime mines nothing).
      const before = await blockNumber(scenario);
      await scenario.node.rpc("evm_increaseTime", [600]);
      await waitFor(async () => (await bridge!.store.counts()).timed_out === 1, 30_000, "the expired request swept");
      expect(await blockNumber(scenario)).to.equal(before + 1);
      expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 1, timedOut: 1 });
      // One explanation at info, not a line per poll.
      expect(lines.filter((l) => l.event === "confirm_wait" && l.level >= 30)).to.have.length(1);
    });
  });
}
