import { readFile } from "node:fs/promises";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DevkitError } from "../errors.js";
import { encodeAction, propose, type ActionSpec, type ProposalInfo } from "../governance.js";
import { networkFlag, taskNetwork, type ChainTaskArgs } from "./context.js";
import { printProposal } from "./print-proposal.js";

interface Args extends ChainTaskArgs {
  contract?: string;
  function?: string;
  args?: string;
  actions?: string;
  description?: string;
}

/** The actions: one from --contract/--function/--args, or a JSON file of them (--actions). */
async function actionSpecs(args: Args): Promise<ActionSpec[]> {
  if (args.actions !== undefined) {
    if (args.contract !== undefined || args.function !== undefined)
      throw new DevkitError("give either --actions <file> or --contract and --function, not both");
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(args.actions, "utf8"));
    } catch (error) {
      throw new DevkitError(`--actions ${args.actions}: ${(error as Error).message}`);
    }
    if (
      !Array.isArray(parsed) ||
      parsed.some((a) => typeof a?.contract !== "string" || typeof a?.function !== "string" || (a.args !== undefined && !Array.isArray(a.args)))
    ) {
      throw new DevkitError(`--actions ${args.actions} must be a JSON array of {"contract": "router", "function": "setMaxInputBytes", "args": [32768]}`);
    }
    return parsed as ActionSpec[];
  }
  if (args.contract === undefined || args.function === undefined) throw new DevkitError("give --contract and --function (or --actions <file>)");
  let callArgs: unknown = [];
  if (args.args !== undefined) {
    try {
      callArgs = JSON.parse(args.args);
    } catch (error) {
      throw new DevkitError(`--args must be a JSON array: ${(error as Error).message}`);
    }
  }
  if (!Array.isArray(callArgs)) throw new DevkitError(`--args must be a JSON array, e.g. '[32768]', not ${args.args}`);
  return [{ contract: args.contract, function: args.function, args: callArgs }];
}

export default async function govPropose(args: Args, hre: HardhatRuntimeEnvironment): Promise<ProposalInfo> {
  const { connection, net } = await taskNetwork(hre, args);
  const actions = (await actionSpecs(args)).map((spec) => encodeAction(net, spec));
  const info = await propose(net, actions, args.description ?? "");
  printProposal(info, { description: args.description, network: networkFlag(connection) });
  return info;
}
