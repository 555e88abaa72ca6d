import { expect } from "chai";
import { BridgeProcess } from "../../bridge/dev/bridge-process.js";
import { FaultProxy } from "../../bridge/dev/fault-proxy.js";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";

interface Status {
  pendingTransactions: number;
  requests: Record<string, number>;
}

describe("bridge crash recovery (the CLI in a child process, SIGKILL)", function () {
  this.timeout(180_000);
  let scenario: Scenario | undefined;
  let proxy: FaultProxy | undefined;
  let bridge: BridgeProcess | undefined;

  afterEach(async () => {
    await bridge?.stop();
    await proxy?.close();
    await scenario?.stop();
    bridge = proxy = scenario = undefined;
  });

  it("SIGKILL while a fulfilment is being broadcast: the restarted bridge sends it on its own nonce, new batches after it; nothing lost", async () => {
    scenario = await startScenario();
    proxy = new FaultProxy(scenario.node.url);
    await proxy.listen();
    // The node never receives the first broadcast: the process dies with the transaction persisted and unsent.
    proxy.rule = (calls) => (calls.some((c) => c.method === "eth_sendRawTransaction") ? "blackhole" : undefined);
    bridge = new BridgeProcess(scenario.dir, scenario.bridgeConfig({ rpcUrl: proxy.url, logLevel: "info" }));
    await bridge.start();
    await bridge.waitServing();
    await scenario.request(10, "before-");
    await waitFor(async () => ((await bridge!.get<Status>("/status"))?.body.pendingTransactions ?? 0) > 0, 30_000, "a fulfilment persisted");
    await bridge.kill("SIGKILL");

    proxy.rule = undefined;
    await bridge.start();
    // New answers arrive before the old transaction is re-offered: a bridge that reused its nonce for them lost the first ten.
    await scenario.request(10, "after-");
    await waitFor(async () => (await scenario!.settledCounts()).fulfilled.size === 20, 60_000, "all 20 fulfilled");
    expect(assertExactlyOnce(await scenario.settledCounts())).to.deep.equal({ fulfilled: 20, timedOut: 0 });
    expect(proxy.stats.blackhole).to.be.greaterThan(0);
  });
});
