/**
 * The gas tables in docs/ARCHITECTURE.md are generated from the committed snapshots (gas/*.json).
 * Each table sits between `<!-- gas: <bench> / <table> -->` and `<!-- /gas -->`; everything
 * between the markers is rewritten, everything outside is left alone.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseKey, type Snapshot } from "./snapshot.js";

export const GAS_DOC = path.join("docs", "ARCHITECTURE.md");

/** Targets from the issues, shown next to their figure with whether they are met. Keys as in the snapshots. */
const TARGETS: Record<string, number> = {
  "router / 8 pools of one worker / request + fulfill (EOA consumer)": 120_000,
  "router / 8 pools of one worker / fulfillBatch(50), per request": 25_000,
  "router / 64 pools of one worker / fulfillBatch(50), per request": 25_000,
};

const BLOCK = /<!-- gas: ([^>]+?) -->\n[\s\S]*?<!-- \/gas -->/g;

interface Table {
  rows: string[];
  columns: string[];
  cells: Map<string, number>;
}

function tablesOf(bench: string, snapshot: Snapshot): Map<string, Table> {
  const tables = new Map<string, Table>();
  for (const [key, gas] of Object.entries(snapshot)) {
    const { table, row, column = "gas" } = parseKey(key);
    const id = `${bench} / ${table}`;
    let t = tables.get(id);
    if (t === undefined) tables.set(id, (t = { rows: [], columns: [], cells: new Map() }));
    if (!t.rows.includes(row)) t.rows.push(row);
    if (!t.columns.includes(column)) t.columns.push(column);
    t.cells.set(`${row}\u0000${column}`, gas);
  }
  return tables;
}

function renderTable(id: string, table: Table): string {
  const targets = table.rows.map((row) => TARGETS[`${id} / ${row}`]);
  const withTargets = targets.some((t) => t !== undefined);
  const header = ["", ...table.columns, ...(withTargets ? ["target"] : [])];
  if (table.columns.length === 1 && table.columns[0] === "gas") header[0] = "operation";
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- |").join("")}`];
  table.rows.forEach((row, i) => {
    const cells = table.columns.map((column) => {
      const gas = table.cells.get(`${row}\u0000${column}`);
      return gas === undefined ? "" : gas.toLocaleString("en-US");
    });
    if (withTargets) {
      const target = targets[i];
      const gas = table.cells.get(`${row}\u0000${table.columns[0]}`);
      cells.push(target === undefined ? "" : `≤ ${target.toLocaleString("en-US")}: ${gas !== undefined && gas <= target ? "met" : "**not met**"}`);
    }
    lines.push(`| ${[row, ...cells].join(" | ")} |`);
  });
  return lines.join("\n");
}

/**
 * `doc` with every marked table regenerated from `snapshots` (bench name -> snapshot). Throws when
 * a marker names a table no snapshot has, or a snapshot table has no marker in the document.
 */
export function renderGasDoc(doc: string, snapshots: Record<string, Snapshot>): string {
  const tables = new Map<string, Table>();
  for (const [bench, snapshot] of Object.entries(snapshots)) {
    for (const [id, table] of tablesOf(bench, snapshot)) tables.set(id, table);
  }
  const placed = new Set<string>();
  const rendered = doc.replace(BLOCK, (_block, id: string) => {
    const table = tables.get(id);
    if (table === undefined) throw new Error(`${GAS_DOC}: marker "gas: ${id}" names a table no gas/*.json snapshot has`);
    placed.add(id);
    return `<!-- gas: ${id} -->\n${renderTable(id, table)}\n<!-- /gas -->`;
  });
  const missing = [...tables.keys()].filter((id) => !placed.has(id));
  if (missing.length !== 0) {
    throw new Error(
      `${GAS_DOC} has no place for the snapshot table(s) ${missing.map((m) => `"${m}"`).join(", ")}: add "<!-- gas: <bench> / <table> -->" ... "<!-- /gas -->"`,
    );
  }
  return rendered;
}

/** Regenerates the tables in place; returns whether the file changed. */
export function updateGasDoc(snapshots: Record<string, Snapshot>, root = process.cwd()): boolean {
  const file = path.join(root, GAS_DOC);
  const doc = readFileSync(file, "utf8");
  const rendered = renderGasDoc(doc, snapshots);
  if (rendered !== doc) writeFileSync(file, rendered);
  return rendered !== doc;
}

/** True when the document's tables are what the snapshots generate. */
export function gasDocIsCurrent(snapshots: Record<string, Snapshot>, root = process.cwd()): boolean {
  const doc = readFileSync(path.join(root, GAS_DOC), "utf8");
  return renderGasDoc(doc, snapshots) === doc;
}
