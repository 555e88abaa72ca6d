/**
 * Test kit: the whole agent network inside a Hardhat test, with real agents answering.
 *
 *   const connection = await network.create();
 *   const kit = await startAgentTestbed(connection, { agents: { score: "agents/review-score/index.ts" } });
 *   const consumer = await connection.ethers.deployContract("ReviewScore", [kit.router, kit.accountId, kit.agents.score.agentId]);
 *   await kit.addConsumer(consumer);
 *   await consumer.ask("great launch");
 *   const [answer] = await kit.answerPending();   // the agent ran in the worker's sandbox; the answer is settled
 *   await kit.close();
 *
 * On a fork of a node where the network is already deployed (e.g. `npm run local`), pass its
 * `deployment`: the kit attaches to it and answers for the local network's development workers.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Addressable, Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { DEV_ROLES } from "../bridge/dev/accounts.js";
import type { InputDecryptor } from "../protocol/decryptor.js";
import type { AgentRouter } from "../types/ethers-contracts/index.js";
import { answerPending, timeOutExpired, type Answer } from "./answerer.js";
import { addConsumer, createAccount, fundAccount } from "./billing.js";
import { attachAgentNetwork, withSigner, type AgentNetwork } from "./contracts.js";
import { registerAgent, type RegisterOptions, type RegisteredAgent } from "./agents.js";
import { deployAgentNetwork, type AgentNetworkParameters, type Deployment } from "./deployment.js";
import { devWorkerSeed, startDevWorker, type DevWorker } from "./dev-worker.js";
import { bringWorkerOnline, fundOperator } from "./workers.js";

export type { Answer } from "./answerer.js";
export type { RegisteredAgent } from "./agents.js";
/** Runs an agent on one input in the worker's sandbox, without a chain (what `agent:run` does): unit tests of an agent. */
export { runAgentLocally, type LocalRun, type LocalRunOptions } from "./run-agent.js";

const PHA = 10n ** 18n;

export interface TestbedOptions {
  /** Agents to register at start, by name: entry file (TypeScript/JavaScript, see worker/sdk). */
  agents?: Record<string, string>;
  /** PHA wei put into the kit's billing account (default 1,000 PHA). */
  accountFunding?: bigint;
  /** Ignition parameters of the AgentNetwork module (e.g. `{ routerConfig: {...} }`). */
  parameters?: AgentNetworkParameters;
  /** An existing deployment (a fork): attach instead of deploying, and answer for its development workers. */
  deployment?: Deployment;
  /** Hosts agents may fetch; agents' own `fetch` is refused elsewhere (default none). */
  egressAllow?: string[];
  /** An OpenAI-compatible endpoint for agents' `llm.chat`. */
  llm?: { baseUrl: string; model: string; apiKey?: string };
  /** Opens confidential inputs and secrets (e.g. a ClusterKeyring holding a test cluster key); default: none open. */
  decryptor?: InputDecryptor;
}

export interface AgentTestbed {
  /** Contract handles bound to the test's user (signer 0): billing account owner, agent owner. */
  net: AgentNetwork;
  router: AgentRouter;
  /** The kit's funded billing account (owner: signer 0). */
  accountId: bigint;
  agents: Record<string, RegisteredAgent>;
  /** Workers whose enclave keys the kit holds (simulated TEE). */
  workers: DevWorker[];
  /** Bundles and registers another agent, owned by signer 0. */
  registerAgent(entry: string, options?: RegisterOptions): Promise<RegisteredAgent>;
  /** Lets a consumer contract (or address) spend the kit's billing account. */
  addConsumer(consumer: string | Addressable): Promise<void>;
  /** Runs every pending request's agent in the worker's sandbox and settles the signed answers. */
  answerPending(): Promise<Answer[]>;
  /** Times out every pending request past its deadline (refund + slash), as the bridge's sweep does. */
  timeOutExpired(): Promise<bigint[]>;
  /** Stops the workers (sandbox threads and HTTP servers). */
  close(): Promise<void>;
}

/** Deploys (or attaches to) the network on `connection`, brings a staked simulated worker online, and opens a funded billing account. */
export async function startAgentTestbed(connection: NetworkConnection, options: TestbedOptions = {}): Promise<AgentTestbed> {
  const signers = await connection.ethers.getSigners();
  const user = signers[DEV_ROLES.deployer] as Signer;
  const relayer = signers[DEV_ROLES.bridge] as Signer;
  const operator = signers[DEV_ROLES.operator] as Signer;
  const operatorAddress = await operator.getAddress();
  const fromBlock = await connection.ethers.provider.getBlockNumber();
  const deployment = options.deployment ?? (await deployAgentNetwork(connection, { outDir: null, parameters: options.parameters }));
  const net = await attachAgentNetwork(connection, deployment, user);
  // The kit's workers read bundles from this store (a local network's own, on a fork of one).
  const bundleStore = deployment.local?.bundles ?? (await mkdtemp(path.join(tmpdir(), "agent-testbed-bundles-")));
  const { chainId } = await connection.ethers.provider.getNetwork();
  const startWorkerWithSeed = (seed: string) =>
    startDevWorker({
      seed,
      chainId,
      workerRegistry: deployment.contracts.workerRegistry as string,
      agentRegistry: deployment.contracts.agentRegistry as string,
      router: deployment.contracts.router as string,
      bundleStore,
      rpc: connection.ethers.provider,
      operator: operatorAddress,
      egressAllow: options.egressAllow,
      llm: options.llm && { timeoutMs: 60_000, ...options.llm },
      decryptor: options.decryptor,
    });

  const workers: DevWorker[] = [];
  try {
    if (options.deployment === undefined) {
      const worker = await startWorkerWithSeed(devWorkerSeed(1));
      workers.push(worker);
      const stakeAmount = 10_000n * PHA;
      // The deployer holds the PHA supply on a fresh deployment: it pays the operator's stake.
      await fundOperator(net, operator, stakeAmount);
      const attestation = await worker.attest();
      await bringWorkerOnline(withSigner(net, operator), attestation, { endpoint: worker.url, stake: stakeAmount });
    } else {
      for (const local of deployment.local?.workers ?? []) {
        const n = Number(/(\d+)$/.exec(local.name)?.[1] ?? NaN);
        if (Number.isInteger(n)) workers.push(await startWorkerWithSeed(devWorkerSeed(n)));
      }
    }
    const accountId = await createAccount(net);
    await fundAccount(net, accountId, options.accountFunding ?? 1_000n * PHA);
    const agents: Record<string, RegisteredAgent> = {};
    for (const [name, entry] of Object.entries(options.agents ?? {})) agents[name] = await registerAgent(net, entry, { bundleStore });

    return {
      net,
      router: net.router,
      accountId,
      agents,
      workers,
      registerAgent: (entry, registerOptions) => registerAgent(net, entry, { bundleStore, ...registerOptions }),
      addConsumer: async (consumer) => addConsumer(net, accountId, typeof consumer === "string" ? consumer : await consumer.getAddress()),
      answerPending: () => answerPending(net, workers, relayer, fromBlock),
      timeOutExpired: () => timeOutExpired(net, relayer, fromBlock),
      close: async () => {
        await Promise.all(workers.map((w) => w.close()));
      },
    };
  } catch (error) {
    await Promise.all(workers.map((w) => w.close()));
    throw error;
  }
}
