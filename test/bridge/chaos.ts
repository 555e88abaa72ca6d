import { expect } from "chai";
import { formatReport, runChaos } from "../../bridge/dev/chaos.js";

/**
 * The CI-sized bad day (npm run chaos is the full one): the CLI bridge SIGKILLed 4 times, 10% of its
 * JSON-RPC calls failing (500s, JSON-RPC errors, 5-30 s hangs, dropped connections, lost answers)
 * plus trailing eth_getLogs answers, and a healthy, a slow and flapping, a dead, a hung and a
 * 64 KiB-output worker. Deadlines are far away so a loaded machine cannot make an answered request
 * late; once every request of an up worker is settled, chain time jumps past them and the rest is
 * timed out. Asserted: nothing lost, nothing paid twice, no up worker's request timed out, nothing
 * left reserved, all settled within the drain limit after the last kill.
 */
describe("bridge chaos (CI size)", function () {
  this.timeout(300_000);

  it("loses nothing, pays nothing twice and times out no request of an up worker through kills, RPC faults and bad workers", async () => {
    const report = await runChaos({
      requests: 160,
      perTx: 4,
      loadSeconds: 12,
      kills: 4,
      killEveryMs: [5_000, 8_000],
      deadForMs: [300, 1_500],
      faults: { rate: 0.1, hangMs: [5_000, 30_000], lag: { rate: 0.05, blocks: 3, logsOnly: true }, seed: 13 },
      workers: ["healthy", "slow", "down", "hung", "large"],
      slow: { delayMs: 300, periodMs: 15_000, downMs: 4_000 },
      requestTimeout: 3_600,
      timeWarp: true,
      drainLimitMs: 120_000,
      seed: 13,
    });
    const summary = formatReport(report);
    expect(report.sent, summary).to.equal(160);
    expect(report.lost, summary).to.equal(0);
    expect(report.doublePaid, summary).to.equal(0);
    expect(report.timedOutWorkerUp, summary).to.equal(0);
    expect(report.reservedLeft, summary).to.equal(0n);
    expect(report.drainMs, summary).to.not.equal(undefined);
    expect(report.byRole.large!.fulfilled, summary).to.equal(report.byRole.large!.requests);
    expect(report.faults.hang! + report.faults.drop! + report.faults.http500! + report.faults.rpcError!, summary).to.be.greaterThan(10);
  });
});
