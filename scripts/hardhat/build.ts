/**
 * `hardhat build` in parts. Hardhat merges every root file with the same compiler settings into one
 * solc job; the wasm solc we must use offline (hardhat.config.ts) crashes with "memory access out of
 * bounds" once that job holds this project's contracts and all its Solidity tests (~190 sources),
 * while each part compiles. So: the contracts first, then the tests in groups, then one plain
 * `hardhat build`, which finds every root cached and builds what is left (the npm files). Every
 * npm script that needs artifacts runs this instead of `hardhat build`.
 *
 * TypeChain runs once, after the jobs, over every artifact of `contracts/` (hardhat.config.ts turns off
 * hardhat-typechain's run after each compilation, `hardhat test`'s included). Left to hardhat-typechain,
 * each job would write types for the files it compiled under a path prefix that depends on that set
 * (`factories/core/...` from the contracts-only job, `factories/contracts/core/...` from a job that
 * also held tests), so an incremental build could leave the factories the TypeScript parts import
 * stale. Generated over the same set every time, the types tree is the same after a clean build and
 * after any incremental one.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = join(import.meta.dirname, "..", "..");
/** Test roots per solc job: ~35 compiled in ~2.5 min on one core and stay well clear of the crash. */
const TESTS_PER_PART = 30;

/** Where the TypeScript parts import the contracts' types from (TypeChain's default for ethers v6). */
const TYPES_DIR = join("types", "ethers-contracts");

function filesEndingWith(dir: string, suffix: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

function solidityFiles(dir: string): string[] {
  return filesEndingWith(dir, ".sol");
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
await generateTypes();

/** hardhat-typechain's own generator (with its Hardhat 3 fixes), which the package does not export. */
async function generateTypes(): Promise<void> {
  const module = join(ROOT, "node_modules", "@nomicfoundation", "hardhat-typechain", "dist", "src", "internal", "generate-types.js");
  const { generateTypes: generate } = (await import(pathToFileURL(module).href)) as {
    generateTypes: (root: string, config: Record<string, unknown>, noTypechain: boolean, artifacts: string[]) => Promise<void>;
  };
  const artifacts = filesEndingWith(join("artifacts", "contracts"), ".json").map((path) => join(ROOT, path));
  rmSync(join(ROOT, TYPES_DIR), { recursive: true, force: true });
  await generate(ROOT, { outDir: join(ROOT, TYPES_DIR), alwaysGenerateOverloads: false, discriminateTypes: false, tsNocheck: false }, false, artifacts);
}
