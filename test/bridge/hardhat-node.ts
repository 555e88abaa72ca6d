import { expect } from "chai";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";

describe("bridge end to end (Hardhat node)", function () {
  this.timeout(180_000);
  let scenario: Scenario | undefined;

  after(async () => {
    await scenario?.stop();
  });

  it("fulfils requests and sweeps a timeout over `hardhat node` JSON-RPC", async () => {
    scenario = await startScenario({ node: { kind: "hardhat" } });
    const bridge = await scenario.startBridge();
    await scenario.request(20, "hh-");
    await waitFor(async () => (await bridge.store.counts()).fulfilled === 20, 60_000, "20 fulfilments");
    scenario.workers[0]!.options.down = true;
    await scenario.request(1, "late-");
    await waitFor(async () => (await bridge.store.list({ limit: 100 })).length === 21, 20_000, "request stored");
    await scenario.node.rpc("evm_increaseTime", [600]);
    await scenario.node.rpc("evm_mine", []);
    await waitFor(async () => (await bridge.store.counts()).timed_out === 1, 30_000, "timeout swept");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 20, timedOut: 1 });
  });
});
