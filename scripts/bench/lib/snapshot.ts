/**
 * Gas snapshots: each benchmark measures a list of figures, and `gas/<bench>.json` holds the
 * committed figures, one key per figure ("table / row" or "table / row / column"), in
 * measurement order. `--check` fails when a figure grew by more than TOLERANCE_PERCENT or has no
 * committed figure; `--update` rewrites the snapshot and the generated tables in
 * docs/ARCHITECTURE.md (see gas-docs.ts). Modelled on `forge snapshot --check --tolerance` and
 * Uniswap v4-core's `snapshots/*.json`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Where the snapshots live, relative to the repository root. */
export const SNAPSHOT_DIR = "gas";
/** A figure may grow by this much (percent) before the check fails: covers calldata noise (timestamps, signatures). */
export const TOLERANCE_PERCENT = 1;
/** The one command that refreshes every snapshot and the generated documentation. */
export const UPDATE_COMMAND = "npm run gas:update";

const SEPARATOR = " / ";
/** Changes smaller than this fraction are counted but not listed in the diff table. */
const NOISE_FRACTION = 0.001;

/** One measured figure. `column` is for tables with several figures per row. */
export interface GasFigure {
  table: string;
  row: string;
  column?: string;
  gas: bigint | number;
}

/** Snapshot file contents: key = "table / row[ / column]", value = gas. */
export type Snapshot = Record<string, number>;

export function figureKey(figure: Pick<GasFigure, "table" | "row" | "column">): string {
  const parts = figure.column === undefined ? [figure.table, figure.row] : [figure.table, figure.row, figure.column];
  for (const part of parts) {
    if (part.length === 0 || part.includes(SEPARATOR.trim())) throw new Error(`gas figure name part "${part}" is empty or contains "/"`);
  }
  return parts.join(SEPARATOR);
}

export function parseKey(key: string): { table: string; row: string; column?: string } {
  const [table, row, column, ...rest] = key.split(SEPARATOR);
  if (table === undefined || row === undefined || rest.length !== 0) throw new Error(`malformed gas snapshot key "${key}"`);
  return column === undefined ? { table, row } : { table, row, column };
}

export function toSnapshot(figures: GasFigure[]): Snapshot {
  const snapshot: Snapshot = {};
  for (const figure of figures) {
    const key = figureKey(figure);
    if (key in snapshot) throw new Error(`gas figure "${key}" measured twice`);
    snapshot[key] = Number(figure.gas);
  }
  return snapshot;
}

export function snapshotPath(bench: string, root = process.cwd()): string {
  return path.join(root, SNAPSHOT_DIR, `${bench}.json`);
}

export function readSnapshot(bench: string, root?: string): Snapshot | undefined {
  const file = snapshotPath(bench, root);
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: not a JSON object`);
  for (const [key, value] of Object.entries(parsed)) {
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw new Error(`${file}: "${key}" is not a gas figure`);
    parseKey(key);
  }
  return parsed as Snapshot;
}

export function writeSnapshot(bench: string, snapshot: Snapshot, root?: string): void {
  writeFileSync(snapshotPath(bench, root), JSON.stringify(snapshot, null, 2) + "\n");
}

export type RowStatus = "ok" | "grew" | "shrank" | "new" | "removed";

export interface RowComparison {
  key: string;
  committed?: number;
  measured?: number;
  status: RowStatus;
}

export interface Comparison {
  rows: RowComparison[];
  /** Figures that grew beyond the tolerance, or have no committed figure: the check fails. */
  failures: RowComparison[];
  /** Figures that shrank beyond the tolerance or disappeared: reported, the snapshot is stale. */
  notices: RowComparison[];
}

/**
 * Compares measured figures with committed ones. Growth beyond `tolerancePercent` and figures
 * without a committed value fail; a removed or renamed figure is reported (its new name fails as
 * new), and so is a drop beyond the tolerance, so the snapshot and docs can be refreshed.
 */
export function compareSnapshots(committed: Snapshot, measured: Snapshot, tolerancePercent = TOLERANCE_PERCENT): Comparison {
  const rows: RowComparison[] = [];
  for (const [key, value] of Object.entries(measured)) {
    const before = committed[key];
    if (before === undefined) {
      rows.push({ key, measured: value, status: "new" });
      continue;
    }
    const limit = (before * tolerancePercent) / 100;
    const status: RowStatus = value - before > limit ? "grew" : before - value > limit ? "shrank" : "ok";
    rows.push({ key, committed: before, measured: value, status });
  }
  for (const [key, value] of Object.entries(committed)) {
    if (!(key in measured)) rows.push({ key, committed: value, status: "removed" });
  }
  return {
    rows,
    failures: rows.filter((r) => r.status === "grew" || r.status === "new"),
    notices: rows.filter((r) => r.status === "shrank" || r.status === "removed"),
  };
}

const fmt = (n: number | undefined) => (n === undefined ? "-" : n.toLocaleString("en-US"));

function delta(row: RowComparison): string {
  if (row.committed === undefined || row.measured === undefined) return "";
  const d = row.measured - row.committed;
  const pct = row.committed === 0 ? 0 : (d / row.committed) * 100;
  return `${d >= 0 ? "+" : ""}${d.toLocaleString("en-US")} (${pct >= 0 ? "+" : ""}${pct.toFixed(2)}%)`;
}

/** A diff table of every figure that changed, then what to do about it. */
export function formatComparison(bench: string, comparison: Comparison, tolerancePercent = TOLERANCE_PERCENT): string {
  // Changes of a few gas (calldata bytes of timestamps) are counted, not listed.
  const noise = (r: RowComparison) => r.status === "ok" && Math.abs(r.measured! - r.committed!) <= r.committed! * NOISE_FRACTION;
  const changed = comparison.rows.filter((r) => r.status !== "ok" || r.committed !== r.measured);
  const listed = changed.filter((r) => !noise(r));
  const lines = [
    `gas/${bench}.json: ${comparison.rows.length} figures, ${changed.length} changed (${changed.length - listed.length} by under ${NOISE_FRACTION * 100}%), tolerance +${tolerancePercent}%`,
  ];
  if (listed.length !== 0) {
    const width = Math.max(...listed.map((r) => r.key.length));
    lines.push(`  ${"figure".padEnd(width)}  ${"committed".padStart(11)}  ${"measured".padStart(11)}  change`);
    for (const row of listed) {
      const label = row.status === "ok" ? "" : `  ${row.status.toUpperCase()}`;
      lines.push(`  ${row.key.padEnd(width)}  ${fmt(row.committed).padStart(11)}  ${fmt(row.measured).padStart(11)}  ${delta(row)}${label}`);
    }
  }
  const grew = comparison.failures.filter((r) => r.status === "grew").length;
  const added = comparison.failures.filter((r) => r.status === "new").length;
  if (grew !== 0)
    lines.push(`  ${grew} figure(s) grew by more than ${tolerancePercent}%: if intended, run \`${UPDATE_COMMAND}\` and commit gas/ and docs/ARCHITECTURE.md`);
  if (added !== 0) lines.push(`  ${added} figure(s) have no committed snapshot: run \`${UPDATE_COMMAND}\` and commit gas/ and docs/ARCHITECTURE.md`);
  if (comparison.notices.length !== 0)
    lines.push(`  ${comparison.notices.length} figure(s) shrank or were removed: the snapshot is stale, \`${UPDATE_COMMAND}\` refreshes it`);
  return lines.join("\n");
}

/** Prints the measured figures, grouped by table, for a human. */
export function formatFigures(title: string, figures: GasFigure[]): string {
  const lines = [title];
  let table: string | undefined;
  const width = Math.max(...figures.map((f) => (f.column === undefined ? f.row : `${f.row}, ${f.column}`).length));
  for (const figure of figures) {
    if (figure.table !== table) {
      table = figure.table;
      lines.push(`\n${table}`);
    }
    const name = figure.column === undefined ? figure.row : `${figure.row}, ${figure.column}`;
    lines.push(`  ${name.padEnd(width)}  ${Number(figure.gas).toLocaleString("en-US").padStart(11)}`);
  }
  return lines.join("\n");
}
