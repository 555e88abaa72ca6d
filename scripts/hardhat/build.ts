/**
 * `hardhat build` in parts. Hardhat merges every root file with the same compiler settings into one
 * solc job; the wasm solc we must use offline (hardhat.config.ts) crashes with "memory access out of
 * bounds" once that job holds this project's contracts and all its Solidity tests (~190 sources),
 * while each part compiles. So: the contracts first, then the tests in groups, then one plain
 * `hardhat build`, which finds every root cached and builds what is left (the npm files). Every
 * npm script that needs artifacts runs this instead of `hardhat build`.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
/** Test roots per solc job: ~35 compiled in ~2.5 min on one core and stay well clear of the crash. */
const TESTS_PER_PART = 30;

function solidityFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".sol"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

function build(files: string[]): void {
  const args = ["hardhat", "build", ...process.argv.slice(2), ...files];
  const result = spawnSync(join(ROOT, "node_modules", ".bin", "hardhat"), args.slice(1), { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const tests = [...solidityFiles("devkit"), ...solidityFiles("test")];
build(solidityFiles("contracts"));
for (let i = 0; i < tests.length; i += TESTS_PER_PART) build(tests.slice(i, i + TESTS_PER_PART));
build([]);
