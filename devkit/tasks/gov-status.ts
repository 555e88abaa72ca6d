import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { AgentNetwork } from "../contracts.js";
import { formatDuration, formatVotes, listProposals, proposalInfo, votingPower, type ProposalInfo } from "../governance.js";
import { networkFlag, report, taskNetwork, type ChainTaskArgs } from "./context.js";
import { parseProposalId } from "./gov-args.js";
import { printProposal } from "./print-proposal.js";

interface Args extends ChainTaskArgs {
  proposal?: string;
  fromBlock: number;
}

/** The description a proposal was created with, from its ProposalCreated event (the governor stores only its hash). */
async function descriptionOf(net: AgentNetwork, info: ProposalInfo, fromBlock: number): Promise<string | undefined> {
  try {
    const events = await net.governor.queryFilter(net.governor.filters.ProposalCreated(), fromBlock);
    return events.find((e) => e.args.proposalId === info.id)?.args.description;
  } catch {
    return undefined;
  }
}

/**
 * With a proposal id: its state, votes, quorum, timing, actions and next step. Without: the
 * governance settings, the signer's voting power and every proposal.
 */
export default async function govStatus(args: Args, hre: HardhatRuntimeEnvironment): Promise<ProposalInfo | ProposalInfo[]> {
  const { connection, net, signerAddress } = await taskNetwork(hre, args);
  if (args.proposal !== undefined) {
    const info = await proposalInfo(net, parseProposalId(args.proposal));
    printProposal(info, { description: await descriptionOf(net, info, args.fromBlock), network: networkFlag(connection) });
    return info;
  }
  const { governor, timelock } = net;
  const [delay, configured, exitWindow, votingDelay, votingPeriod, threshold, quorumPercent, power] = await Promise.all([
    timelock.getMinDelay(),
    timelock.configuredDelay(),
    timelock.exitWindow(),
    governor.votingDelay(),
    governor.votingPeriod(),
    governor.proposalThreshold(),
    governor["quorumNumerator()"](),
    votingPower(net, signerAddress),
  ]);
  report(`Governance: PhalaGovernor ${await governor.getAddress()}, timelock ${await timelock.getAddress()}`, [
    ["voting delay", formatDuration(Number(votingDelay))],
    ["voting period", formatDuration(Number(votingPeriod))],
    [
      "timelock delay",
      `${formatDuration(Number(delay))} (configured ${formatDuration(Number(configured))}, exit window = unbonding period ${formatDuration(Number(exitWindow))})`,
    ],
    ["threshold", `${formatVotes(threshold)} to propose`],
    ["quorum", `${quorumPercent}% of PHA's supply (for + abstain)`],
    ["your votes", `${formatVotes(power.total)} (delegated PHA ${formatVotes(power.pha)}, staked PHA ${formatVotes(power.staked)}) for ${signerAddress}`],
  ]);
  const proposals = await listProposals(net);
  if (proposals.length === 0)
    console.log("No proposals yet: `npx hardhat gov:propose --contract <name> --function <name> --args '[...]' --description <text>`");
  for (const info of proposals) console.log(`  ${info.state.padEnd(9)} ${info.id}  ${info.described.join("; ")}`);
  return proposals;
}
