/**
 * Command line of the gas benchmarks: no flag prints the figures; `--check` compares them with
 * gas/<bench>.json and checks the generated tables in docs/ARCHITECTURE.md (exit code 1 on a
 * figure grown beyond the tolerance, a figure without snapshot, or a stale document); `--update`
 * rewrites the snapshots and the document's tables.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { GAS_DOC, gasDocIsCurrent, updateGasDoc } from "./gas-docs.js";
import {
  SNAPSHOT_DIR,
  UPDATE_COMMAND,
  compareSnapshots,
  formatComparison,
  formatFigures,
  readSnapshot,
  toSnapshot,
  writeSnapshot,
  type GasFigure,
  type Snapshot,
} from "./snapshot.js";

export interface Bench {
  /** Snapshot file name: gas/<name>.json. */
  name: string;
  title: string;
  measure(): Promise<GasFigure[]>;
}

type Mode = "print" | "check" | "update";

function modeOf(argv: string[]): Mode {
  const unknown = argv.filter((a) => a !== "--check" && a !== "--update");
  if (unknown.length !== 0 || argv.length > 1) throw new Error(`usage: [--check | --update] (got ${argv.join(" ")})`);
  return argv[0] === "--check" ? "check" : argv[0] === "--update" ? "update" : "print";
}

/** Every committed snapshot, by bench name. */
export function committedSnapshots(root = process.cwd()): Record<string, Snapshot> {
  const snapshots: Record<string, Snapshot> = {};
  for (const file of readdirSync(path.join(root, SNAPSHOT_DIR))
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const name = file.slice(0, -".json".length);
    snapshots[name] = readSnapshot(name, root)!;
  }
  return snapshots;
}

/** Runs `benches` in this process in the mode given by `argv`; returns the process exit code. */
export async function runBenches(benches: Bench[], argv = process.argv.slice(2)): Promise<number> {
  const mode = modeOf(argv);
  let failed = false;
  if (mode === "check" && !gasDocIsCurrent(committedSnapshots())) {
    console.error(`${GAS_DOC}: the gas tables differ from gas/*.json: run \`${UPDATE_COMMAND}\` (or edit only outside the <!-- gas: --> markers)`);
    failed = true;
  }
  for (const bench of benches) {
    const started = performance.now();
    const figures = await bench.measure();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const measured = toSnapshot(figures);
    if (mode === "print") {
      console.log(`${formatFigures(bench.title, figures)}\n(${seconds} s)\n`);
    } else if (mode === "update") {
      writeSnapshot(bench.name, measured);
      console.log(`gas/${bench.name}.json: ${figures.length} figures written (${seconds} s)`);
    } else {
      const comparison = compareSnapshots(readSnapshot(bench.name) ?? {}, measured);
      console.log(`${formatComparison(bench.name, comparison)} (${seconds} s)`);
      if (comparison.failures.length !== 0) failed = true;
    }
  }
  if (mode === "update") {
    console.log(updateGasDoc(committedSnapshots()) ? `${GAS_DOC}: gas tables regenerated` : `${GAS_DOC}: gas tables already current`);
  }
  return failed ? 1 : 0;
}
