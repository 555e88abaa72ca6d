import type { ContractTransactionReceipt, ContractTransactionResponse, Interface } from "ethers";
import { HardhatPluginError } from "hardhat/plugins";

/** The devkit's Hardhat plugin id (tasks' errors are reported under it). */
export const PLUGIN_ID = "phala-agent-devkit";

/**
 * A mistake the user can fix (missing deployment, unknown agent, reverted call with a hint). The
 * Hardhat CLI prints it without a stack trace.
 */
export class DevkitError extends HardhatPluginError {
  constructor(message: string, cause?: Error) {
    super(PLUGIN_ID, message, cause);
  }
}

/** What to do about the router's and registries' custom errors a user is most likely to meet. */
const HINTS: Record<string, (args: readonly unknown[]) => string> = {
  ConsumerNotAllowed: ([accountId, consumer]) =>
    `${consumer} may not spend billing account ${accountId}: \`npx hardhat account:add-consumer --account ${accountId} --consumer ${consumer}\` (as the account's owner)`,
  InsufficientBalance: ([accountId, available, required]) =>
    `billing account ${accountId} has ${available} wei PHA unreserved, the request reserves ${required}: \`npx hardhat account:fund --account ${accountId} --amount <PHA>\``,
  MaxFeeTooLow: ([maxFee, required]) => `maxFee ${maxFee} is below the router's minimum ${required} for this agent and callback gas`,
  UnknownAgent: ([agentId]) => `agent ${agentId} is not registered: \`npx hardhat agent:register <entry.ts>\``,
  UnknownAccount: ([accountId]) => `billing account ${accountId} does not exist: \`npx hardhat account:create\``,
  NotAccountOwner: ([accountId, caller]) => `${caller} does not own billing account ${accountId} (choose the owner with --signer)`,
  NotAgentOwner: ([agentId, caller]) => `${caller} does not own agent ${agentId} (choose the owner with --signer)`,
  NoEligibleWorker: ([agentId]) => `no staked, attested worker may run agent ${agentId}: is a worker registered and in a staking pool?`,
  WorkersBusy: ([agentId]) => `every worker that may run agent ${agentId} holds as many unsettled requests as it may: retry once some are answered`,
  RelayCapacityFull: ([pending, needed, max]) =>
    `the router's relay capacity is full (${pending} + ${needed} > ${max} gas of pending answers): retry once answers land, or ask for less callback gas`,
  CallerNotAllowed: ([agentId, caller]) => `agent ${agentId} is not open to ${caller} (its owner restricts callers)`,
  AgentIsPaused: ([agentId]) => `agent ${agentId} is paused by its owner`,
  QuoteFromTheFuture: ([issuedAt]) =>
    `the evidence was issued at ${issuedAt}, after the chain's latest block: the worker's clock is ahead of chain time (mine a block, or wait, and retry)`,
  WorkerKeyTaken: ([worker, operator]) => `worker ${worker} is already registered by operator ${operator}`,
  ERC20InsufficientBalance: ([sender, balance, needed]) => `${sender} holds ${balance} wei PHA, needs ${needed}`,
};

/** Interfaces whose custom errors reverts are decoded with (every contract the devkit attaches). */
const errorInterfaces = new Set<Interface>();

export function decodeErrorsWith(iface: Interface): void {
  errorInterfaces.add(iface);
}

/** The custom error in a revert: ethers' decoding, or the raw revert data (Hardhat's network) decoded here. */
function revertOf(error: unknown): { name: string; args: readonly unknown[] } | undefined {
  for (let e = error as { revert?: { name: string; args: readonly unknown[] }; data?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.revert) return e.revert;
    if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8}/.test(e.data)) {
      for (const iface of errorInterfaces) {
        const parsed = iface.parseError(e.data);
        if (parsed !== null) return parsed;
      }
    }
  }
  return undefined;
}

/** A revert turned into one line naming the custom error, its arguments and, when known, the fix. */
export function describeRevert(action: string, error: unknown): DevkitError {
  const revert = revertOf(error);
  if (revert !== undefined) {
    const args = [...revert.args].map(String);
    const hint = HINTS[revert.name]?.(revert.args);
    return new DevkitError(`${action} reverted with ${revert.name}(${args.join(", ")})${hint ? `: ${hint}` : ""}`, error as Error);
  }
  const message = (error as { shortMessage?: string; message?: string }).shortMessage ?? (error as Error).message ?? String(error);
  return new DevkitError(`${action} failed: ${message}`, error as Error);
}

/** Runs a transaction-sending call and waits for it; reverts become a DevkitError with a hint. */
export async function sendTx(action: string, send: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  try {
    const tx = await send();
    const receipt = await tx.wait();
    if (receipt === null) throw new DevkitError(`${action}: the transaction was dropped`);
    return receipt;
  } catch (error) {
    if (error instanceof DevkitError) throw error;
    throw describeRevert(action, error);
  }
}
