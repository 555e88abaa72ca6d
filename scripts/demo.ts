/**
 * The whole lifecycle on a local chain, in one command (npm run demo):
 * local chain -> deploy -> two simulated-TEE workers -> bridge -> register the sentiment agent ->
 * a stream of requests from the SentimentOracle example consumer, each answer written back and
 * its fees settled -> one request to a worker that is down: timed out, refunded, worker slashed ->
 * summary -> clean exit.
 * Env: DEMO_NODE=anvil|hardhat (default anvil), DEMO_REQUESTS (default 12).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, Interface, Wallet, formatEther, hexlify, parseEther, randomBytes, toUtf8String, type Log } from "ethers";
import { pino } from "pino";
import { DEV_ROLES, devKey } from "../bridge/dev/accounts.js";
import { artifact, deploy, deployStack, send } from "../bridge/dev/deploy.js";
import { freePort, startLocalNode } from "../bridge/dev/local-node.js";
import { Bridge } from "../bridge/src/bridge.js";
import { ROUTER_ABI } from "../bridge/src/chain/contracts.js";
import { parseConfig } from "../bridge/src/config.js";
import { createLogger } from "../bridge/src/logger.js";
import { buildAgent } from "../worker/cli/build-agent.js";
import { startWorker, type RunningWorker } from "../worker/src/app.js";
import { parseConfig as parseWorkerConfig } from "../worker/src/config.js";

const NODE_KIND = (process.env.DEMO_NODE ?? "anvil") as "anvil" | "hardhat";
const REQUESTS = Number(process.env.DEMO_REQUESTS ?? 12);
const REQUEST_TIMEOUT_S = 30;
const BLOCK_TIME_S = 1;
const CONFIRMATIONS = 1;
const STREAM_INTERVAL_MS = 250;
const POOL_STAKE = parseEther("10000");
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
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    step(`Starting a local chain (${NODE_KIND}, ${BLOCK_TIME_S}s blocks)`);
    const node = await startLocalNode({ kind: NODE_KIND });
    cleanups.push(() => node.stop());
    say(`    ${node.url}`);

    step("Bundling the example agent (agents/sentiment)");
    const agent = await buildAgent("agents/sentiment/index.ts", join(work, "sentiment.agent.js"));
    say(`    ${agent.bundlePath} (${agent.bytes} bytes), code hash ${agent.codeHash}`);

    step("Deploying PHA, registries, simulated-TEE verifier, router, staking; registering two workers and the agent");
    const alice = { seed: hexlify(randomBytes(32)), port: await freePort() };
    const bob = { seed: hexlify(randomBytes(32)), port: await freePort() };
    const stack = await deployStack(
      node.url,
      [
        { key: alice.seed, endpoint: `http://127.0.0.1:${alice.port}` },
        // Bob's pool is staked but his worker joins it later, so the stream goes to alice.
        { key: bob.seed, endpoint: `http://127.0.0.1:${bob.port}`, inPool: false },
      ],
      {
        requestTimeout: REQUEST_TIMEOUT_S,
        agentCodeHash: agent.codeHash,
        agentUri: pathToFileURL(agent.bundlePath).href,
        callbackGasLimit: 120_000,
        staking: "hub",
      },
    );
    cleanups.push(async () => stack.provider.destroy());
    const aliceAddress = new Wallet(alice.seed).address;
    const bobAddress = new Wallet(bob.seed).address;
    const fee = (await stack.router.getFunction("estimateFee")(stack.agentId, 120_000)) as bigint;
    const oracle = await deploy("SentimentOracle", stack.deployer, [stack.addresses.router, stack.accountId, stack.agentId, fee * 2n, await stack.deployer.getAddress()]);
    await send(stack.router, "addConsumer", stack.accountId, await oracle.getAddress());
    const { requester: _unused, ...core } = stack.addresses;
    for (const [name, address] of Object.entries({ ...core, sentimentOracle: await oracle.getAddress() })) say(`    ${name.padEnd(16)} ${address}`);
    say(`    workers          alice ${aliceAddress}, bob ${bobAddress} (simulated TEE), each in its own StakingHub pool of ${pha(POOL_STAKE)}`);
    say(`    billing account  #${stack.accountId} funded with ${pha(((await stack.router.getFunction("accountOf")(stack.accountId)) as { balance: bigint }).balance)}; max fee per request ${pha(fee * 2n)}`);
    await node.rpc(NODE_KIND === "anvil" ? "evm_setIntervalMining" : "evm_setIntervalMining", [NODE_KIND === "anvil" ? BLOCK_TIME_S : BLOCK_TIME_S * 1000]);
    await node.rpc("evm_setAutomine", [false]);

    step("Starting the workers (simulated TEE: NOT a real enclave) and the bridge");
    const workers: Record<string, RunningWorker> = {};
    for (const [name, w] of Object.entries({ alice, bob })) {
      workers[name] = await startWorker(
        parseWorkerConfig({
          port: w.port,
          logLevel: "silent",
          chainId: stack.chainId.toString(),
          workerRegistry: stack.addresses.workerRegistry,
          enclave: { kind: "simulator", seed: w.seed },
          directory: { kind: "chain", rpcUrl: node.url, agentRegistry: stack.addresses.agentRegistry },
        }),
        { logger: pino({ level: "silent" }), sandboxThreads: 1 },
      );
      cleanups.push(() => workers[name]!.close());
      say(`    ${name} ${workers[name]!.url}`);
    }
    const logFile = join(work, "bridge.log");
    const config = parseConfig({
      rpcUrl: node.url,
      router: stack.addresses.router,
      workerRegistry: stack.addresses.workerRegistry,
      privateKey: devKey(DEV_ROLES.bridge),
      dbPath: join(work, "bridge.sqlite"),
      confirmations: CONFIRMATIONS,
      pollIntervalMs: 200,
      dispatch: { timeoutMs: 5_000, backoffBaseMs: 500, backoffMaxMs: 4_000 },
      schedule: { sweep: "*/2 * * * * *" },
      http: { port: 0 },
      logLevel: "info",
    });
    const bridge = await Bridge.create(config, { logger: createLogger("info", pino.destination({ dest: logFile, sync: false })) });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    say(`    bridge ${bridge.chain.account}, confirmations ${CONFIRMATIONS}; /healthz and /metrics on http://127.0.0.1:${bridge.httpPort}; JSON logs in ${logFile}`);

    const router = new Interface(ROUTER_ABI);
    const accountBefore = (await stack.router.getFunction("accountOf")(stack.accountId)) as { balance: bigint };
    step(`Sending ${REQUESTS} requests from SentimentOracle`);
    const sentAt = new Map<bigint, { text: string; at: number; block: number }>();
    const asker = oracle.connect(stack.deployer) as Contract;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const text = TEXTS[i % TEXTS.length]!;
      pending.push(
        (async () => {
          const tx = (await asker.getFunction("requestSentiment")(text)) as { wait(): Promise<{ logs: Log[]; blockNumber: number }> };
          const receipt = await tx.wait();
          for (const log of receipt.logs) {
            const parsed = log.address.toLowerCase() === stack.addresses.router.toLowerCase() ? router.parseLog(log) : null;
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
      const logs = await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" });
      for (const log of logs) {
        const parsed = router.parseLog(log);
        if (!parsed || shown.has(parsed.args.requestId as bigint)) continue;
        const id = parsed.args.requestId as bigint;
        if (parsed.name === "RequestFulfilled") {
          shown.add(id);
          const sent = sentAt.get(id);
          const label = toUtf8String((await oracle.getFunction("labelOf")(id).catch(() => "0x")) as string) || "(error)";
          const blocks = sent ? log.blockNumber - sent.block : 0;
          if (sent) {
            latencyBlocks.push(blocks);
            latencyMs.push(Date.now() - sent.at);
          }
          moved += parsed.args.totalFee as bigint;
          const summary = label.length > 60 ? `${label.slice(0, 57)}...` : label;
          say(`    ${c.green}✔${c.reset} #${id} ${c.dim}"${sent?.text ?? "?"}"${c.reset} → ${summary} ${c.dim}(+${blocks} blocks, fee ${pha(parsed.args.totalFee as bigint)}, refund ${pha(parsed.args.refund as bigint)})${c.reset}`);
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
    await workers.bob!.close();
    // The operator moves sampling from alice's pool to bob's, as an operator rotating workers would.
    const asOperator = stack.staking.connect(stack.operator) as Contract;
    await send(asOperator, "removeWorker", stack.pools[aliceAddress], aliceAddress);
    await send(asOperator, "addWorker", stack.pools[bobAddress], bobAddress);
    const tx = (await asker.getFunction("requestSentiment")("Will anyone answer this?")) as { wait(): Promise<{ logs: Log[] }> };
    const receipt = await tx.wait();
    const requested = receipt.logs.map((l) => (l.address.toLowerCase() === stack.addresses.router.toLowerCase() ? router.parseLog(l) : null)).find((p) => p?.name === "AgentRequested");
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
    const hub = new Interface(artifact("StakingHub").abi);
    const slashed = (await stack.provider.getLogs({ address: stack.addresses.staking, fromBlock: 0, toBlock: "latest" }))
      .map((log) => hub.parseLog(log))
      .filter((parsed) => parsed?.name === "Slashed" && parsed.args.worker === bobAddress);
    if (slashed.length !== 1) throw new Error(`expected one slash of bob's pool, found ${slashed.length}`);
    const slash = slashed[0]!.args;
    const slashTotal = (slash.fromActive as bigint) + (slash.fromUnbonding as bigint);
    say(
      `    ${c.red}✖${c.reset} bob's pool slashed ${pha(slashTotal)} for the missed deadline: ${pha(slash.toReporter as bigint)} to the caller of timeout(), ` +
        `${pha(slash.toWronged as bigint)} to the billing account's owner, ${pha(slash.toTreasury as bigint)} to the treasury`,
    );

    const accountAfter = (await stack.router.getFunction("accountOf")(stack.accountId)) as { balance: bigint; reserved: bigint };
    const ownerEarnings = (await stack.router.getFunction("earnings")(stack.agentOwner)) as bigint;
    const relayerEarnings = (await stack.router.getFunction("earnings")(bridge.chain.account)) as bigint;
    const workerFees = (await stack.router.getFunction("workerFees")(aliceAddress)) as bigint;
    // Anyone may move accrued worker fees into the pool (commission to the operator, rest to stakers).
    await send(stack.staking, "harvest", aliceAddress);
    const protocolFees = (await stack.router.getFunction("protocolFees")()) as bigint;
    const txs = bridge.store.txStats();
    latencyBlocks.sort((a, b) => a - b);
    latencyMs.sort((a, b) => a - b);
    const counts = bridge.store.counts();

    // Checked from the chain, not assumed: every request settled exactly once.
    const settlements = new Map<bigint, number>();
    let requestedCount = 0;
    for (const log of await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" })) {
      const parsed = router.parseLog(log);
      if (parsed?.name === "AgentRequested") requestedCount++;
      if (parsed?.name === "RequestFulfilled" || parsed?.name === "RequestTimedOut") {
        const id = parsed.args.requestId as bigint;
        settlements.set(id, (settlements.get(id) ?? 0) + 1);
      }
    }
    const exactlyOnce = settlements.size === requestedCount && [...settlements.values()].every((n) => n === 1);
    if (!exactlyOnce) throw new Error(`settlement check failed: ${requestedCount} requested, ${JSON.stringify([...settlements].map(([k, v]) => [String(k), v]))}`);

    step("Summary");
    say(`    requests         ${requestedCount} (${counts.fulfilled} fulfilled, ${counts.timed_out} timed out and refunded); on-chain check: each settled exactly once`);
    say(`    latency          p50 ${percentile(latencyBlocks, 50)} / p99 ${percentile(latencyBlocks, 99)} blocks from request to answer (confirmations ${CONFIRMATIONS}, ${BLOCK_TIME_S}s blocks); p50 ${(percentile(latencyMs, 50) / 1000).toFixed(1)} s wall clock`);
    say(`    bridge gas       ${txs.gasUsed} gas in ${txs.count} transactions (${(Number(txs.gasUsed) / Math.max(1, counts.fulfilled + counts.timed_out)).toFixed(0)} per settlement; fulfilments batched)`);
    say(`    PHA moved        ${pha(moved)} charged for answers: agent owner ${pha(ownerEarnings)}, alice's pool ${pha(workerFees)}, protocol ${pha(protocolFees)}, bridge gas reimbursement ${pha(relayerEarnings)}`);
    say(`    billing account  ${pha(accountBefore.balance)} → ${pha(accountAfter.balance)}, reserved ${pha(accountAfter.reserved)}`);
    say(`    bob              pool slashed ${pha(slashTotal)} (1% of its stake) for the missed deadline`);
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
