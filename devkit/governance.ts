import { Interface, ZeroAddress, formatEther, getAddress, isAddress, type Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { withSigner, type AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";

/** OpenZeppelin's IGovernor.ProposalState, by index. */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

/** GovernorCountingSimple's vote types. */
export const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type SupportName = keyof typeof SUPPORT;

/** Chain ids whose time the devkit may move forward (Hardhat's and anvil's, geth --dev). */
const DEVELOPMENT_CHAIN_IDS = new Set([31337n, 1337n]);

/** One call a proposal makes through the timelock. */
export interface GovAction {
  target: string;
  value: bigint;
  data: string;
}

/** An action as a user writes it: a deployment key (`router`) or an address, a function and its arguments. */
export interface ActionSpec {
  contract: string;
  function: string;
  args?: unknown[];
}

export interface ProposalInfo {
  id: bigint;
  state: ProposalStateName;
  proposer: string;
  /** Votes are counted as of this time (unix seconds); voting opens just after it. */
  snapshot: bigint;
  /** Voting closes after this time. */
  deadline: bigint;
  /** When the timelock lets it run (0 until queued). */
  eta: bigint;
  votes: { against: bigint; for: bigint; abstain: bigint };
  quorum: bigint;
  actions: GovAction[];
  /** The actions as `contract.function(args)`, where the target is a deployed contract. */
  described: string[];
  chainTime: bigint;
}

/** The contract handles of the network by deployment key, for encoding and decoding calls. */
function handles(net: AgentNetwork): Record<string, { interface: Interface }> {
  const out: Record<string, { interface: Interface }> = {};
  for (const key of Object.keys(net.deployment.contracts)) {
    const handle = (net as unknown as Record<string, { interface?: Interface }>)[key];
    if (handle?.interface !== undefined) out[key] = handle as { interface: Interface };
  }
  return out;
}

function keyOf(net: AgentNetwork, address: string): string | undefined {
  const wanted = address.toLowerCase();
  return Object.entries(net.deployment.contracts).find(([, a]) => a.toLowerCase() === wanted)?.[0];
}

/**
 * Encodes `spec` against the deployed contract's ABI. `contract` is a deployment key (router,
 * stakingHub, ...) or an address; for an address outside the deployment, `function` must be a full
 * signature such as "setFoo(uint256)". Arguments are JSON values (big numbers as strings).
 */
export function encodeAction(net: AgentNetwork, spec: ActionSpec): GovAction {
  const known = handles(net);
  let target: string;
  let iface: Interface;
  if (isAddress(spec.contract)) {
    target = getAddress(spec.contract);
    const key = keyOf(net, target);
    if (key !== undefined && known[key] !== undefined) iface = known[key]!.interface;
    else if (spec.function.includes("(")) iface = new Interface([`function ${spec.function}`]);
    else throw new DevkitError(`${target} is not in the deployment: give --function as a full signature, e.g. "setFoo(uint256)"`);
  } else {
    const handle = known[spec.contract];
    if (handle === undefined) throw new DevkitError(`unknown contract "${spec.contract}": one of ${Object.keys(known).join(", ")}, or an address`);
    target = net.deployment.contracts[spec.contract]!;
    iface = handle.interface;
  }
  const fragment = iface.getFunction(spec.function);
  if (fragment === null) throw new DevkitError(`${spec.contract} has no function ${spec.function}`);
  const args = spec.args ?? [];
  if (args.length !== fragment.inputs.length) {
    throw new DevkitError(`${spec.contract}.${fragment.format()} takes ${fragment.inputs.length} argument(s), ${args.length} given`);
  }
  try {
    return { target, value: 0n, data: iface.encodeFunctionData(fragment, args) };
  } catch (error) {
    throw new DevkitError(`cannot encode ${spec.contract}.${fragment.format()} with ${JSON.stringify(args)}: ${(error as Error).message}`);
  }
}

/** `router.setMaxInputBytes(32768)` for a call to a deployed contract, else the raw target and data. */
export function describeAction(net: AgentNetwork, action: GovAction): string {
  const key = keyOf(net, action.target);
  const iface = key === undefined ? undefined : handles(net)[key]?.interface;
  const parsed = iface?.parseTransaction({ data: action.data, value: action.value });
  const value = action.value === 0n ? "" : ` {value: ${formatEther(action.value)} ETH}`;
  if (parsed === null || parsed === undefined) return `${action.target} calldata ${action.data}${value}`;
  const args = parsed.args.toArray().map(formatArg).join(", ");
  return `${key}.${parsed.name}(${args})${value}`;
}

function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  if (value !== null && typeof value === "object" && "toArray" in value) return formatArg((value as { toArray(): unknown[] }).toArray());
  return String(value);
}

async function chainTime(net: AgentNetwork): Promise<bigint> {
  const block = await net.governor.runner!.provider!.getBlock("latest");
  return BigInt(block!.timestamp);
}

/** Everything about a proposal, read from the governor (GovernorStorage keeps its actions). */
export async function proposalInfo(net: AgentNetwork, id: bigint): Promise<ProposalInfo> {
  const { governor } = net;
  const details = await governor.proposalDetails(id).catch(() => {
    throw new DevkitError(`there is no proposal ${id} (\`npx hardhat gov:status\` lists them)`);
  });
  const [stateIndex, proposer, snapshot, deadline, eta, votes, now] = await Promise.all([
    governor.state(id),
    governor.proposalProposer(id),
    governor.proposalSnapshot(id),
    governor.proposalDeadline(id),
    governor.proposalEta(id),
    governor.proposalVotes(id),
    chainTime(net),
  ]);
  // The quorum is read at the snapshot, which must be in the past.
  const quorum = snapshot < now ? await governor.quorum(snapshot) : await governor.quorum(now - 1n);
  const actions = details[0].map((target, i) => ({ target, value: details[1][i]!, data: details[2][i]! }));
  return {
    id,
    state: PROPOSAL_STATES[Number(stateIndex)]!,
    proposer,
    snapshot,
    deadline,
    eta,
    votes: { against: votes[0], for: votes[1], abstain: votes[2] },
    quorum,
    actions,
    described: actions.map((action) => describeAction(net, action)),
    chainTime: now,
  };
}

/** Every proposal, oldest first. */
export async function listProposals(net: AgentNetwork): Promise<ProposalInfo[]> {
  const count = await net.governor.proposalCount();
  const out: ProposalInfo[] = [];
  for (let i = 0n; i < count; i++) {
    const [id] = await net.governor.proposalDetailsAt(i);
    out.push(await proposalInfo(net, id));
  }
  return out;
}

/** PHA votes plus staked-PHA votes of `account` now (what it would propose with). */
export async function votingPower(net: AgentNetwork, account: string): Promise<{ pha: bigint; staked: bigint; total: bigint }> {
  const [pha, staked] = await Promise.all([net.pha.getVotes(account), net.stakeVotes.getVotes(account)]);
  return { pha, staked, total: pha + staked };
}

/** Delegates the signer's PHA votes and staked-PHA votes to `delegatee` (two transactions). */
export async function delegateVotes(net: AgentNetwork, delegatee: string): Promise<void> {
  await sendTx("pha.delegate", () => net.pha.delegate(delegatee));
  await sendTx("stakeVotes.delegate", () => net.stakeVotes.delegate(delegatee));
}

/**
 * Submits a proposal from the network's signer. Refuses before sending when the signer's votes are
 * below the proposal threshold (votes are read one second back, as the governor does).
 */
export async function propose(net: AgentNetwork, actions: GovAction[], description: string): Promise<ProposalInfo> {
  if (actions.length === 0) throw new DevkitError("a proposal needs at least one action");
  if (description.trim() === "") throw new DevkitError("a proposal needs a description (--description)");
  const proposer = await net.signer.getAddress();
  const [threshold, now] = await Promise.all([net.governor.proposalThreshold(), chainTime(net)]);
  const votes = await net.governor.getVotes(proposer, now - 1n);
  if (votes < threshold) {
    throw new DevkitError(
      `${proposer} has ${formatVotes(votes)}, the proposal threshold is ${formatVotes(threshold)}: ` +
        "PHA votes count once delegated (`npx hardhat gov:delegate`), staked PHA votes for its staker.",
    );
  }
  const receipt = await sendTx("governor.propose", () =>
    net.governor.propose(
      actions.map((a) => a.target),
      actions.map((a) => a.value),
      actions.map((a) => a.data),
      description,
    ),
  );
  for (const log of receipt.logs) {
    const parsed = net.governor.interface.parseLog(log);
    if (parsed?.name === "ProposalCreated") return proposalInfo(net, parsed.args.proposalId as bigint);
  }
  throw new DevkitError("governor.propose emitted no ProposalCreated event");
}

/** Casts the signer's vote; returns its weight (votes at the snapshot). */
export async function castVote(net: AgentNetwork, id: bigint, support: SupportName, reason = ""): Promise<bigint> {
  const info = await proposalInfo(net, id);
  if (info.state !== "Active") throw new DevkitError(notInState(info, "Active", "vote on"));
  const voter = await net.signer.getAddress();
  if (await net.governor.hasVoted(id, voter)) throw new DevkitError(`${voter} has already voted on proposal ${id}`);
  const receipt = await sendTx("governor.castVote", () => net.governor.castVoteWithReason(id, SUPPORT[support], reason));
  for (const log of receipt.logs) {
    const parsed = net.governor.interface.parseLog(log);
    if (parsed?.name === "VoteCast") return parsed.args.weight as bigint;
  }
  throw new DevkitError("governor.castVote emitted no VoteCast event");
}

/** Queues a succeeded proposal in the timelock; returns when it can run. */
export async function queueProposal(net: AgentNetwork, id: bigint): Promise<bigint> {
  const info = await proposalInfo(net, id);
  if (info.state !== "Succeeded") throw new DevkitError(notInState(info, "Succeeded", "queue"));
  await sendTx("governor.queue", () => net.governor["queue(uint256)"](id));
  return net.governor.proposalEta(id);
}

/** Runs a queued proposal whose timelock delay has passed. */
export async function executeProposal(net: AgentNetwork, id: bigint): Promise<void> {
  const info = await proposalInfo(net, id);
  if (info.state !== "Queued") throw new DevkitError(notInState(info, "Queued", "execute"));
  if (info.chainTime < info.eta) {
    throw new DevkitError(`proposal ${id} can run at ${formatTime(info.eta, info.chainTime)}; the timelock holds it until then${devHint()}`);
  }
  await sendTx("governor.execute", () => net.governor["execute(uint256)"](id));
}

/** Why a proposal cannot be acted on now, and when it can. */
function notInState(info: ProposalInfo, wanted: ProposalStateName, verb: string): string {
  const base = `proposal ${info.id} is ${info.state}, not ${wanted}: cannot ${verb} it`;
  switch (info.state) {
    case "Pending":
      return `${base}; voting opens after ${formatTime(info.snapshot, info.chainTime)}${devHint()}`;
    case "Active":
      return `${base}; voting closes after ${formatTime(info.deadline, info.chainTime)}${devHint()}`;
    case "Queued":
      return `${base}; it can run at ${formatTime(info.eta, info.chainTime)} (\`gov:execute\`)`;
    case "Defeated":
      return `${base}; it did not pass (for ${formatVotes(info.votes.for)}, against ${formatVotes(info.votes.against)}, quorum ${formatVotes(info.quorum)} of for + abstain)`;
    default:
      return base;
  }
}

function devHint(): string {
  return " (on a development chain, --fast-forward moves chain time there)";
}

/**
 * Moves a development chain's time to `timestamp` by mining a block then (no-op when already past).
 * Refuses any other chain: time moves by itself there.
 */
export async function fastForwardTo(connection: NetworkConnection, timestamp: bigint): Promise<void> {
  const provider = connection.ethers.provider;
  const { chainId } = await provider.getNetwork();
  if (!DEVELOPMENT_CHAIN_IDS.has(chainId)) throw new DevkitError(`--fast-forward moves time on development chains only; chain ${chainId} is not one`);
  const latest = BigInt((await provider.getBlock("latest"))!.timestamp);
  if (latest >= timestamp) return;
  await provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
  await provider.send("evm_mine", []);
}

/** The point in time each step waits for: voting opens after the snapshot, closes after the deadline, runs at the eta. */
export function readyAt(info: ProposalInfo, step: "vote" | "queue" | "execute"): bigint {
  if (step === "vote") return info.snapshot + 1n;
  if (step === "queue") return info.deadline + 1n;
  return info.eta;
}

/**
 * The whole lifecycle on a development chain, as one call: propose from the network's signer, vote
 * for it, queue it and execute it, moving chain time past each wait. The signer's votes must reach
 * the quorum (a development deployment's deployer holds the PHA supply); undelegated PHA is first
 * delegated to the signer itself.
 */
export async function govern(connection: NetworkConnection, net: AgentNetwork, actions: GovAction[], description: string): Promise<ProposalInfo> {
  const signer = await net.signer.getAddress();
  if ((await net.pha.delegates(signer)) === ZeroAddress) {
    await sendTx("pha.delegate", () => net.pha.delegate(signer));
    // Proposals count votes from the second before they are made.
    await fastForwardTo(connection, (await chainTime(net)) + 1n);
  }
  let info = await propose(net, actions, description);
  await fastForwardTo(connection, readyAt(info, "vote"));
  await castVote(net, info.id, "for");
  info = await proposalInfo(net, info.id);
  await fastForwardTo(connection, readyAt(info, "queue"));
  await queueProposal(net, info.id);
  info = await proposalInfo(net, info.id);
  await fastForwardTo(connection, readyAt(info, "execute"));
  await executeProposal(net, info.id);
  return proposalInfo(net, info.id);
}

/** The guardian's pause (the timelock's narrow emergency right): `target` must be listed. */
export async function guardianPause(net: AgentNetwork, guardian: Signer, target: string): Promise<void> {
  const timelock = withSigner(net, guardian).timelock;
  await sendTx("timelock.guardianPause", () => timelock.guardianPause(target));
}

/** Votes (PHA wei) as "1,234,567.5 votes". */
export function formatVotes(wei: bigint): string {
  const [whole, fraction] = formatEther(wei).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}${fraction === "0" ? "" : `.${fraction}`} votes`;
}

/** "2025-01-01 12:00:00 UTC (in 59 min)" for a unix time, relative to chain time. */
export function formatTime(timestamp: bigint, now: bigint): string {
  const when = new Date(Number(timestamp) * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
  const delta = Number(timestamp - now);
  return `${when} (${delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`})`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, "")} h`;
  // Whole days and hours: a timelock delay of unbonding (1 d) + EXIT_MARGIN (1 h) must not read "1 d".
  const days = Math.floor(seconds / 86_400);
  const hours = Math.round((seconds % 86_400) / 3600);
  return hours === 0 ? `${days} d` : hours === 24 ? `${days + 1} d` : `${days} d ${hours} h`;
}
