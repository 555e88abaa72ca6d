import { expect } from "chai";
import { formatFleetReport, runFleetChaos } from "../../bridge/dev/fleet-chaos.js";
import "./postgres.js"; // the run's Postgres server is stopped after the suite

/**
 * A relayer fleet, CI size: 3 bridge CLIs on one Postgres and a local chain, one SIGKILLed every
 * few seconds (sometimes dead longer than its 2 s leases, so the others take its claims over) and
 * restarted, a few hundred requests: every request fulfilled exactly once, nothing left unsettled.
 */
describe("bridge fleet chaos (CI size)", function () {
  this.timeout(180_000);

  it("settles every request exactly once through SIGKILLs of fleet members, with nothing stuck", async () => {
    const report = await runFleetChaos({
      instances: 3,
      requests: 300,
      perTx: 10,
      loadSeconds: 12,
      killEveryMs: [1_000, 2_500],
      deadForMs: [300, 3_500],
      killAfterLoadMs: 3_000,
      leaseMs: 2_000,
      drainLimitMs: 60_000,
      seed: 7,
    });
    const summary = formatFleetReport(report);
    expect(report.sent, summary).to.equal(300);
    expect(report.lost, summary).to.equal(0);
    expect(report.doublePaid, summary).to.equal(0);
    expect(report.fulfilled, summary).to.equal(300);
    expect(report.stuck, summary).to.equal(0);
    expect(report.reservedLeft, summary).to.equal(0n);
    expect(report.kills, summary).to.be.at.least(4);
    expect(report.longKills, summary).to.be.at.least(1);
    expect(report.fulfilTxsByInstance.filter((n) => n > 0).length, summary).to.be.at.least(2, "the work is shared");
  });
});
