/**
 * npm run local: a long-running local agent network for your own contracts and agents.
 * A chain on http://127.0.0.1:8545 (anvil; LOCAL_NODE=hardhat for `hardhat node`), every contract
 * deployed through the Ignition module, one simulated-TEE worker staked and registered, a funded
 * billing account, the example sentiment agent, and the bridge; deployments/localhost.json for
 * the tasks (`--network localhost`). Every contract belongs to the governance timelock: parameters
 * change through gov:propose / gov:vote / gov:queue / gov:execute (--fast-forward moves chain time
 * past the waits).
 * It also serves Chainlink Functions clients: the functions runtime agent and a FunctionsRouterAdapter
 * (the address to construct a FunctionsClient with) routing DON id "fun-phala-local-1" to it.
 * Ctrl-C stops everything.
 * Env: LOCAL_NODE (anvil), LOCAL_PORT (8545; another port needs RPC_URL for the tasks),
 * LOCAL_BLOCK_TIME (1 s), LOCAL_DIR (.local: bridge store, config and logs), LOCAL_DEPLOYMENTS (deployments),
 * LOCAL_EGRESS_ALLOW (comma-separated hosts agents may fetch, e.g. "api.coingecko.com" or "*"; default none).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { formatEther, type Log } from "ethers";
import { DEV_ROLES } from "../bridge/dev/accounts.js";
import { statusName } from "../protocol/status.js";
import { deploymentPath } from "./deployment.js";
import { startLocalNetwork, type LocalNetwork } from "./local-network.js";

const NODE = (process.env.LOCAL_NODE ?? "anvil") as "anvil" | "hardhat";
const PORT = Number(process.env.LOCAL_PORT ?? 8545);
const BLOCK_TIME = Number(process.env.LOCAL_BLOCK_TIME ?? 1);
const WORK_DIR = process.env.LOCAL_DIR ?? ".local";
const DEPLOYMENTS_DIR = process.env.LOCAL_DEPLOYMENTS ?? "deployments";
const EGRESS_ALLOW = (process.env.LOCAL_EGRESS_ALLOW ?? "")
  .split(",")
  .map((host) => host.trim())
  .filter((host) => host !== "");

const bold = (text: string) => `\x1b[1m${text}\x1b[0m`;
const dim = (text: string) => `\x1b[2m${text}\x1b[0m`;

async function portAnswers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

function printSummary(local: LocalNetwork): void {
  const { deployment } = local;
  const network = PORT === 8545 ? "--network localhost" : `--network localhost  ${dim(`(with RPC_URL=${local.node.url})`)}`;
  const examplePrefix = PORT === 8545 ? "" : `RPC_URL=${local.node.url} `;
  console.log(bold(`Local agent network on ${local.node.url} (${NODE}, chain ${deployment.chainId}, a block every ${BLOCK_TIME} s)`));
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(18)} ${address}`);
  for (const [name, { worker, poolId }] of Object.entries(local.workers)) {
    console.log(`  ${name.padEnd(18)} ${worker.enclave.address} (SIMULATED TEE) at ${worker.url}, staked in pool ${poolId}`);
  }
  console.log(`  ${"billing account".padEnd(18)} #${local.accountId}, owned by account 0 (also its consumer, for agent:request)`);
  for (const [name, agent] of Object.entries(local.agents)) console.log(`  ${`agent ${name}`.padEnd(18)} #${agent.agentId} (${agent.bundlePath})`);
  if (local.functions !== undefined) {
    const { adapter, agent, donName } = local.functions;
    console.log(
      `  ${"Chainlink Functions".padEnd(18)} router ${adapter.target} (FunctionsRouterAdapter), DON id "${donName}" -> functions agent #${agent.agentId}`,
    );
  }
  console.log(`  ${"agent egress".padEnd(18)} ${EGRESS_ALLOW.length === 0 ? "none (set LOCAL_EGRESS_ALLOW to let agents fetch)" : EGRESS_ALLOW.join(", ")}`);
  console.log(
    `  ${"bridge".padEnd(18)} ${local.bridge.chain.account}, health ${deployment.local?.bridge.http}/healthz, config ${local.bridgeConfigFile}, log ${local.bridgeLogFile}`,
  );
  console.log(
    `  ${"governance".padEnd(18)} the timelock owns every contract; proposals by PHA votes (account 0 holds the supply, self-delegated); guardian account ${DEV_ROLES.guardian} may pause the router`,
  );
  console.log(`  ${"deployment".padEnd(18)} ${deploymentPath("localhost", DEPLOYMENTS_DIR)}`);
  console.log("");
  console.log(bold("Next, in another terminal:"));
  console.log(`  npx hardhat agent:request --agent 1 --input "A great launch" ${network}`);
  console.log(`  npx hardhat agent:run agents/review-score/index.ts --input-types string --input-values '["A great launch"]' --decode int256,string`);
  console.log(`  npx hardhat agent:register agents/review-score/index.ts ${network}`);
  console.log(`  ${examplePrefix}AGENT_ID=<its id> npx hardhat run scripts/examples/review-score.ts --network localhost`);
  console.log(`  npx hardhat request:status <request id> ${network}`);
  console.log(`  npx hardhat gov:propose --contract router --function setMaxInputBytes --args '[32768]' --description "Longer inputs" ${network}`);
  console.log(`  npx hardhat gov:status ${network}   ${dim("(then gov:vote / gov:queue / gov:execute <id> --fast-forward)")}`);
  console.log(
    `  ${examplePrefix}npx hardhat run scripts/examples/chainlink-functions.ts --network localhost   ${dim("(an unmodified Chainlink Functions consumer)")}`,
  );
  console.log(`  npm run bridge -- --config ${local.bridgeConfigFile} requests`);
  console.log("");
  console.log(bold("Requests as they happen (Ctrl-C stops everything):"));
}

/** Prints the router's request lifecycle events until `stopped`. */
async function watchRequests(local: LocalNetwork, stopped: () => boolean): Promise<void> {
  const router = local.net.router;
  const provider = local.connection.ethers.provider;
  let from = (await provider.getBlockNumber()) + 1;
  // An account consumer gets no callback: "callback FAILED" is only news for a contract.
  const consumers = new Map<bigint, string>();
  const isContract = async (requestId: bigint) => {
    const consumer = consumers.get(requestId);
    return consumer === undefined || (await provider.getCode(consumer)) !== "0x";
  };
  while (!stopped()) {
    await sleep(1_000);
    try {
      const latest = await provider.getBlockNumber();
      if (latest < from) continue;
      const logs = (await router.queryFilter("*" as never, from, latest)) as Log[];
      from = latest + 1;
      for (const log of logs) {
        const event = router.interface.parseLog(log);
        if (event === null) continue;
        const { args } = event;
        if (event.name === "AgentRequested") {
          consumers.set(args.requestId as bigint, args.request.consumer as string);
          console.log(`  #${args.requestId} requested: agent ${args.agentId} by ${args.request.consumer}, worker ${args.worker}`);
        } else if (event.name === "RequestFulfilled") {
          const callback = args.callbackSucceeded || !(await isContract(args.requestId as bigint)) ? "" : ", callback FAILED";
          console.log(`  #${args.requestId} answered: ${statusName(Number(args.status))}${callback}, fee ${formatEther(args.totalFee)} PHA`);
        } else if (event.name === "RequestTimedOut") {
          console.log(`  #${args.requestId} timed out: ${formatEther(args.refund)} PHA refunded`);
        }
      }
    } catch (error) {
      if (!stopped()) console.log(dim(`  (watching the router failed: ${(error as Error).message})`));
    }
  }
}

async function main(): Promise<void> {
  if (await portAnswers(PORT)) {
    throw new Error(
      `something already listens on 127.0.0.1:${PORT} (another \`npm run local\`, or a node?). Stop it, or pick another port: LOCAL_PORT=8546 npm run local, then RPC_URL=http://127.0.0.1:8546 for the tasks.`,
    );
  }
  console.log(dim(`Starting ${NODE}, deploying, bringing a worker and the bridge up...`));
  const local = await startLocalNetwork({
    node: NODE,
    port: PORT,
    blockTime: BLOCK_TIME,
    workDir: WORK_DIR,
    deploymentsDir: DEPLOYMENTS_DIR,
    agents: { sentiment: { entry: "agents/sentiment/index.ts" } },
    functions: true,
    egressAllow: EGRESS_ALLOW,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the bridge, the worker and ${NODE}...`);
    local.stop().then(
      () => {
        console.log("Stopped.");
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`unclean stop: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, then relayed by npm),
  // and with no listener left the second one would end it before everything has stopped.
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  printSummary(local);
  await watchRequests(local, () => stopping);
}

main().catch((error: unknown) => {
  console.error(`npm run local failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
