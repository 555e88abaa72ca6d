import { expect } from "chai";
import { Interface } from "ethers";
import type { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import { type Scenario, assertExactlyOnce, startScenario, waitFor } from "./helpers.js";

/** Router request timeout in these runs; backup 1 may answer from half of it, backup 2 from three quarters. */
const REQUEST_TIMEOUT_S = 120;
const BATCHES = 6;
const PER_BATCH = 10;
const TOTAL = BATCHES * PER_BATCH;

/**
 * Failover end to end (anvil, the real router and its backup draw, fake workers, the bridge): one of
 * three workers is killed mid-stream; its unanswered requests are handed to their backups when the
 * windows open (chain time is moved there rather than waited for), and the bridge is restarted in the
 * middle of it. Every request is answered, none twice, none timed out.
 */
describe("bridge failover chaos: one of three workers killed mid-stream", function () {
  this.timeout(120_000);
  let scenario: Scenario | undefined;

  afterEach(async () => {
    await scenario?.stop();
    scenario = undefined;
  });

  it("answers every request, none twice, through a killed worker and a bridge restart mid-window", async () => {
    scenario = await startScenario({ workerCount: 3, separateOperators: true, stack: { requestTimeout: REQUEST_TIMEOUT_S } });
    const [, , victim] = scenario.workers as [FakeWorker, FakeWorker, FakeWorker];
    const victimAddress = victim.address.toLowerCase();
    const first = await scenario.startBridge();
    for (let batch = 0; batch < BATCHES; batch++) {
      if (batch === 2) await victim.close();
      await scenario.request(PER_BATCH, `f${batch}-`);
    }
    const records = async () => await first.store.list({ limit: 1_000 });
    await waitFor(async () => (await records()).length === TOTAL, 30_000, `${TOTAL} requests stored`);
    // Everything the two live workers were given is answered by them; the victim's wait for their backups.
    await waitFor(
      async () => (await records()).every((r) => r.request.worker.toLowerCase() === victimAddress || r.state === "fulfilled"),
      60_000,
      "the live workers' requests fulfilled",
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stranded = (await records()).filter((r) => r.state !== "fulfilled");
    expect(stranded.length).to.be.greaterThan(0, "the victim had requests when it died");
    expect(stranded.every((r) => r.request.worker.toLowerCase() === victimAddress && r.rank === 0)).to.equal(true);

    // Chain time to backup 1's window: the bridge hands the stranded requests over; it is restarted meanwhile.
    await scenario.node.rpc("evm_increaseTime", [REQUEST_TIMEOUT_S / 2 + 1]);
    await scenario.node.rpc("evm_mine", []);
    await waitFor(async () => (await records()).some((r) => r.rank === 1), 30_000, "a handover");
    await first.stop();
    const second = await scenario.startBridge();
    await waitFor(async () => (await second.store.counts()).fulfilled === TOTAL, 60_000, `${TOTAL} fulfilled after the restart`);

    const settled = assertExactlyOnce(await scenario.settledCounts());
    expect(settled).to.deep.equal({ fulfilled: TOTAL, timedOut: 0 });
    const router = new Interface(ROUTER_ABI);
    const handovers = (await scenario.stack.provider.getLogs({ address: scenario.stack.addresses.router, fromBlock: 0, toBlock: "latest" }))
      .map((log) => router.parseLog(log))
      .filter((parsed) => parsed?.name === "BackupAnswered");
    expect(handovers.map((h) => h!.args.requestId as bigint).sort()).to.deep.equal(stranded.map((r) => r.id).sort());
    for (const record of stranded) {
      const after = (await second.store.get(record.id))!;
      expect(after.answeredBy, `#${record.id}`).to.not.equal(victimAddress);
      expect(after.answeredBy).to.equal(after.assignee, "answered by the backup it was handed over to");
    }
    expect(handovers.every((h) => (h!.args.primary as string).toLowerCase() === victimAddress)).to.equal(true);
    expect(await scenario.stack.requester.getFunction("answered")()).to.equal(BigInt(TOTAL));
  });
});
