import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { Command } from "commander";
import { build } from "esbuild";
import { keccak256 } from "ethers";

export interface BuiltAgent {
  bundlePath: string;
  codeHash: string;
  bytes: number;
}

/** Global the worker's sandbox reads the agent's default export from. */
export const AGENT_GLOBAL = "__agent";

/**
 * Bundles an agent's TypeScript entry into one self-contained script (IIFE assigning the module to
 * `__agent`), writes it and `<bundle>.codehash`, and returns keccak256 of the exact bytes written:
 * the code hash to register.
 */
export async function buildAgent(entry: string, outFile?: string): Promise<BuiltAgent> {
  const out = resolve(outFile ?? join(dirname(entry), "dist", `${basename(entry, extname(entry))}.agent.js`));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    globalName: AGENT_GLOBAL,
    // A strict-mode script keeps its `var`s to itself under eval: publish the entry explicitly.
    footer: { js: `globalThis.${AGENT_GLOBAL}=${AGENT_GLOBAL};` },
    platform: "neutral",
    target: "es2020",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced no output");
  const codeHash = keccak256(file.contents);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, file.contents);
  writeFileSync(`${out}.codehash`, `${codeHash}\n`);
  return { bundlePath: out, codeHash, bytes: file.contents.byteLength };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const program = new Command()
    .name("agent:build")
    .description("Bundle an agent for the worker and print its code hash")
    .argument("<entry>", "the agent's TypeScript/JavaScript entry file")
    .option("-o, --out <file>", "bundle path (default: <entry dir>/dist/<name>.agent.js)")
    .parse();
  const built = await buildAgent(program.args[0] as string, program.opts<{ out?: string }>().out);
  process.stdout.write(`bundle:   ${built.bundlePath} (${built.bytes} bytes)\ncodeHash: ${built.codeHash}\n`);
}
