/**
 * The whole lifecycle on a local chain, in one command (npm run demo):
 * local chain -> deploy -> two simulated-TEE workers -> bridge -> register the sentiment agent ->
 * a stream of requests from the SentimentOracle example consumer, each answer written back and
 * its fees settled -> one request to a worker that is down: timed out, refunded, worker slashed ->
 * the guardian pauses the router and a governance proposal unpauses it (every contract belongs to
 * the timelock) -> summary -> clean exit. Built on the same path as `npm run local` (devkit/local-network.ts).
 * Env: DEMO_NODE=anvil|hardhat (default anvil), DEMO_REQUESTS (default 12).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { formatEther, parseEther, toUtf8String, type Log } from "ethers";
import { DEV_ROLES } from "../bridge/dev/accounts.js";
import { freePort } from "../bridge/dev/local-node.js";
import { encodeAction, formatDuration, formatVotes, govern, guardianPause } from "../devkit/governance.js";
import { startLocalNetwork } from "../devkit/local-network.js";
import { DEFAULT_ROUTER_CONFIG } from "../ignition/modules/AgentNetwork.js";
import { REQUEST_GAS_MARGIN } from "../protocol/request.js";
import type { SentimentOracle } from "../types/ethers-contracts/index.js";

const NODE_KIND = (process.env.DEMO_NODE ?? "anvil") as "anvil" | "hardhat";
const REQUESTS = Number(process.env.DEMO_REQUESTS ?? 12);
const REQUEST_TIMEOUT_S = 30;
const BLOCK_TIME_S = 1;
const CONFIRMATIONS = 1;
const STREAM_INTERVAL_MS = 250;
const POOL_STAKE = parseEther("10000");
const AGENT_PRICE = parseEther("1");
const TEXTS = [
  "The launch was a great success and users love it",
  "Fees are terrible and the app is slow",
  "Not bad at all, a very reliable release",
  "The bridge failed again, what a scam",
  "Markets look bullish and strong today",
  "I hate waiting, this is the worst",
  "A fair and safe protocol",
  "Neutral statement about the weather",
];

const c = { dim: "\x1b[2m", green: "\x1b[32m", red: "\x1b[31m", yellow: "\x1b[33m", bold: "\x1b[1m", reset: "\x1b[0m" };
/** Clears the progress line first, so answers and the bar never share a line. */
const say = (text: string) => process.stdout.write(`\r\x1b[K${text}\n`);
const step = (text: string) => say(`${c.bold}==> ${text}${c.reset}`);
const pha = (wei: bigint) => `${Number(formatEther(wei)).toFixed(4)} PHA`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "phala-agent-demo-"));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  let interrupted = false;
  // `on`, not `once`: npm relays Ctrl-C a second time, which must not end the process mid-cleanup.
  process.on("SIGINT", () => {
    if (interrupted) return;
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  });
  try {
    step(`Starting a local chain (${NODE_KIND}, ${BLOCK_TIME_S}s blocks), deploying, registering two workers and the agent`);
    const local = await startLocalNetwork({
      node: NODE_KIND,
      port: await freePort(),
      blockTime: BLOCK_TIME_S,
      parameters: { routerConfig: { ...DEFAULT_ROUTER_CONFIG, requestTimeout: REQUEST_TIMEOUT_S } },
      workers: [
        { name: "alice", n: 1, stake: POOL_STAKE },
        // Bob's pool is staked but his worker joins it later, so the stream goes to alice.
        { name: "bob", n: 2, stake: POOL_STAKE, inPool: false },
      ],
      agents: { sentiment: { entry: "agents/sentiment/index.ts", price: AGENT_PRICE } },
      workDir: work,
      deploymentsDir: null,
      bridge: {
        confirmations: CONFIRMATIONS,
        pollIntervalMs: 200,
        dispatch: { timeoutMs: 5_000, backoffBaseMs: 500, backoffMaxMs: 4_000 },
        schedule: { sweep: "*/2 * * * * *" },
      },
    });
    cleanups.push(() => local.stop());
    const { node, net, operatorNet, accountId, bridge } = local;
    const provider = local.connection.ethers.provider;
    say(`    ${node.url}`);
    const agent = local.agents.sentiment!;
    const agentId = agent.agentId;
    step("Bundled the example agent (agents/sentiment)");
    say(`    ${agent.bundlePath} (${agent.bytes} bytes), code hash ${agent.codeHash}`);
    step("Deployed PHA, registries, simulated-TEE verifier, router, staking (Ignition module AgentNetwork); registered two workers and the agent");
    const alice = local.workers.alice!;
    const bob = local.workers.bob!;
    const aliceAddress = alice.worker.enclave.address;
    const bobAddress = bob.worker.enclave.address;
    const fee = await net.router.estimateFee(agentId, 120_000);
    const oracle = (await local.connection.ethers.deployContract(
      "SentimentOracle",
      [net.router, accountId, agentId, fee * 2n, net.signer],
      net.signer,
    )) as unknown as SentimentOracle;
    await oracle.waitForDeployment();
    await (await net.router.addConsumer(accountId, oracle)).wait();
    const routerAddress = await net.router.getAddress();
    for (const [name, address] of Object.entries({ ...local.deployment.contracts, sentimentOracle: await oracle.getAddress() }))
      say(`    ${name.padEnd(17)} ${address}`);
    say(`    workers           alice ${aliceAddress}, bob ${bobAddress} (simulated TEE), each in its own StakingHub pool of ${pha(POOL_STAKE)}`);
    say(`    billing account   #${accountId} funded with ${pha((await net.router.accountOf(accountId)).balance)}; max fee per request ${pha(fee * 2n)}`);
    await node.rpc("evm_setIntervalMining", [NODE_KIND === "anvil" ? BLOCK_TIME_S : BLOCK_TIME_S * 1000]);
    await node.rpc("evm_setAutomine", [false]);

    step("The workers (simulated TEE: NOT a real enclave) and the bridge");
    for (const [name, { worker }] of Object.entries(local.workers)) say(`    ${name} ${worker.url}`);
    say(
      `    bridge ${bridge.chain.account}, confirmations ${CONFIRMATIONS}; /healthz and /metrics on http://127.0.0.1:${bridge.httpPort}; JSON logs in ${local.bridgeLogFile}`,
    );

    const router = net.router.interface;
    const accountBefore = await net.router.accountOf(accountId);
    step(`Sending ${REQUESTS} requests from SentimentOracle`);
    const sentAt = new Map<bigint, { text: string; at: number; block: number }>();
    // The worker draw follows prevrandao, which differs between the estimate and the transaction.
    const requestSentiment = async (text: string) =>
      oracle.requestSentiment(text, { gasLimit: (await oracle.requestSentiment.estimateGas(text)) + REQUEST_GAS_MARGIN });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const text = TEXTS[i % TEXTS.length]!;
      pending.push(
        (async () => {
          const receipt = (await (await requestSentiment(text)).wait())!;
          for (const log of receipt.logs) {
            const parsed = log.address.toLowerCase() === routerAddress.toLowerCase() ? router.parseLog(log) : null;
            if (parsed?.name === "AgentRequested") sentAt.set(parsed.args.requestId as bigint, { text, at: Date.now(), block: receipt.blockNumber });
          }
        })(),
      );
      await sleep(STREAM_INTERVAL_MS);
    }
    await Promise.all(pending);

    const latencyBlocks: number[] = [];
    const latencyMs: number[] = [];
    let moved = 0n;
    const shown = new Set<bigint>();
    const showSettlements = async (): Promise<void> => {
      const logs = await provider.getLogs({ address: routerAddress, fromBlock: 0, toBlock: "latest" });
      for (const log of logs) {
        const parsed = router.parseLog(log);
        if (!parsed || shown.has(parsed.args.requestId as bigint)) continue;
        const id = parsed.args.requestId as bigint;
        if (parsed.name === "RequestFulfilled") {
          shown.add(id);
          const sent = sentAt.get(id);
          const label = toUtf8String(await oracle.labelOf(id).catch(() => "0x")) || "(error)";
          const blocks = sent ? log.blockNumber - sent.block : 0;
          if (sent) {
            latencyBlocks.push(blocks);
            latencyMs.push(Date.now() - sent.at);
          }
          moved += parsed.args.totalFee as bigint;
          const summary = label.length > 60 ? `${label.slice(0, 57)}...` : label;
          say(
            `    ${c.green}✔${c.reset} #${id} ${c.dim}"${sent?.text ?? "?"}"${c.reset} → ${summary} ${c.dim}(+${blocks} blocks, fee ${pha(parsed.args.totalFee as bigint)}, refund ${pha(parsed.args.refund as bigint)})${c.reset}`,
          );
        } else if (parsed.name === "RequestTimedOut") {
          shown.add(id);
          say(`    ${c.yellow}⏱${c.reset} #${id} timed out: ${pha(parsed.args.refund as bigint)} refunded to the billing account`);
        }
      }
    };
    let lastProgress = -1;
    const progress = (done: number, total: number) => {
      if (done === lastProgress) return;
      lastProgress = done;
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stdout.write(`\r    [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} answered  `);
    };
    const started = Date.now();
    while (shown.size < REQUESTS) {
      const before = shown.size;
      await showSettlements();
      if (shown.size !== before) lastProgress = -1;
      progress(shown.size, REQUESTS);
      if (Date.now() - started > 120_000) throw new Error(`only ${shown.size}/${REQUESTS} answered after 120 s: ${JSON.stringify(bridge.store.counts())}`);
      await sleep(300);
    }
    process.stdout.write("\n");

    step("One request to a worker that is down: bob stops, the next request is assigned to him");
    await bob.worker.close();
    // The operator moves sampling from alice's pool to bob's, as an operator rotating workers would.
    await (await operatorNet.stakingHub.removeWorker(alice.poolId, aliceAddress)).wait();
    await (await operatorNet.stakingHub.addWorker(bob.poolId, bobAddress)).wait();
    const receipt = (await (await requestSentiment("Will anyone answer this?")).wait())!;
    const requested = receipt.logs
      .map((l: Log) => (l.address.toLowerCase() === routerAddress.toLowerCase() ? router.parseLog(l) : null))
      .find((p) => p?.name === "AgentRequested");
    const lostId = requested!.args.requestId as bigint;
    say(`    #${lostId} assigned to bob ${requested!.args.worker}; the bridge retries his endpoint with backoff...`);
    await sleep(4_000);
    const record = bridge.store.get(lostId);
    say(`    ${c.dim}bridge: state ${record?.state}, ${record?.attempts} attempts, last error: ${record?.lastError?.slice(0, 100)}${c.reset}`);
    say(`    fast-forwarding chain time ${REQUEST_TIMEOUT_S + 5}s past the deadline (evm_increaseTime)`);
    await node.rpc("evm_increaseTime", [REQUEST_TIMEOUT_S + 5]);
    await node.rpc("evm_mine", []);
    const sweepStarted = Date.now();
    while (!shown.has(lostId)) {
      await showSettlements();
      if (Date.now() - sweepStarted > 60_000) throw new Error("the sweep did not time out the request");
      await sleep(300);
    }
    const hub = net.stakingHub.interface;
    const slashed = (await provider.getLogs({ address: await net.stakingHub.getAddress(), fromBlock: 0, toBlock: "latest" }))
      .map((log) => hub.parseLog(log))
      .filter((parsed) => parsed?.name === "Slashed" && parsed.args.worker === bobAddress);
    if (slashed.length !== 1) throw new Error(`expected one slash of bob's pool, found ${slashed.length}`);
    const slash = slashed[0]!.args;
    const slashTotal = (slash.fromActive as bigint) + (slash.fromUnbonding as bigint);
    say(
      `    ${c.red}✖${c.reset} bob's pool slashed ${pha(slashTotal)} for the missed deadline: ${pha(slash.toReporter as bigint)} to the caller of timeout() (its gas), ` +
        `${pha(slash.toTreasury as bigint)} to the treasury; the request was refunded in full`,
    );

    const accountAfter = await net.router.accountOf(accountId);
    const ownerEarnings = await net.router.earnings(net.signer);
    const relayerEarnings = await net.router.earnings(bridge.chain.account);
    const workerFees = await net.router.workerFees(aliceAddress);
    // Anyone may move accrued worker fees into the pool (commission to the operator, rest to stakers).
    await (await net.stakingHub.harvest(aliceAddress)).wait();
    const protocolFees = await net.router.protocolFees();
    const txs = bridge.store.txStats();
    latencyBlocks.sort((a, b) => a - b);
    latencyMs.sort((a, b) => a - b);
    const counts = bridge.store.counts();

    // Checked from the chain, not assumed: every request settled exactly once.
    const settlements = new Map<bigint, number>();
    let requestedCount = 0;
    for (const log of await provider.getLogs({ address: routerAddress, fromBlock: 0, toBlock: "latest" })) {
      const parsed = router.parseLog(log);
      if (parsed?.name === "AgentRequested") requestedCount++;
      if (parsed?.name === "RequestFulfilled" || parsed?.name === "RequestTimedOut") {
        const id = parsed.args.requestId as bigint;
        settlements.set(id, (settlements.get(id) ?? 0) + 1);
      }
    }
    const exactlyOnce = settlements.size === requestedCount && [...settlements.values()].every((n) => n === 1);
    if (!exactlyOnce)
      throw new Error(`settlement check failed: ${requestedCount} requested, ${JSON.stringify([...settlements].map(([k, v]) => [String(k), v]))}`);

    step("Governance: every contract belongs to the timelock; the guardian may only pause");
    const guardian = (await local.connection.ethers.getSigners())[DEV_ROLES.guardian]!;
    await guardianPause(net, guardian, routerAddress);
    const refused = await requestSentiment("Is anyone there?").then(
      () => "accepted",
      (error: unknown) =>
        String((error as Error).message).includes("EnforcedPause") || String(error).includes("0xd93c0665") ? "EnforcedPause" : String(error),
    );
    if (!(await net.router.paused()) || refused !== "EnforcedPause") throw new Error(`the guardian's pause did not stop requests: ${refused}`);
    say(`    guardian ${guardian.address} paused the router in one transaction; a new request reverts with ${refused}`);
    const votes = await net.governor.getVotes(net.signer, (await provider.getBlock("latest"))!.timestamp - 1);
    const delay = await net.timelock.getMinDelay();
    const unpause = encodeAction(net, { contract: "router", function: "unpause", args: [] });
    const proposal = await govern(local.connection, net, [unpause], "Unpause the router");
    if (proposal.state !== "Executed" || (await net.router.paused())) throw new Error(`the unpause proposal ended ${proposal.state}`);
    say(
      `    proposal "Unpause the router": proposed and voted for with the deployer's ${formatVotes(votes)}, ` +
        `queued, executed by the timelock ${formatDuration(Number(delay))} later (chain time fast-forwarded); the router takes requests again`,
    );

    step("Summary");
    say(
      `    requests         ${requestedCount} (${counts.fulfilled} fulfilled, ${counts.timed_out} timed out and refunded); on-chain check: each settled exactly once`,
    );
    say(
      `    latency          p50 ${percentile(latencyBlocks, 50)} / p99 ${percentile(latencyBlocks, 99)} blocks from request to answer (confirmations ${CONFIRMATIONS}, ${BLOCK_TIME_S}s blocks); p50 ${(percentile(latencyMs, 50) / 1000).toFixed(1)} s wall clock`,
    );
    say(
      `    bridge gas       ${txs.gasUsed} gas in ${txs.count} transactions (${(Number(txs.gasUsed) / Math.max(1, counts.fulfilled + counts.timed_out)).toFixed(0)} per settlement; fulfilments batched)`,
    );
    say(
      `    PHA moved        ${pha(moved)} charged for answers: agent owner ${pha(ownerEarnings)}, alice's pool ${pha(workerFees)}, protocol ${pha(protocolFees)}, bridge gas reimbursement ${pha(relayerEarnings)}`,
    );
    say(`    billing account  ${pha(accountBefore.balance)} → ${pha(accountAfter.balance)}, reserved ${pha(accountAfter.reserved)}`);
    say(`    bob              pool slashed ${pha(slashTotal)} (2 worker fees, whatever its stake) for the missed deadline`);
    step("Shutting down");
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
