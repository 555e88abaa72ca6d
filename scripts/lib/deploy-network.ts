import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import AgentNetwork from "../../ignition/modules/AgentNetwork.js";

/** Addresses of a deployment, as written to deployments/<network>.json. */
export interface Deployment {
  network: string;
  chainId: number;
  deployedAt: string;
  contracts: Record<string, string>;
}

/** Chain ids where a fresh deployment may discard Ignition's journal of an earlier chain. */
const DEVELOPMENT_CHAIN_IDS = new Set([31337, 1337]);

/**
 * Deploys the network through `connection` and records the addresses. On development chains
 * Ignition's journal is reset first: local nodes restart empty, and a stale journal would make
 * Ignition believe the contracts still exist.
 */
export async function deployAgentNetwork(
  connection: NetworkConnection<"l1"> | NetworkConnection,
  outDir = "deployments",
): Promise<Deployment> {
  const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
  if (DEVELOPMENT_CHAIN_IDS.has(chainId)) {
    await rm(path.join("ignition", "deployments", `chain-${chainId}`), { recursive: true, force: true });
  }
  const deployed = await connection.ignition.deploy(AgentNetwork, { displayUi: false });
  const contracts: Record<string, string> = {};
  for (const [name, contract] of Object.entries(deployed)) {
    contracts[name] = await contract.getAddress();
  }
  const deployment: Deployment = {
    network: connection.networkName,
    chainId,
    deployedAt: new Date().toISOString(),
    contracts,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, `${connection.networkName}.json`), JSON.stringify(deployment, null, 2) + "\n");
  return deployment;
}
