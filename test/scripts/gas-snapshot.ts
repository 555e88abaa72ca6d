import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { gasDocIsCurrent, renderGasDoc } from "../../scripts/bench/lib/gas-docs.js";
import { committedSnapshots } from "../../scripts/bench/lib/run.js";
import { compareSnapshots, figureKey, formatComparison, readSnapshot, toSnapshot, UPDATE_COMMAND } from "../../scripts/bench/lib/snapshot.js";

describe("gas snapshots (scripts/bench/lib)", function () {
  describe("check", function () {
    const committed = { "t / a": 100_000, "t / b": 50_000, "t / gone": 1_000 };

    it("passes growth within the tolerance and fails growth beyond it", function () {
      const within = compareSnapshots(committed, { "t / a": 101_000, "t / b": 50_000, "t / gone": 1_000 }, 1);
      expect(within.failures).to.deep.equal([]);
      const beyond = compareSnapshots(committed, { "t / a": 101_001, "t / b": 50_000, "t / gone": 1_000 }, 1);
      expect(beyond.failures.map((r) => [r.key, r.status])).to.deep.equal([["t / a", "grew"]]);
      expect(formatComparison("router", beyond, 1))
        .to.contain("+1,001 (+1.00%)  GREW")
        .and.contain(UPDATE_COMMAND);
    });

    it("fails a figure without a committed value and tells how to add it", function () {
      const result = compareSnapshots(committed, { ...committed, "t / new row": 7 });
      expect(result.failures.map((r) => [r.key, r.status])).to.deep.equal([["t / new row", "new"]]);
      expect(formatComparison("router", result)).to.contain("no committed snapshot").and.contain(UPDATE_COMMAND);
    });

    it("reports a removed or renamed figure and a large drop without failing on them", function () {
      const result = compareSnapshots(committed, { "t / a": 90_000, "t / b": 50_000 });
      expect(result.failures).to.deep.equal([]);
      expect(result.notices.map((r) => [r.key, r.status])).to.deep.equal([
        ["t / a", "shrank"],
        ["t / gone", "removed"],
      ]);
      const text = formatComparison("router", result);
      expect(text).to.contain("REMOVED").and.contain("SHRANK").and.contain("stale");
    });

    it("treats a missing snapshot file as all figures new", function () {
      expect(readSnapshot("no-such-bench", mkdtempSync(path.join(tmpdir(), "gas-")))).to.equal(undefined);
      expect(compareSnapshots({}, { "t / a": 1 }).failures).to.have.length(1);
    });
  });

  describe("figures and files", function () {
    it("names figures table / row / column and refuses names that would split wrongly", function () {
      expect(figureKey({ table: "T", row: "r", column: "c" })).to.equal("T / r / c");
      expect(() => figureKey({ table: "T", row: "a/b" })).to.throw(/contains "\/"/);
      expect(() =>
        toSnapshot([
          { table: "T", row: "r", gas: 1n },
          { table: "T", row: "r", gas: 2n },
        ]),
      ).to.throw(/measured twice/);
    });

    it("refuses a snapshot file whose values are not gas figures", function () {
      const root = mkdtempSync(path.join(tmpdir(), "gas-"));
      mkdirSync(path.join(root, "gas"));
      writeFileSync(path.join(root, "gas", "bad.json"), JSON.stringify({ "t / a": "12" }));
      expect(() => readSnapshot("bad", root)).to.throw(/not a gas figure/);
    });
  });

  describe("generated documentation", function () {
    const snapshots = {
      router: { "8 pools of one worker / request + fulfill (EOA consumer)": 184_000, "8 pools of one worker / fulfillBatch(50), per request": 24_000 },
      staking: { "by pools / 1 pool / avg": 9_409, "by pools / 1 pool / max": 9_500 },
    };
    const doc = [
      "# Title",
      "hand-written",
      "<!-- gas: router / 8 pools of one worker -->",
      "stale",
      "<!-- /gas -->",
      "between",
      "<!-- gas: staking / by pools -->",
      "<!-- /gas -->",
      "tail",
    ].join("\n");

    it("rewrites only what lies between the markers, with targets marked met or not", function () {
      const rendered = renderGasDoc(doc, snapshots);
      expect(rendered).to.equal(
        [
          "# Title",
          "hand-written",
          "<!-- gas: router / 8 pools of one worker -->",
          "| operation | gas | target |",
          "| --- | --- | --- |",
          "| request + fulfill (EOA consumer) | 184,000 | ≤ 120,000: **not met** |",
          "| fulfillBatch(50), per request | 24,000 | ≤ 25,000: met |",
          "<!-- /gas -->",
          "between",
          "<!-- gas: staking / by pools -->",
          "|  | avg | max |",
          "| --- | --- | --- |",
          "| 1 pool | 9,409 | 9,500 |",
          "<!-- /gas -->",
          "tail",
        ].join("\n"),
      );
      expect(renderGasDoc(rendered, snapshots)).to.equal(rendered);
    });

    it("refuses a marker without a table and a table without a marker", function () {
      expect(() => renderGasDoc(`${doc}\n<!-- gas: router / nope -->\n<!-- /gas -->`, snapshots)).to.throw(/names a table no gas/);
      expect(() => renderGasDoc(doc, { ...snapshots, gatekeeper: { "q / 2 of 3 / x": 1 } })).to.throw(/no place for the snapshot table\(s\) "gatekeeper \/ q"/);
    });

    it("docs/ARCHITECTURE.md matches the committed snapshots", function () {
      expect(gasDocIsCurrent(committedSnapshots()), `run ${UPDATE_COMMAND}`).to.equal(true);
    });
  });
});
