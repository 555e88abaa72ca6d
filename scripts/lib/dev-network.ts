import { Wallet, type Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import type {
  AgentRegistry,
  AgentRouter,
  GatekeeperQuorumVerifier,
  KeyRegistry,
  PhalaToken,
  SimulatedTeeVerifier,
  StakingHub,
  StakingVault,
  WorkerRegistry,
} from "../../types/ethers-contracts/index.js";
import { SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../../protocol/attestation.js";
import { signWorkerRegistration, type RegistrationSigner } from "../../protocol/worker-registration.js";
import { deployAgentNetwork, type Deployment } from "./deploy-network.js";

/** The deployed network with typed contract handles. */
export interface DevNetwork {
  deployment: Deployment;
  pha: PhalaToken;
  agentRegistry: AgentRegistry;
  workerRegistry: WorkerRegistry;
  simulatedVerifier: SimulatedTeeVerifier;
  quorumVerifier: GatekeeperQuorumVerifier;
  keyRegistry: KeyRegistry;
  router: AgentRouter;
  stakingHub: StakingHub;
  stakingVault: StakingVault;
}

/** Deploys the whole network (Ignition) and returns typed handles bound to the deployer. */
export async function deployDevNetwork(connection: NetworkConnection): Promise<DevNetwork> {
  const deployment = await deployAgentNetwork(connection);
  const [deployer] = await connection.ethers.getSigners();
  const at = async <T>(artifact: string, key: string) => {
    const address = deployment.contracts[key];
    if (address === undefined) throw new Error(`deployment has no ${key}`);
    return (await connection.ethers.getContractAt(artifact, address, deployer)) as unknown as T;
  };
  return {
    deployment,
    pha: await at<PhalaToken>("PhalaToken", "pha"),
    agentRegistry: await at<AgentRegistry>("AgentRegistry", "agentRegistry"),
    workerRegistry: await at<WorkerRegistry>("WorkerRegistry", "workerRegistry"),
    simulatedVerifier: await at<SimulatedTeeVerifier>("SimulatedTeeVerifier", "simulatedVerifier"),
    quorumVerifier: await at<GatekeeperQuorumVerifier>("GatekeeperQuorumVerifier", "quorumVerifier"),
    keyRegistry: await at<KeyRegistry>("KeyRegistry", "keyRegistry"),
    router: await at<AgentRouter>("AgentRouter", "router"),
    stakingHub: await at<StakingHub>("StakingHub", "stakingHub"),
    stakingVault: await at<StakingVault>("StakingVault", "stakingVault"),
  };
}

/**
 * Brings a simulated-TEE worker online as an operator would: open a pool, self-stake, register
 * the enclave key with simulated evidence (report data bound to key, chain and registry) of
 * `measurement` (approved by governance) and the key's consent for this operator, and add it to
 * the pool. The deployer funds the operator's stake.
 */
export async function addSimulatedWorker(
  net: DevNetwork,
  operator: Signer,
  enclave: RegistrationSigner,
  stake: bigint,
  endpoint: string,
  measurement: string = SIMULATED_MEASUREMENT,
): Promise<bigint> {
  const operatorAddress = await operator.getAddress();
  await (await net.pha.transfer(operatorAddress, stake)).wait();
  await (await net.pha.connect(operator).approve(await net.stakingHub.getAddress(), stake)).wait();
  const poolId = await net.stakingHub.connect(operator).createPool.staticCall(1_000);
  await (await net.stakingHub.connect(operator).createPool(1_000)).wait();
  await (await net.stakingHub.connect(operator).stake(poolId, stake)).wait();

  const provider = net.router.runner!.provider!;
  const { chainId } = await provider.getNetwork();
  const block = await provider.getBlock("latest");
  const registry = await net.workerRegistry.getAddress();
  const evidence = encodeSimulatedEvidence(reportDataFor(enclave.address, chainId, registry), measurement, BigInt(block!.timestamp));
  const consent = await signWorkerRegistration(enclave, chainId, registry, operatorAddress, BigInt(block!.timestamp + 3600));
  await (
    await net.workerRegistry
      .connect(operator)
      .registerWorker(enclave.address, await net.simulatedVerifier.getAddress(), evidence, endpoint, consent.deadline, consent.signature)
  ).wait();
  await (await net.stakingHub.connect(operator).addWorker(poolId, enclave.address)).wait();
  return poolId;
}

/** Opens a billing account owned by the deployer, allows `consumers`, and funds it. */
export async function openFundedAccount(net: DevNetwork, consumers: string[], amount: bigint): Promise<bigint> {
  const accountId = await net.router.createAccount.staticCall();
  await (await net.router.createAccount()).wait();
  for (const consumer of consumers) await (await net.router.addConsumer(accountId, consumer)).wait();
  await (await net.pha.approve(await net.router.getAddress(), amount)).wait();
  await (await net.router.fund(accountId, amount)).wait();
  return accountId;
}

export { Wallet };
