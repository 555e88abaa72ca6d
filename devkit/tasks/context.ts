import path from "node:path";
import { formatEther, isAddress, parseEther } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { attachAgentNetwork, type AgentNetwork } from "../contracts.js";
import { deploymentPath, readDeployment } from "../deployment.js";
import { DevkitError } from "../errors.js";

/** Options every devkit task that talks to a chain takes. */
export interface ChainTaskArgs {
  deployment?: string;
  signer: number;
}

export interface TaskNetwork {
  connection: NetworkConnection;
  net: AgentNetwork;
  signerAddress: string;
  deploymentFile: string;
}

/**
 * The deployed network on the task's network (`--network`), bound to account `--signer`. The
 * connection is Hardhat's cached one for that network, so tasks run one after another in a
 * process (a test, a script) see the same chain, as they would on a node.
 */
export async function taskNetwork(hre: HardhatRuntimeEnvironment, args: ChainTaskArgs): Promise<TaskNetwork> {
  const connection = await hre.network.getOrCreate();
  const deploymentFile = args.deployment ?? deploymentPath(connection.networkName);
  const deployment = await readDeployment(deploymentFile);
  const signers = await connection.ethers.getSigners();
  const signer = signers[args.signer];
  if (signer === undefined) throw new DevkitError(`--signer ${args.signer}: network ${connection.networkName} has ${signers.length} accounts`);
  const net = await attachAgentNetwork(connection, deployment, signer);
  return { connection, net, signerAddress: await signer.getAddress(), deploymentFile };
}

/** "1.5" PHA -> wei; refuses anything that is not a non-negative decimal amount. */
export function parsePha(text: string, option: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text.trim())) throw new DevkitError(`${option} must be an amount of PHA such as 10 or 0.5, not "${text}"`);
  return parseEther(text.trim());
}

export function formatPha(wei: bigint): string {
  return `${formatEther(wei)} PHA`;
}

/** A positive integer id given as text (account, agent, request, pool ids). */
export function parseId(text: string | undefined, option: string): bigint {
  if (text === undefined || !/^\d+$/.test(text.trim()) || BigInt(text.trim()) === 0n)
    throw new DevkitError(`${option} must be a positive integer id, not "${text ?? ""}"`);
  return BigInt(text.trim());
}

export function parseAddress(text: string | undefined, option: string): string {
  if (text === undefined || !isAddress(text)) throw new DevkitError(`${option} must be a 0x address, not "${text ?? ""}"`);
  return text;
}

/** `--network <name>` to repeat in a suggested next command (nothing for the default network). */
export function networkFlag(connection: NetworkConnection): string {
  return connection.networkName === "default" ? "" : ` --network ${connection.networkName}`;
}

/** A path relative to the working directory when it is inside it (shorter to read). */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

/** Prints aligned "label  value" lines under a heading. */
export function report(heading: string, rows: [string, string][]): void {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  console.log(heading);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}
