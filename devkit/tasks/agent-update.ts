import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { updateAgent, type RegisteredAgent } from "../agents.js";
import { displayPath, parseId, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  agent: string;
  entry: string;
  uri?: string;
  bundles?: string;
}

export default async function agentUpdate(args: Args, hre: HardhatRuntimeEnvironment): Promise<RegisteredAgent> {
  const agentId = parseId(args.agent, "agent id");
  const { net } = await taskNetwork(hre, args);
  const agent = await updateAgent(net, agentId, args.entry, { uri: args.uri, bundleStore: args.bundles ?? net.deployment.local?.bundles });
  report(`Agent ${agentId} now runs code version ${agent.version} (requests already made keep theirs)`, [
    ["bundle", `${displayPath(agent.bundlePath)} (${agent.bytes} bytes)`],
    ["code hash", agent.codeHash],
    ["uri", agent.uri],
    ["tx", agent.txHash],
  ]);
  return agent;
}
