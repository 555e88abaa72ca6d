import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DevkitError } from "../errors.js";
import { SUPPORT, castVote, fastForwardTo, formatVotes, proposalInfo, readyAt, type ProposalInfo, type SupportName } from "../governance.js";
import { networkFlag, taskNetwork, type ChainTaskArgs } from "./context.js";
import { parseProposalId } from "./gov-args.js";
import { printProposal } from "./print-proposal.js";

interface Args extends ChainTaskArgs {
  proposal: string;
  support: string;
  reason: string;
  fastForward: boolean;
}

export default async function govVote(args: Args, hre: HardhatRuntimeEnvironment): Promise<ProposalInfo> {
  const id = parseProposalId(args.proposal);
  const support = args.support.trim().toLowerCase();
  if (!(support in SUPPORT)) throw new DevkitError(`--support must be for, against or abstain, not "${args.support}"`);
  const { connection, net, signerAddress } = await taskNetwork(hre, args);
  if (args.fastForward) await fastForwardTo(connection, readyAt(await proposalInfo(net, id), "vote"));
  const weight = await castVote(net, id, support as SupportName, args.reason);
  console.log(`${signerAddress} voted ${support} on proposal ${id} with ${formatVotes(weight)} (its PHA and staked PHA at the snapshot)`);
  const info = await proposalInfo(net, id);
  printProposal(info, { network: networkFlag(connection) });
  return info;
}
