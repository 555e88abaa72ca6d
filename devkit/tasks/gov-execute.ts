import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { executeProposal, fastForwardTo, proposalInfo, readyAt, type ProposalInfo } from "../governance.js";
import { networkFlag, taskNetwork, type ChainTaskArgs } from "./context.js";
import { parseProposalId } from "./gov-args.js";
import { printProposal } from "./print-proposal.js";

interface Args extends ChainTaskArgs {
  proposal: string;
  fastForward: boolean;
}

export default async function govExecute(args: Args, hre: HardhatRuntimeEnvironment): Promise<ProposalInfo> {
  const id = parseProposalId(args.proposal);
  const { connection, net } = await taskNetwork(hre, args);
  if (args.fastForward) await fastForwardTo(connection, readyAt(await proposalInfo(net, id), "execute"));
  await executeProposal(net, id);
  const info = await proposalInfo(net, id);
  console.log(`Executed proposal ${id} through the timelock:`);
  for (const action of info.described) console.log(`  ${action}`);
  printProposal(info, { network: networkFlag(connection) });
  return info;
}
