import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { fastForwardTo, formatTime, proposalInfo, queueProposal, readyAt, type ProposalInfo } from "../governance.js";
import { networkFlag, taskNetwork, type ChainTaskArgs } from "./context.js";
import { parseProposalId } from "./gov-args.js";
import { printProposal } from "./print-proposal.js";

interface Args extends ChainTaskArgs {
  proposal: string;
  fastForward: boolean;
}

export default async function govQueue(args: Args, hre: HardhatRuntimeEnvironment): Promise<ProposalInfo> {
  const id = parseProposalId(args.proposal);
  const { connection, net } = await taskNetwork(hre, args);
  if (args.fastForward) await fastForwardTo(connection, readyAt(await proposalInfo(net, id), "queue"));
  const eta = await queueProposal(net, id);
  const info = await proposalInfo(net, id);
  console.log(`Queued proposal ${id} in the timelock: it can run at ${formatTime(eta, info.chainTime)}`);
  printProposal(info, { network: networkFlag(connection) });
  return info;
}
