import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Wallet, type Signer } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { pino, type DestinationStream } from "pino";
import { DEV_ROLES, devKey } from "../bridge/dev/accounts.js";
import { startLocalNode, type LocalNode } from "../bridge/dev/local-node.js";
import { Bridge } from "../bridge/src/bridge.js";
import { parseConfig as parseBridgeConfig, type BridgeConfigInput } from "../bridge/src/config.js";
import { createLogger } from "../bridge/src/logger.js";
import { registerAgent, type RegisteredAgent } from "./agents.js";
import { addConsumer, createAccount, fundAccount } from "./billing.js";
import { attachAgentNetwork, withSigner, type AgentNetwork } from "./contracts.js";
import { deployAgentNetwork, deploymentPath, writeDeployment, type AgentNetworkParameters, type Deployment } from "./deployment.js";
import { devWorkerSeed, startDevWorker, type DevWorker } from "./dev-worker.js";
import { sendTx } from "./errors.js";
import { setUpFunctions, type FunctionsSetup } from "./functions.js";
import { bringWorkerOnline, fundOperator } from "./workers.js";

const PHA = 10n ** 18n;

export interface LocalWorkerSpec {
  name: string;
  /** Development worker number: its enclave key is devWorkerSeed(n) (public). */
  n: number;
  /** PHA wei the operator stakes in the worker's own pool (default 10,000 PHA). */
  stake?: bigint;
  /** Put the worker in its pool now (default), or leave the staked pool out of sampling. */
  inPool?: boolean;
  /**
   * Development account (HD index) that registers the worker and operates its pool; default the
   * shared operator (account 3). A request's backups are never drawn among its worker's operator's
   * workers, so workers meant to back each other up need different operators. An account the node
   * did not fund gets gas money from the deployer.
   */
  operator?: number;
}

export interface LocalNetworkOptions {
  node?: "anvil" | "hardhat";
  /** RPC port (default: a free one). */
  port?: number;
  /** Seconds between blocks (default 1). */
  blockTime?: number;
  /** "mixed": every transaction mined at once and a block every blockTime (default); "interval": blocks only every blockTime. */
  mining?: "mixed" | "interval";
  /** Ignition parameters of the AgentNetwork module. */
  parameters?: AgentNetworkParameters;
  workers?: LocalWorkerSpec[];
  /** PHA wei in the billing account (default 10,000 PHA). */
  accountFunding?: bigint;
  /** Agents registered at start, by name (owner: account 0): entry file, and price in PHA wei (default 0). */
  agents?: Record<string, { entry: string; price?: bigint }>;
  /** Chainlink Functions: register the functions runtime agent and deploy a FunctionsRouterAdapter (owner: account 0). */
  functions?: boolean;
  /** Hosts the workers' agents may fetch (worker `egressAllow`; default none). */
  egressAllow?: string[];
  /** Overrides of the bridge's config (confirmations, schedule, dispatch, ...). */
  bridge?: Partial<BridgeConfigInput>;
  /** Where the bridge's store (reset at start), its config and the logs go. */
  workDir: string;
  /** Where deployments/<network>.json is written; null: not written. */
  deploymentsDir?: string | null;
  /** Where the bridge's JSON log lines go (default: <workDir>/bridge.log). */
  bridgeLog?: DestinationStream;
}

export interface LocalNetwork {
  node: LocalNode;
  connection: NetworkConnection;
  /** Handles bound to account 0: deployer, owner of the billing account and of the agents. */
  net: AgentNetwork;
  /** Handles bound to the operator of the workers and their pools (account 3). */
  operatorNet: AgentNetwork;
  deployment: Deployment;
  accountId: bigint;
  workers: Record<string, { worker: DevWorker; poolId: bigint }>;
  agents: Record<string, RegisteredAgent>;
  /** With `functions`: the adapter, the runtime agent and the DON id routed to it. */
  functions?: FunctionsSetup;
  bridge: Bridge;
  bridgeConfigFile: string;
  bridgeLogFile: string;
  /** Stops the bridge, the workers and the chain. */
  stop(): Promise<void>;
}

/** The network's handles bound to development account `index` (an operator), funded with gas money if the node did not. */
async function devOperator(connection: NetworkConnection, net: AgentNetwork, index: number): Promise<AgentNetwork> {
  const wallet = new Wallet(devKey(index), connection.ethers.provider);
  if ((await connection.ethers.provider.getBalance(wallet.address)) === 0n)
    await (await net.signer.sendTransaction({ to: wallet.address, value: 10n ** 19n })).wait();
  return withSigner(net, wallet);
}

/**
 * A local agent network on its own chain, the way `npm run local` and the demo run it: anvil (or
 * `hardhat node`), every contract deployed through the Ignition module, simulated-TEE workers
 * registered and staked in their own pools, a funded billing account owned by account 0 (which is
 * also its consumer, so tasks can send requests), the bridge, and the deployment file the tasks
 * read. Every part runs in this process except the chain; `stop()` ends them all.
 */
export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const blockTime = options.blockTime ?? 1;
    const node = await startLocalNode({ kind: options.node ?? "anvil", port: options.port, blockTime, mixedMining: (options.mining ?? "mixed") === "mixed" });
    stops.push(() => node.stop());
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    stops.push(() => connection.close());

    const deployment = await deployAgentNetwork(connection, { outDir: null, parameters: options.parameters });
    const signers = await connection.ethers.getSigners();
    const net = await attachAgentNetwork(connection, deployment, signers[DEV_ROLES.deployer] as Signer);
    const operatorNet = withSigner(net, signers[DEV_ROLES.operator] as Signer);
    const { chainId } = await connection.ethers.provider.getNetwork();
    // The deployer holds the PHA supply: its votes pass proposals once delegated (gov:* tasks).
    await sendTx("pha.delegate", () => net.pha.delegate(signers[DEV_ROLES.deployer] as Signer));

    mkdirSync(options.workDir, { recursive: true });
    // Workers fetch bundles over http(s) only; locally they read this content-addressed store,
    // which agent:register fills (its path is in the deployment file).
    const bundleStore = path.resolve(options.workDir, "bundles");
    const workers: LocalNetwork["workers"] = {};
    for (const spec of options.workers ?? [{ name: "worker-1", n: 1 }]) {
      const workerOperator =
        spec.operator === undefined || spec.operator === DEV_ROLES.operator ? operatorNet : await devOperator(connection, net, spec.operator);
      const worker = await startDevWorker({
        seed: devWorkerSeed(spec.n),
        chainId,
        workerRegistry: deployment.contracts.workerRegistry as string,
        agentRegistry: deployment.contracts.agentRegistry as string,
        router: deployment.contracts.router as string,
        bundleStore,
        rpc: node.url,
        operator: await workerOperator.signer.getAddress(),
        egressAllow: options.egressAllow,
        logger: pino({ level: "info", name: spec.name }, pino.destination({ dest: path.join(options.workDir, `${spec.name}.log`), sync: false })),
      });
      stops.push(() => worker.close());
      const stakeAmount = spec.stake ?? 10_000n * PHA;
      await fundOperator(net, workerOperator.signer, stakeAmount);
      const poolId = await bringWorkerOnline(workerOperator, await worker.attest(), { endpoint: worker.url, stake: stakeAmount, inPool: spec.inPool });
      workers[spec.name] = { worker, poolId };
    }
    // A request's backups are drawn on the pools' weights at the start of its day (StakingHub.sampleWorkerAt):
    // a day on, the stake just placed backs them.
    await node.rpc("evm_increaseTime", [24 * 3600]);
    await node.rpc("evm_mine", []);

    const accountId = await createAccount(net);
    await fundAccount(net, accountId, options.accountFunding ?? 10_000n * PHA);
    await addConsumer(net, accountId, await net.signer.getAddress());
    const agents: Record<string, RegisteredAgent> = {};
    for (const [name, { entry, price }] of Object.entries(options.agents ?? {})) agents[name] = await registerAgent(net, entry, { price, bundleStore });
    const functions = options.functions ? await setUpFunctions(connection, net, { bundleStore }) : undefined;
    if (functions !== undefined) deployment.contracts.functionsRouter = await functions.adapter.getAddress();

    // The chain is new: a store left by an earlier run holds another chain's cursor and requests.
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path.join(options.workDir, `bridge.sqlite${suffix}`), { force: true });
    const bridgeLogFile = path.join(options.workDir, "bridge.log");
    const bridgeConfig = {
      rpcUrl: node.url,
      router: deployment.contracts.router as string,
      workerRegistry: deployment.contracts.workerRegistry as string,
      privateKey: devKey(DEV_ROLES.bridge),
      dbPath: path.join(options.workDir, "bridge.sqlite"),
      confirmations: 1,
      pollIntervalMs: 250,
      schedule: { sweep: "*/2 * * * * *" },
      http: { port: 0 },
      logLevel: "info" as const,
      ...options.bridge,
    };
    const bridgeConfigFile = path.join(options.workDir, "bridge.json");
    writeFileSync(bridgeConfigFile, JSON.stringify(bridgeConfig, null, 2) + "\n");
    const logDestination = options.bridgeLog ?? pino.destination({ dest: bridgeLogFile, sync: false, mkdir: true });
    const bridge = await Bridge.create(parseBridgeConfig(bridgeConfig), { logger: createLogger(bridgeConfig.logLevel, logDestination) });
    await bridge.start();
    stops.push(() => bridge.stop());

    deployment.local = {
      rpcUrl: node.url,
      accountId: accountId.toString(),
      workers: Object.entries(workers).map(([name, { worker, poolId }]) => ({
        name,
        address: worker.enclave.address,
        url: worker.url,
        poolId: poolId.toString(),
      })),
      bridge: { account: bridge.chain.account, http: `http://127.0.0.1:${bridge.httpPort}`, log: bridgeLogFile },
      agents: Object.fromEntries(Object.entries(agents).map(([name, agent]) => [name, agent.agentId.toString()])),
      bundles: bundleStore,
      ...(functions && { functions: { donName: functions.donName, donId: functions.donId, agentId: functions.agent.agentId.toString() } }),
    };
    if (options.deploymentsDir !== null) await writeDeployment(deploymentPath("localhost", options.deploymentsDir), deployment);

    return { node, connection, net, operatorNet, deployment, accountId, workers, agents, functions, bridge, bridgeConfigFile, bridgeLogFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
