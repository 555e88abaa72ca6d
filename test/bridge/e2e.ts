import { expect } from "chai";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";

describe("bridge end to end (anvil)", function () {
  this.timeout(120_000);
  let scenario: Scenario;

  afterEach(async () => {
    await scenario?.stop();
  });

  it("fulfils a stream of requests exactly once each, in batches", async () => {
    scenario = await startScenario();
    const bridge = await scenario.startBridge();
    for (let i = 0; i < 5; i++) await scenario.request(20, `s${i}-`);
    await waitFor(async () => bridge.store.counts().fulfilled === 100, 60_000, "100 fulfilments");
    const counts = await scenario.settledCounts();
    expect(assertExactlyOnce(counts)).to.deep.equal({ fulfilled: 100, timedOut: 0 });
    expect(await scenario.stack.requester.getFunction("answered")()).to.equal(100n);
    const txs = bridge.store.txStats();
    expect(txs.count).to.be.lessThan(100, "fulfilments were batched");
  });
});
