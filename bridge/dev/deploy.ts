import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, ContractFactory, JsonRpcProvider, NonceManager, Wallet, keccak256, parseEther, toUtf8Bytes, type InterfaceAbi } from "ethers";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../../protocol/attestation.js";
import { signWorkerRegistration } from "../../protocol/worker-registration.js";
import { DEV_ROLES, devKey } from "./accounts.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ARTIFACTS: Record<string, string> = {
  PhalaToken: "contracts/token/PhalaToken.sol",
  AgentRegistry: "contracts/agents/AgentRegistry.sol",
  WorkerRegistry: "contracts/workers/WorkerRegistry.sol",
  SimulatedTeeVerifier: "contracts/workers/SimulatedTeeVerifier.sol",
  AgentRouter: "contracts/core/AgentRouter.sol",
  MockWorkerStaking: "contracts/mocks/MockWorkerStaking.sol",
  StakingHub: "contracts/staking/StakingHub.sol",
  AgentAnswerBook: "contracts/examples/AgentAnswerBook.sol",
  SentimentOracle: "contracts/examples/SentimentOracle.sol",
  BatchRequester: "test/bridge/mocks/BatchRequester.sol",
};

export function artifact(name: string): { abi: InterfaceAbi; bytecode: string } {
  const source = ARTIFACTS[name];
  if (!source) throw new Error(`unknown artifact ${name}`);
  const path = join(ROOT, "artifacts", source, `${name}.json`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { abi: InterfaceAbi; bytecode: string };
  } catch (error) {
    throw new Error(`cannot read ${path} (run \`npx hardhat build\` first): ${(error as Error).message}`, { cause: error });
  }
}

const PHA = (n: string | number) => parseEther(String(n));
const ATTESTATION_VALIDITY_S = 86_400;
const MAX_INPUT_BYTES = 4_096;
const POOL_COMMISSION_BPS = 1_000;
/** StakingHub parameters for local chains: 1,000 PHA per worker, 20% slashed for equivocation (a timeout's slash is the router's timeoutPenaltyBps of the worker fee). */
const STAKING_PARAMS = {
  minStakePerWorker: PHA(1_000),
  unbondingPeriod: 86_400,
  commissionChangeDelay: 86_400,
  equivocationSlashBps: 2_000,
  minCommissionBps: 0,
  maxCommissionBps: 5_000,
  /** Operator bond per worker, slashed before any staker (StakingHub "operator bond"). */
  minBondPerWorker: PHA(10),
};
/** The bond each dev pool posts: ten times the minimum, so a pool stays drawn through a few missed windows. */
const POOL_BOND = PHA(100);

export interface StackOptions {
  /** Seconds from request to deadline (router config; minimum 30). */
  requestTimeout?: number;
  /** Router maxPendingPerWorker; default the router's upper bound (dev stacks and benchmarks send bursts to one worker). */
  maxPendingPerWorker?: number;
  agentPrice?: bigint;
  workerFee?: bigint;
  callbackGasLimit?: number;
  /** Fund of the billing account, in PHA wei. */
  funding?: bigint;
  agentCode?: string;
  /** Registered code hash; default keccak256 of agentCode. */
  agentCodeHash?: string;
  agentUri?: string;
  /**
   * "mock" (default): MockWorkerStaking, an explicit worker list (tests steer assignment).
   * "hub": the real StakingHub; each worker gets its own pool, self-staked by the operator.
   */
  staking?: "mock" | "hub";
  /** PHA the operator self-stakes in each worker's pool ("hub" only). */
  poolStake?: bigint;
  /**
   * Router relayGasPerSecond (governance): the gas per second the chain carries for answers, which
   * bounds the relay gas pending requests may hold (times the request timeout) and prices the
   * capacity fee. Default the router's own (a public L1's share); a benchmark on a local chain
   * sets what its blocks carry, so the offered load fits the capacity as it would on such a chain.
   */
  relayGasPerSecond?: number;
}

export interface WorkerSpec {
  key: string;
  endpoint: string;
  /**
   * Private key of the account that registers (and with "hub" staking operates) this worker; default
   * the stack's shared operator. The deployer gives it gas money. Backups are never drawn among the
   * primary's operator's workers, so workers that back each other up need different operators.
   */
  operatorKey?: string;
  /** "hub" staking only: add the worker to its pool now (default) or leave it out of sampling. */
  inPool?: boolean;
}

export interface Stack {
  agentOwner: string;
  treasury: string;
  provider: JsonRpcProvider;
  chainId: bigint;
  deployer: NonceManager;
  token: Contract;
  agents: Contract;
  workers: Contract;
  router: Contract;
  staking: Contract;
  /** The operator of every worker without an `operatorKey` (and of its pool with "hub" staking). */
  operator: NonceManager;
  /** Pool id of each worker's pool, by worker address ("hub" staking only). */
  pools: Record<string, bigint>;
  requester: Contract;
  accountId: bigint;
  agentId: bigint;
  addresses: Record<string, string>;
}

export async function deploy(name: string, signer: NonceManager, args: unknown[]): Promise<Contract> {
  const { abi, bytecode } = artifact(name);
  const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

export async function send(contract: Contract, method: string, ...args: unknown[]): Promise<void> {
  const tx = (await contract.getFunction(method)(...args)) as { wait(): Promise<unknown> };
  await tx.wait();
}

/**
 * Deploys token, registries, simulated-TEE verifier, router and mock staking on a local chain,
 * registers `workers` (simulated attestation, with their endpoints), one agent, a funded billing
 * account and a BatchRequester consumer allowed on it.
 */
export async function deployStack(rpcUrl: string, workers: WorkerSpec[], options: StackOptions = {}): Promise<Stack> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, polling: true, pollingInterval: 50 });
  const deployer = new NonceManager(new Wallet(devKey(DEV_ROLES.deployer), provider));
  const sharedOperator = new NonceManager(new Wallet(devKey(DEV_ROLES.operator), provider));
  const agentOwner = new NonceManager(new Wallet(devKey(DEV_ROLES.agentOwner), provider));
  const treasury = new Wallet(devKey(DEV_ROLES.treasury)).address;
  const { chainId } = await provider.getNetwork();
  const deployerAddress = await deployer.getAddress();

  const token = await deploy("PhalaToken", deployer, [deployerAddress]);
  const agents = await deploy("AgentRegistry", deployer, []);
  const registry = await deploy("WorkerRegistry", deployer, [deployerAddress]);
  const verifier = await deploy("SimulatedTeeVerifier", deployer, [new Wallet(DEV_ATTESTATION_PRIVATE_KEY).address, ATTESTATION_VALIDITY_S]);
  const config = {
    workerFee: options.workerFee ?? PHA("0.5"),
    phaPerGas: 1_000_000_000n,
    protocolFeeBps: 500,
    timeoutPenaltyBps: 20_000,
    fulfillOverheadGas: 60_000,
    maxCallbackGasLimit: 2_000_000,
    requestTimeout: options.requestTimeout ?? 120,
    maxPendingPerWorker: options.maxPendingPerWorker ?? 1_024,
  };
  const router = await deploy("AgentRouter", deployer, [
    await token.getAddress(),
    await agents.getAddress(),
    await registry.getAddress(),
    deployerAddress,
    treasury,
    config,
    MAX_INPUT_BYTES,
  ]);
  const useHub = options.staking === "hub";
  const staking = useHub
    ? await deploy("StakingHub", deployer, [await token.getAddress(), await registry.getAddress(), treasury, STAKING_PARAMS, deployerAddress])
    : await deploy("MockWorkerStaking", deployer, []);
  const routerAddress = await router.getAddress();
  await send(router, "setStaking", await staking.getAddress());
  if (options.relayGasPerSecond !== undefined) await send(router, "setRelayGasPerSecond", options.relayGasPerSecond);
  if (useHub) await send(staking, "setRouter", routerAddress);
  await send(registry, "setRouter", routerAddress);
  await send(registry, "setVerifierApproved", await verifier.getAddress(), true);
  await send(registry, "setMeasurementApproved", SIMULATED_MEASUREMENT, true);

  const latest = await provider.getBlock("latest");
  const pools: Record<string, bigint> = {};
  const poolStake = options.poolStake ?? PHA(10_000);
  const registryAddress = await registry.getAddress();
  for (const worker of workers) {
    const enclave = new Wallet(worker.key);
    const address = enclave.address;
    const operator = worker.operatorKey === undefined ? sharedOperator : new NonceManager(new Wallet(worker.operatorKey, provider));
    if (worker.operatorKey !== undefined) await (await deployer.sendTransaction({ to: await operator.getAddress(), value: 10n ** 19n })).wait();
    const asOperator = staking.connect(operator) as Contract;
    const evidence = encodeSimulatedEvidence(reportDataFor(address, chainId, registryAddress), SIMULATED_MEASUREMENT, latest!.timestamp);
    const consent = await signWorkerRegistration(enclave, chainId, registryAddress, await operator.getAddress(), BigInt(latest!.timestamp + 3600));
    await send(
      registry.connect(operator) as Contract,
      "registerWorker",
      address,
      await verifier.getAddress(),
      evidence,
      worker.endpoint,
      consent.deadline,
      consent.signature,
    );
    if (!useHub) {
      await send(staking, "addWorker", address);
      continue;
    }
    const poolId = (await asOperator.getFunction("createPool").staticCall(POOL_COMMISSION_BPS)) as bigint;
    await send(asOperator, "createPool", POOL_COMMISSION_BPS);
    await send(token, "transfer", await operator.getAddress(), poolStake + POOL_BOND);
    await send(token.connect(operator) as Contract, "approve", await staking.getAddress(), poolStake + POOL_BOND);
    await send(asOperator, "stake", poolId, poolStake);
    await send(asOperator, "postBond", poolId, POOL_BOND);
    if (worker.inPool ?? true) await send(asOperator, "addWorker", poolId, address);
    pools[address] = poolId;
  }

  const code = options.agentCode ?? "export default function agent(input) { return 'echo:' + input; }";
  await send(
    agents.connect(agentOwner) as Contract,
    "registerAgent",
    options.agentCodeHash ?? keccak256(toUtf8Bytes(code)),
    options.agentUri ?? "data:,echo",
    options.agentPrice ?? PHA(1),
    [],
    true,
  );
  const agentId = 1n;
  const accountId = 1n;
  await send(router, "createAccount");

  const fee = (await router.getFunction("estimateFee")(agentId, options.callbackGasLimit ?? 100_000)) as bigint;
  const requester = await deploy("BatchRequester", deployer, [routerAddress, accountId, agentId, options.callbackGasLimit ?? 100_000, fee * 2n]);
  await send(router, "addConsumer", accountId, await requester.getAddress());
  const funding = options.funding ?? PHA(1_000_000);
  await send(token, "approve", routerAddress, funding);
  await send(router, "fund", accountId, funding);

  return {
    agentOwner: await agentOwner.getAddress(),
    treasury,
    provider,
    chainId,
    deployer,
    token,
    agents,
    workers: registry,
    router,
    staking,
    operator: sharedOperator,
    pools,
    requester,
    accountId,
    agentId,
    addresses: {
      token: await token.getAddress(),
      agentRegistry: await agents.getAddress(),
      workerRegistry: await registry.getAddress(),
      verifier: await verifier.getAddress(),
      router: routerAddress,
      staking: await staking.getAddress(),
      requester: await requester.getAddress(),
    },
  };
}

/** Polls for a receipt (ethers' tx.wait() can miss a receipt mined before it subscribed, with many concurrent sends). */
export async function waitMined(provider: JsonRpcProvider, hash: string, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) {
      if (receipt.status !== 1) throw new Error(`transaction ${hash} reverted`);
      return receipt.blockNumber;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`transaction ${hash} not mined within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
