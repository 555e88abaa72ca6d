import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import AgentNetwork from "../ignition/modules/AgentNetwork.js";
import { DevkitError } from "./errors.js";

/** What `npm run local` adds to its deployment file: how to reach its parts. */
export interface LocalNetworkInfo {
  rpcUrl: string;
  /** The billing account it opened and funded (owner: account 0). */
  accountId: string;
  workers: { name: string; address: string; url: string; poolId: string }[];
  bridge: { account: string; http: string; log: string };
  /** Agents it registered, by name. */
  agents: Record<string, string>;
  /** The bundle store its workers read (`<codeHash>.js`); agent:register copies bundles into it. */
  bundles: string;
}

/** Addresses of a deployment, as written to deployments/<network>.json. */
export interface Deployment {
  network: string;
  chainId: number;
  deployedAt: string;
  contracts: Record<string, string>;
  local?: LocalNetworkInfo;
}

/** Ignition parameters of the AgentNetwork module (see ignition/modules/AgentNetwork.ts). */
export type AgentNetworkParameters = Record<string, unknown>;

/** Chain ids where a fresh deployment may discard Ignition's journal of an earlier chain. */
const DEVELOPMENT_CHAIN_IDS = new Set([31337, 1337]);

export const DEFAULT_DEPLOYMENTS_DIR = "deployments";

/** deployments/<network>.json */
export function deploymentPath(networkName: string, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  return path.join(dir, `${networkName}.json`);
}

/**
 * Deploys the network through `connection` with Hardhat Ignition and records the addresses in
 * `<outDir>/<network>.json` (`outDir: null` writes nothing). On development chains Ignition's
 * journal goes to a directory of this deployment alone, removed afterwards: local nodes restart
 * empty (a kept journal would make Ignition believe the contracts still exist), and two local
 * chains deployed at once (a test next to `npm run local`) must not share one.
 */
export async function deployAgentNetwork(
  connection: NetworkConnection,
  options: { outDir?: string | null; parameters?: AgentNetworkParameters } = {},
): Promise<Deployment> {
  const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
  const development = DEVELOPMENT_CHAIN_IDS.has(chainId);
  const deploymentId = development ? `dev-chain-${chainId}-${process.pid}-${Date.now()}` : undefined;
  let deployed;
  try {
    deployed = await connection.ignition.deploy(AgentNetwork, {
      displayUi: false,
      deploymentId,
      parameters: options.parameters === undefined ? undefined : { AgentNetwork: options.parameters as never },
    });
  } finally {
    if (deploymentId !== undefined) await rm(path.join("ignition", "deployments", deploymentId), { recursive: true, force: true });
  }
  const contracts: Record<string, string> = {};
  for (const [name, contract] of Object.entries(deployed)) {
    contracts[name] = await contract.getAddress();
  }
  const deployment: Deployment = { network: connection.networkName, chainId, deployedAt: new Date().toISOString(), contracts };
  const outDir = options.outDir === undefined ? DEFAULT_DEPLOYMENTS_DIR : options.outDir;
  if (outDir !== null) await writeDeployment(deploymentPath(connection.networkName, outDir), deployment);
  return deployment;
}

export async function writeDeployment(file: string, deployment: Deployment): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(deployment, null, 2) + "\n");
}

/** Reads a deployment file; a missing or malformed one is a DevkitError saying how to make one. */
export async function readDeployment(file: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new DevkitError(
      `no deployment at ${file}. Start a local network with \`npm run local\` and pass \`--network localhost\`, ` +
        `deploy with \`npm run deploy -- --network <name>\`, or point to one with \`--deployment <file>\`.`,
    );
  }
  let parsed: Deployment;
  try {
    parsed = JSON.parse(text) as Deployment;
  } catch (error) {
    throw new DevkitError(`deployment file ${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || typeof parsed.contracts !== "object" || typeof parsed.chainId !== "number") {
    throw new DevkitError(`deployment file ${file} has no chainId and contracts`);
  }
  return parsed;
}
