import { readFile } from "node:fs/promises";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { Result } from "hardhat/types/utils";
import { errorResult, successfulResult } from "hardhat/utils/result";
import { DevkitError } from "../errors.js";
import { formatOutput, inputBytes } from "../requests.js";
import { runAgentLocally, type LocalRun } from "../run-agent.js";
import { displayPath } from "./context.js";

interface Args {
  entry: string;
  input?: string;
  inputHex?: string;
  inputTypes?: string;
  inputValues?: string;
  decode?: string;
  secrets?: string;
  allow: string;
  llmUrl?: string;
  llmModel: string;
  wallTimeMs: number;
}

/** A run whose status is not OK is a failed Result: the CLI exits with code 1. */
export default async function agentRun(args: Args, _hre: HardhatRuntimeEnvironment): Promise<Result<LocalRun, LocalRun>> {
  const input = inputBytes(args);
  const secrets = args.secrets === undefined ? undefined : await readSecrets(args.secrets);
  const llm = args.llmUrl === undefined ? undefined : { baseUrl: args.llmUrl, model: args.llmModel, apiKey: process.env.WORKER_LLM_API_KEY };
  const egressAllow = args.allow
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  const run = await runAgentLocally(args.entry, { input, secrets, egressAllow, llm, limits: { wallTimeMs: args.wallTimeMs } });
  console.log(`Ran ${displayPath(run.bundlePath)} (code hash ${run.codeHash}) in the worker's sandbox, ${run.ms} ms`);
  for (const line of run.logs) console.log(`  log: ${line}`);
  console.log(`status: ${run.statusName} (${run.status})`);
  console.log(`output: ${run.status === 0 ? formatOutput(run.output, args.decode) : formatOutput(run.output)}`);
  return run.status === 0 ? successfulResult(run) : errorResult(run);
}

async function readSecrets(file: string): Promise<Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new DevkitError(`--secrets ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new DevkitError(`--secrets ${file} must hold a JSON object of strings, e.g. {"API_KEY": "..."}`);
  }
  return parsed as Record<string, string>;
}
