import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { registerAgent, type RegisteredAgent } from "../agents.js";
import { displayPath, formatPha, networkFlag, parsePha, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  entry: string;
  price: string;
  uri?: string;
  bundles?: string;
  restricted: boolean;
}

export default async function agentRegister(args: Args, hre: HardhatRuntimeEnvironment): Promise<RegisteredAgent> {
  const price = parsePha(args.price, "--price");
  const { net, connection, signerAddress } = await taskNetwork(hre, args);
  const bundleStore = args.bundles ?? net.deployment.local?.bundles;
  const agent = await registerAgent(net, args.entry, { price, uri: args.uri, bundleStore, openToAllCallers: !args.restricted });
  report(`Registered agent ${agent.agentId} (code version 1), owned by ${signerAddress}`, [
    ["bundle", `${displayPath(agent.bundlePath)} (${agent.bytes} bytes)`],
    ["code hash", agent.codeHash],
    ["uri", agent.uri],
    ...(agent.storedAt === undefined ? [] : [["local workers read", displayPath(agent.storedAt)] as [string, string]]),
    ["price", `${formatPha(agent.price)} per successful request`],
    ["callers", args.restricted ? "only those the owner allows (AgentRegistry.setCallerAllowed)" : "any contract"],
    ["tx", agent.txHash],
  ]);
  if (args.uri !== undefined)
    console.log(`Workers check the bytes at ${args.uri} against the code hash: upload ${displayPath(agent.bundlePath)} there unchanged.`);
  console.log(`Next: npx hardhat agent:request --agent ${agent.agentId} --input "..."${networkFlag(connection)}`);
  return agent;
}
