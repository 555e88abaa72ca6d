/**
 * NatSpec check (`npm run lint`): every external or public function in contracts/ documents each
 * named parameter with `@param` and each return value with `@return`, or inherits its documentation
 * (`@inheritdoc`). solc already refuses a `@param` naming no parameter and more `@return`s than
 * values; this adds the missing ones. Prints each gap as `file:line function: ...` and exits 1.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
/** Test doubles, not part of the system. */
const SKIPPED_DIRS = ["contracts/mocks/"];

const DATA_LOCATIONS = new Set(["memory", "calldata", "storage"]);

/** Names of a parameter list's named entries; `unnamed` counts the others. */
function names(list: string): { named: string[]; count: number } {
  const entries = list
    .split(",")
    .map((entry) => entry.trim().split(/\s+/))
    .filter((words) => words[0] !== "");
  const named = entries.filter((words) => words.length > 1 && !DATA_LOCATIONS.has(words.at(-1)!)).map((words) => words.at(-1)!);
  return { named, count: entries.length };
}

export function natspecGaps(file: string, source: string): string[] {
  const gaps: string[] = [];
  const lines = source.split("\n");
  for (const match of source.matchAll(/^ *function (\w+)\s*\(([^)]*)\)([^{;]*)[{;]/gm)) {
    const [, name, params, header] = match;
    if (!/\b(external|public)\b/.test(header!)) continue;
    const line = source.slice(0, match.index).split("\n").length - 1;
    const doc: string[] = [];
    for (let k = line - 1; k >= 0 && lines[k]!.trim().startsWith("//"); k--) doc.unshift(lines[k]!.trim());
    const text = doc.filter((l) => l.startsWith("///")).join("\n");
    if (text.includes("@inheritdoc")) continue;
    const missing = names(params!).named.filter((param) => !new RegExp(`@param ${param}\\b`).test(text));
    const returns = /returns\s*\(([\s\S]*)\)/.exec(header!);
    const expected = returns ? names(returns[1]!).count : 0;
    const documented = (text.match(/@return\b/g) ?? []).length;
    if (missing.length > 0) gaps.push(`${file}:${line + 1} ${name}: no @param for ${missing.join(", ")}`);
    if (documented < expected) gaps.push(`${file}:${line + 1} ${name}: ${documented} @return for ${expected} values`);
  }
  return gaps;
}

function main(): void {
  const files = readdirSync(join(ROOT, "contracts"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".sol"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((file) => !SKIPPED_DIRS.some((dir) => file.startsWith(dir)))
    .sort();
  const gaps = files.flatMap((file) => natspecGaps(file, readFileSync(join(ROOT, file), "utf8")));
  for (const gap of gaps) console.error(gap);
  if (gaps.length > 0) {
    console.error(`NatSpec: ${gaps.length} gaps (document each parameter and return value, or use @inheritdoc)`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
