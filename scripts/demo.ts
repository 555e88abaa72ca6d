/**
 * The whole lifecycle on a local chain, in one command (npm run demo):
 * local chain -> deploy -> three simulated-TEE workers -> bridge -> register the sentiment agent ->
 * a stream of requests from the SentimentOracle example consumer, each answer written back and
 * its fees settled -> a worker goes down mid-stream: its requests are answered by their backups once
 * their windows open, its pool penalised (failover) -> all of a request's workers down: handed from
 * backup to backup, refunded at the deadline, its worker slashed -> the guardian pauses the router
 * and a governance proposal unpauses it (every contract belongs to the timelock) -> summary -> clean
 * exit. Built on the same path as `npm run local` (devkit/local-network.ts).
 * Env: DEMO_NODE=anvil|hardhat (default anvil), DEMO_REQUESTS (default 12), DEMO_FAILOVER_REQUESTS (default 6).
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
/** Requests sent while a worker is down (more if none of them lands on it). */
const FAILOVER_REQUESTS = Number(process.env.DEMO_FAILOVER_REQUESTS ?? 6);
const MAX_FAILOVER_REQUESTS = 30;
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
    step(`Starting a local chain (${NODE_KIND}, ${BLOCK_TIME_S}s blocks), deploying, registering three workers and the agent`);
    const local = await startLocalNetwork({
      node: NODE_KIND,
      port: await freePort(),
      blockTime: BLOCK_TIME_S,
      parameters: { routerConfig: { ...DEFAULT_ROUTER_CONFIG, requestTimeout: REQUEST_TIMEOUT_S } },
      workers: [
        // Three operators: a request's backups are never its worker's operator's other workers.
        { name: "alice", n: 1, stake: POOL_STAKE },
        { name: "bob", n: 2, stake: POOL_STAKE, operator: 10 },
        { name: "carol", n: 3, stake: POOL_STAKE, operator: 11 },
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
    const { node, net, accountId, bridge } = local;
    const provider = local.connection.ethers.provider;
    say(`    ${node.url}`);
    const agent = local.agents.sentiment!;
    const agentId = agent.agentId;
    step("Bundled the example agent (agents/sentiment)");
    say(`    ${agent.bundlePath} (${agent.bytes} bytes), code hash ${agent.codeHash}`);
    step("Deployed PHA, registries, simulated-TEE verifier, router, staking (Ignition module AgentNetwork); registered three workers and the agent");
    const alice = local.workers.alice!;
    const bob = local.workers.bob!;
    const carol = local.workers.carol!;
    const bobAddress = bob.worker.enclave.address;
    const names = new Map(Object.entries(local.workers).map(([name, { worker }]) => [worker.enclave.address.toLowerCase(), name]));
    const nameOf = (address: string) => names.get(address.toLowerCase()) ?? address;
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
    say(
      `    workers           ${[...names].map(([address, name]) => `${name} ${address}`).join(", ")} (simulated TEE), each in its own StakingHub pool of ${pha(POOL_STAKE)}`,
    );
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
    const sentAt = new Map<bigint, { text: string; at: number; block: number; worker: string }>();
    // The worker draw follows prevrandao, which differs between the estimate and the transaction.
    const requestSentiment = async (text: string) =>
      oracle.requestSentiment(text, { gasLimit: (await oracle.requestSentiment.estimateGas(text)) + REQUEST_GAS_MARGIN });
    /** Sends one request; its id and the worker it was assigned to. */
    const send = async (text: string): Promise<{ id: bigint; worker: string; maxFee: bigint; capacityFee: bigint }> => {
      const receipt = (await (await requestSentiment(text)).wait())!;
      const requested = receipt.logs
        .map((l: Log) => (l.address.toLowerCase() === routerAddress.toLowerCase() ? router.parseLog(l) : null))
        .find((p) => p?.name === "AgentRequested")!;
      const id = requested.args.requestId as bigint;
      const worker = requested.args.worker as string;
      sentAt.set(id, { text, at: Date.now(), block: receipt.blockNumber, worker });
      const request = requested.args.request as { maxFee: bigint; capacityFee: bigint };
      return { id, worker, maxFee: request.maxFee, capacityFee: request.capacityFee };
    };
    step(`Sending ${REQUESTS} requests from SentimentOracle`);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      pending.push(send(TEXTS[i % TEXTS.length]!));
      await sleep(STREAM_INTERVAL_MS);
    }
    await Promise.all(pending);

    const latencyBlocks: number[] = [];
    const latencyMs: number[] = [];
    let moved = 0n;
    const shown = new Set<bigint>();
    /** BackupAnswered by request: who answered in place of whom, and the primary's penalty. */
    const backups = new Map<bigint, { primary: string; backup: string; rank: bigint; penalty: bigint; latencyMs: number }>();
    const showSettlements = async (): Promise<void> => {
      const logs = await provider.getLogs({ address: routerAddress, fromBlock: 0, toBlock: "latest" });
      for (const log of logs) {
        const parsed = router.parseLog(log);
        if (!parsed || shown.has(parsed.args.requestId as bigint)) continue;
        const id = parsed.args.requestId as bigint;
        const sent = sentAt.get(id);
        if (parsed.name === "BackupAnswered" && !backups.has(id)) {
          const { primary, backup, rank, penalty } = parsed.args as unknown as { primary: string; backup: string; rank: bigint; penalty: bigint };
          backups.set(id, { primary, backup, rank, penalty, latencyMs: sent ? Date.now() - sent.at : 0 });
        } else if (parsed.name === "RequestFulfilled") {
          shown.add(id);
          const label = toUtf8String(await oracle.labelOf(id).catch(() => "0x")) || "(error)";
          const blocks = sent ? log.blockNumber - sent.block : 0;
          if (sent) {
            latencyBlocks.push(blocks);
            latencyMs.push(Date.now() - sent.at);
          }
          moved += parsed.args.totalFee as bigint;
          const summary = label.length > 60 ? `${label.slice(0, 57)}...` : label;
          const by = nameOf(parsed.args.worker as string);
          const failover = backups.get(id);
          const who = failover
            ? `${c.yellow}answered by ${by} (backup ${failover.rank}) for ${nameOf(failover.primary)}, ${(failover.latencyMs / 1000).toFixed(1)} s after the request; ${nameOf(failover.primary)}'s pool penalised ${pha(failover.penalty)}${c.reset}`
            : `${c.dim}by ${by}${c.reset}`;
          say(
            `    ${c.green}✔${c.reset} #${id} ${c.dim}"${sent?.text ?? "?"}"${c.reset} → ${summary} ${who} ${c.dim}(+${blocks} blocks, fee ${pha(parsed.args.totalFee as bigint)}, refund ${pha(parsed.args.refund as bigint)})${c.reset}`,
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
    /** Shows settlements until `ids` are all settled. */
    const settle = async (ids: bigint[], limitMs: number): Promise<void> => {
      const started = Date.now();
      lastProgress = -1;
      for (;;) {
        const before = shown.size;
        await showSettlements();
        if (shown.size !== before) lastProgress = -1;
        const done = ids.filter((id) => shown.has(id)).length;
        if (done === ids.length) break;
        progress(done, ids.length);
        if (Date.now() - started > limitMs)
          throw new Error(`only ${done}/${ids.length} settled after ${limitMs / 1000} s: ${JSON.stringify(await bridge.store.counts())}`);
        await sleep(300);
      }
      process.stdout.write("\r\x1b[K");
    };
    await settle([...sentAt.keys()], 120_000);

    step("A worker goes down mid-stream: bob stops; its requests are answered by their backups (failover)");
    await bob.worker.close();
    say(
      `    bob ${bobAddress} no longer answers. A request's backups (router.backupWorker: drawn stake-weighted, distinct, eligible) may answer from ` +
        `${REQUEST_TIMEOUT_S / 2} s (backup 1, 50 % of the ${REQUEST_TIMEOUT_S} s timeout) and ${(REQUEST_TIMEOUT_S * 3) / 4} s (backup 2); bob alone may answer before`,
    );
    const duringOutage: { id: bigint; worker: string }[] = [];
    while (duringOutage.length < FAILOVER_REQUESTS || (!duringOutage.some((r) => r.worker === bobAddress) && duringOutage.length < MAX_FAILOVER_REQUESTS)) {
      const sent = await send(TEXTS[duringOutage.length % TEXTS.length]!);
      duringOutage.push(sent);
      say(`    #${sent.id} assigned to ${nameOf(sent.worker)}${sent.worker === bobAddress ? ` ${c.red}(down)${c.reset}` : ""}`);
      await sleep(STREAM_INTERVAL_MS);
    }
    const bobsRequests = duringOutage.filter((r) => r.worker === bobAddress).map((r) => r.id);
    if (bobsRequests.length === 0) throw new Error(`none of ${duringOutage.length} requests was assigned to bob`);
    say(
      `    ${bobsRequests.length} of ${duringOutage.length} requests went to bob: the bridge retries him, then hands each to its backup when the window opens...`,
    );
    await settle(
      duringOutage.map((r) => r.id),
      REQUEST_TIMEOUT_S * 1000 + 30_000,
    );
    const answeredByBackup = bobsRequests.filter((id) => backups.has(id));
    if (answeredByBackup.length !== bobsRequests.length)
      throw new Error(`only ${answeredByBackup.length}/${bobsRequests.length} of bob's requests were answered by a backup`);
    const record = (await bridge.store.get(bobsRequests[0]!))!;
    say(
      `    ${c.dim}bridge: #${record.id} ${record.state}, handed over to backup ${record.rank} ${nameOf(record.assignee)}, answered by ${nameOf(record.answeredBy ?? "?")} (npm run bridge -- requests)${c.reset}`,
    );

    step("All of a request's workers down: alice and carol stop too; nobody answers, the request is refunded at its deadline");
    await alice.worker.close();
    await carol.worker.close();
    const lost = await send("Will anyone answer this?");
    say(`    #${lost.id} assigned to ${nameOf(lost.worker)} ${c.red}(down)${c.reset}; its backups are the other two ${c.red}(down)${c.reset}`);
    const createdAt = (await provider.getBlock(sentAt.get(lost.id)!.block))!.timestamp;
    for (const [rank, shareOfTimeout] of [
      [1, 0.5],
      [2, 0.75],
    ] as const) {
      const jump = Math.max(0, Math.ceil(createdAt + REQUEST_TIMEOUT_S * shareOfTimeout - (await provider.getBlock("latest"))!.timestamp));
      await node.rpc("evm_increaseTime", [jump]);
      await node.rpc("evm_mine", []);
      const waited = Date.now();
      while (((await bridge.store.get(lost.id))?.rank ?? 0) < rank) {
        if (Date.now() - waited > 30_000) throw new Error(`the bridge did not hand #${lost.id} over to backup ${rank}`);
        await sleep(200);
      }
      const now = (await bridge.store.get(lost.id))!;
      say(`    fast-forwarded ${jump} s to backup ${rank}'s window: handed over to ${nameOf(now.assignee)} ${c.red}(down)${c.reset}`);
    }
    await sleep(2_000);
    const tried = (await bridge.store.get(lost.id))!;
    say(
      `    ${c.dim}bridge: state ${tried.state}, ${tried.attempts} attempts on ${nameOf(tried.assignee)}, last error: ${tried.lastError?.slice(0, 100)}${c.reset}`,
    );
    say(`    fast-forwarding chain time past the deadline (evm_increaseTime)`);
    await node.rpc("evm_increaseTime", [REQUEST_TIMEOUT_S]);
    await node.rpc("evm_mine", []);
    await settle([lost.id], 60_000);
    const hub = net.stakingHub.interface;
    const slashed = (await provider.getLogs({ address: await net.stakingHub.getAddress(), fromBlock: 0, toBlock: "latest" }))
      .map((log) => hub.parseLog(log))
      .filter((parsed) => parsed?.name === "Slashed" && (parsed.args.requestId as bigint) === lost.id);
    if (slashed.length !== 1) throw new Error(`expected one slash for #${lost.id}, found ${slashed.length}`);
    const slash = slashed[0]!.args;
    const slashTotal = (slash.fromBond as bigint) + (slash.fromActive as bigint) + (slash.fromUnbonding as bigint);
    // "In full" checked, not assumed: the refund is the whole max fee the request reserved, its capacity fee included.
    const timedOut = (await provider.getLogs({ address: routerAddress, fromBlock: 0, toBlock: "latest" }))
      .map((log) => router.parseLog(log))
      .find((parsed) => parsed?.name === "RequestTimedOut" && (parsed.args.requestId as bigint) === lost.id);
    const lostRefund = timedOut?.args.refund as bigint | undefined;
    if (lostRefund !== lost.maxFee) throw new Error(`#${lost.id} refunded ${lostRefund}, not its whole max fee ${lost.maxFee}`);
    say(
      `    ${c.red}✖${c.reset} ${nameOf(lost.worker)}'s pool slashed ${pha(slashTotal)} for the missed deadline (${pha(slash.fromBond as bigint)} of it from its operator's bond, before any staker): ${pha(slash.toReporter as bigint)} to the caller of timeout() (its gas), ` +
        `${pha(slash.toTreasury as bigint)} to the treasury; the request was refunded in full: ${pha(lostRefund)}, its capacity fee of ${formatEther(lost.capacityFee)} PHA included`,
    );
    const accountAfter = await net.router.accountOf(accountId);
    const ownerEarnings = await net.router.earnings(net.signer);
    const relayerEarnings = await net.router.earnings(bridge.chain.account);
    let workerFees = 0n;
    for (const address of names.keys()) {
      const fees = await net.router.workerFees(address);
      workerFees += fees;
      // Anyone may move accrued worker fees into the pool (commission to the operator, rest to stakers).
      if (fees > 0n) await (await net.stakingHub.harvest(address)).wait();
    }
    const protocolFees = await net.router.protocolFees();
    const txs = await bridge.store.txStats();
    latencyBlocks.sort((a, b) => a - b);
    latencyMs.sort((a, b) => a - b);
    const counts = await bridge.store.counts();

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

    const outageIds = duringOutage.map((r) => r.id);
    const outageAnswered = (await Promise.all(outageIds.map((id) => bridge.store.get(id)))).filter((r) => r?.state === "fulfilled").length;
    const penalties = answeredByBackup.reduce((sum, id) => sum + backups.get(id)!.penalty, 0n);
    const failoverMs = answeredByBackup.map((id) => backups.get(id)!.latencyMs).sort((a, b) => a - b);
    step("Summary");
    say(
      `    requests         ${requestedCount} (${counts.fulfilled} fulfilled, ${counts.timed_out} timed out and refunded); on-chain check: each settled exactly once`,
    );
    say(
      `    worker down      ${outageAnswered}/${outageIds.length} requests sent while bob was down answered: every one, ${answeredByBackup.length} of them by a backup ` +
        `(${answeredByBackup.map((id) => `#${id} by ${nameOf(backups.get(id)!.backup)}`).join(", ")}), p50 ${(percentile(failoverMs, 50) / 1000).toFixed(1)} s after the request ` +
        `(backup 1 may answer from ${REQUEST_TIMEOUT_S / 2} s); bob's pool penalised ${pha(penalties)} in all`,
    );
    say(
      `    all down         #${lost.id}: its worker and both backups down, refunded in full at the deadline (${pha(lostRefund)}, its capacity fee included); ${nameOf(lost.worker)}'s pool slashed ${pha(slashTotal)}`,
    );
    say(
      `    latency          p50 ${percentile(latencyBlocks, 50)} / p99 ${percentile(latencyBlocks, 99)} blocks from request to answer (backups' answers included) (confirmations ${CONFIRMATIONS}, ${BLOCK_TIME_S}s blocks); p50 ${(percentile(latencyMs, 50) / 1000).toFixed(1)} s wall clock`,
    );
    say(
      `    bridge gas       ${txs.gasUsed} gas in ${txs.count} transactions (${(Number(txs.gasUsed) / Math.max(1, counts.fulfilled + counts.timed_out)).toFixed(0)} per settlement; fulfilments batched)`,
    );
    say(
      `    PHA moved        ${pha(moved)} charged for answers: agent owner ${pha(ownerEarnings)}, the workers' pools ${pha(workerFees)}, protocol ${pha(protocolFees)}, bridge gas reimbursement ${pha(relayerEarnings)}`,
    );
    say(`    billing account  ${pha(accountBefore.balance)} → ${pha(accountAfter.balance)}, reserved ${pha(accountAfter.reserved)}`);
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
