import { formatTime, formatVotes, type ProposalInfo } from "../governance.js";
import { report } from "./context.js";

/** A proposal's state, votes, timing and actions, and the command that moves it on. */
export function printProposal(info: ProposalInfo, options: { description?: string; network?: string } = {}): void {
  const { votes, chainTime } = info;
  const counted = votes.for + votes.abstain;
  const rows: [string, string][] = [];
  if (options.description !== undefined) rows.push(["description", options.description.split("\n")[0]!]);
  rows.push(["proposer", info.proposer]);
  info.described.forEach((action, i) => rows.push([`action ${i + 1}`, action]));
  rows.push(
    ["votes counted at", formatTime(info.snapshot, chainTime)],
    ["voting closes", formatTime(info.deadline, chainTime)],
    ["for", formatVotes(votes.for)],
    ["against", formatVotes(votes.against)],
    ["abstain", formatVotes(votes.abstain)],
    ["quorum", `${formatVotes(info.quorum)} of for + abstain: ${counted >= info.quorum ? "reached" : `not reached (${formatVotes(counted)})`}`],
  );
  if (info.eta !== 0n) rows.push(["runs at", formatTime(info.eta, chainTime)]);
  const next = nextStep(info, options.network ?? "");
  if (next !== undefined) rows.push(["next", next]);
  report(`Proposal ${info.id}: ${info.state}`, rows);
}

function nextStep(info: ProposalInfo, network: string): string | undefined {
  const id = info.id.toString();
  switch (info.state) {
    case "Pending":
      return `voting opens after the snapshot: \`npx hardhat gov:vote ${id} --support for${network}\` (add --fast-forward on a development chain)`;
    case "Active":
      return `\`npx hardhat gov:vote ${id} --support for|against|abstain${network}\`; then gov:queue once voting closes`;
    case "Succeeded":
      return `\`npx hardhat gov:queue ${id}${network}\``;
    case "Queued":
      return info.eta <= info.chainTime
        ? `\`npx hardhat gov:execute ${id}${network}\``
        : `\`npx hardhat gov:execute ${id}${network}\` once the timelock delay has passed (add --fast-forward on a development chain)`;
    default:
      return undefined;
  }
}
