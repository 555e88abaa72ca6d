import { formatEther, type Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import type {
  AgentRegistry,
  AgentRouter,
  GatekeeperQuorumVerifier,
  KeyRegistry,
  MiningRewards,
  PhalaGovernor,
  PhalaTimelock,
  PhalaToken,
  PoolPerformance,
  SimulatedTeeVerifier,
  StakedPhaVotes,
  StakingHub,
  StakingVault,
  VaultAllocator,
  WorkerRegistry,
} from "../types/ethers-contracts/index.js";
import type { Deployment } from "./deployment.js";
import { DevkitError, decodeErrorsWith, sendTx } from "./errors.js";

/** The deployed network: typed contract handles bound to one signer, and where they came from. */
export interface AgentNetwork {
  deployment: Deployment;
  signer: Signer;
  pha: PhalaToken;
  agentRegistry: AgentRegistry;
  workerRegistry: WorkerRegistry;
  simulatedVerifier: SimulatedTeeVerifier;
  quorumVerifier: GatekeeperQuorumVerifier;
  keyRegistry: KeyRegistry;
  router: AgentRouter;
  stakingHub: StakingHub;
  stakingVault: StakingVault;
  miningRewards: MiningRewards;
  poolPerformance: PoolPerformance;
  vaultAllocator: VaultAllocator;
  stakeVotes: StakedPhaVotes;
  timelock: PhalaTimelock;
  governor: PhalaGovernor;
}

/** Deployment key -> artifact name. */
const CONTRACTS = {
  pha: "PhalaToken",
  agentRegistry: "AgentRegistry",
  workerRegistry: "WorkerRegistry",
  simulatedVerifier: "SimulatedTeeVerifier",
  quorumVerifier: "GatekeeperQuorumVerifier",
  keyRegistry: "KeyRegistry",
  router: "AgentRouter",
  stakingHub: "StakingHub",
  stakingVault: "StakingVault",
  miningRewards: "MiningRewards",
  poolPerformance: "PoolPerformance",
  vaultAllocator: "VaultAllocator",
  stakeVotes: "StakedPhaVotes",
  timelock: "PhalaTimelock",
  governor: "PhalaGovernor",
} as const;

/**
 * Typed handles to a deployment's contracts, bound to `signer`. Refuses a deployment made for
 * another chain, or one whose router has no code (a local node restarted since it was written).
 */
export async function attachAgentNetwork(connection: NetworkConnection, deployment: Deployment, signer: Signer): Promise<AgentNetwork> {
  const { chainId } = await connection.ethers.provider.getNetwork();
  if (Number(chainId) !== deployment.chainId) {
    throw new DevkitError(`the deployment is for chain ${deployment.chainId}, network ${connection.networkName} is chain ${chainId}`);
  }
  const handles: Record<string, unknown> = {};
  for (const [key, artifact] of Object.entries(CONTRACTS)) {
    const address = deployment.contracts[key];
    if (address === undefined) throw new DevkitError(`the deployment has no ${key} address`);
    const contract = await connection.ethers.getContractAt(artifact, address, signer);
    decodeErrorsWith(contract.interface);
    handles[key] = contract;
  }
  if ((await connection.ethers.provider.getCode(deployment.contracts.router as string)) === "0x") {
    throw new DevkitError(
      `no router at ${deployment.contracts.router} on ${connection.networkName}: the deployment file is stale (did the local node restart?). ` +
        "Restart `npm run local`, or deploy again.",
    );
  }
  return { deployment, signer, ...handles } as unknown as AgentNetwork;
}

/** The same network with every handle bound to another signer. */
export function withSigner(net: AgentNetwork, signer: Signer): AgentNetwork {
  const rebound: Record<string, unknown> = { deployment: net.deployment, signer };
  for (const key of Object.keys(CONTRACTS)) {
    rebound[key] = (net[key as keyof typeof CONTRACTS] as unknown as { connect(s: Signer): unknown }).connect(signer);
  }
  return rebound as unknown as AgentNetwork;
}

/** Lets `spender` take `amount` PHA wei of the signer's, after checking the signer holds it. */
export async function allowPha(net: AgentNetwork, spender: string, amount: bigint): Promise<void> {
  const owner = await net.signer.getAddress();
  const balance = await net.pha.balanceOf(owner);
  if (balance < amount) throw new DevkitError(`${owner} holds ${formatEther(balance)} PHA, ${formatEther(amount)} are needed`);
  if ((await net.pha.allowance(owner, spender)) < amount) await sendTx("pha.approve", () => net.pha.approve(spender, amount));
}
