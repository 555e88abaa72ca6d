/**
 * Gas of the request lifecycle on Hardhat's in-process EVM, whole transactions (21,000 intrinsic
 * gas included), against the deployed network (Ignition module, real StakingHub), in two shapes:
 * - 8 pools of one worker with unequal stake: the small network of the original figures;
 * - 64 pools of one worker with equal stake: the realistic one, where a batch meets a different
 *   worker at almost every entry (cold slots, more than the router's 16-entry worker cache).
 * Every payee has been paid once before the measured rows (steady state: a payee's first credit
 * creates its storage slot, a one-off per address). Single-request figures are means over
 * SAMPLES requests, since the sampled worker (from prevrandao) varies the cost slightly.
 *
 * Failover (8 pools): a backup's answer through fulfillAsBackup at ranks 1 and 2, the draw, the
 * primary's StakingHub slash and an empty contract callback included. Pools are run by OPERATORS
 * operators in turn, as a backup is never run by its primary's operator.
 *
 * The 64-pool network also measures the assignment margin: an agent that allows one measurement
 * held by 1/8 of the stake, with prevrandao chosen (hardhat_setPrevRandao) so the first eligible
 * worker comes at the 1st and at the 8th (last) draw. eth_estimateGas simulates a request with the
 * pending block's prevrandao, not the one it executes under, so wallets must add the difference.
 */
import { network } from "hardhat";
import { AbiCoder, Wallet, concat, encodeBytes32String, getBytes, keccak256, toBeHex, toUtf8Bytes, type TransactionReceipt } from "ethers";
import { DEFAULT_MAX_RESPONSE_BYTES } from "../../../devkit/functions.js";
import { FulfillmentDigester, routerDomain } from "../../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../../protocol/request.js";
import { SIMULATED_MEASUREMENT } from "../../../protocol/attestation.js";
import { prevrandaoForDraw } from "../../lib/assignment.js";
import { openFundedAccount } from "../../../devkit/billing.js";
import { attachAgentNetwork, type AgentNetwork } from "../../../devkit/contracts.js";
import { deployAgentNetwork } from "../../../devkit/deployment.js";
import { encodeAction, govern } from "../../../devkit/governance.js";
import { addSimulatedWorker } from "../../../devkit/workers.js";
import type { GasFigure } from "./snapshot.js";

const INPUT = toUtf8Bytes("the quick brown fox jumps over the lazy dog");
const OUTPUT = toUtf8Bytes("positive");
const CALLBACK_GAS = 50_000;
const SAMPLES = 8;
/** Explicit limits skip ethers' eth_estimateGas per transaction (gasUsed does not depend on them). */
const TX_GAS_LIMIT = 1_000_000;
const BATCH_SIZES = [1, 10, 50];
/** The Chainlink Functions path: a client on Chainlink's FunctionsClient through FunctionsRouterAdapter. */
const FUNCTIONS_TABLE = "Chainlink Functions adapter next to the native path, 8 pools of one worker";
const FUNCTIONS_SOURCE =
  "const r = await Functions.makeHttpRequest({ url: 'https://api.example.com/eth' }); return Functions.encodeUint256(Math.round(r.data.usd * 100));";
/** The functions runtime's output for a uint256 answer: 0x00 || 32 bytes. */
const FUNCTIONS_OUTPUT = getBytes(concat(["0x00", AbiCoder.defaultAbiCoder().encode(["uint256"], [314_159n])]));
const TIMEOUT_BATCH_SIZES = [10, 50];
/** Operator accounts the pools are spread over (signers 10 to 17). */
const OPERATORS = 8;
/** Second runtime measurement held by some workers in the 64-pool network (assignment margin). */
const RESTRICTED_MEASUREMENT = keccak256(toUtf8Bytes("bench: restricted runtime"));

interface Shape {
  table: string;
  pools: number;
  stakeOf(index: number): bigint;
  /** Pools whose worker runs RESTRICTED_MEASUREMENT (assignment-margin rows when non-zero). */
  restrictedPools: number;
  /** Timeout and payout rows (measured once, in the small network). */
  extras: boolean;
}

const PHA = (n: number) => BigInt(n) * 10n ** 18n;

const ROUTER_SHAPES: Shape[] = [
  { table: "8 pools of one worker", pools: 8, stakeOf: (i) => PHA(10_000 * (i + 1)), restrictedPools: 0, extras: true },
  { table: "64 pools of one worker", pools: 64, stakeOf: () => PHA(10_000), restrictedPools: 8, extras: false },
];

export async function measureRouterGas(): Promise<GasFigure[]> {
  const figures: GasFigure[] = [];
  for (const shape of ROUTER_SHAPES) figures.push(...(await measureShape(shape)));
  return figures;
}

/** 2100-01-01 06:00 UTC: after any machine's clock, far from a day boundary for the whole run. */
const BENCH_START = 4_102_444_800 + 6 * 3600;

async function measureShape(shape: Shape): Promise<GasFigure[]> {
  const connection = await network.create();
  const { ethers, networkHelpers } = connection;
  // A fixed start, not the wall clock: deadlines enter the request hash, which seeds the backup draws,
  // and a day boundary crossed mid-run writes fresh history slots; either made the figures vary by run.
  await networkHelpers.time.increaseTo(BENCH_START);
  const signers = await ethers.getSigners();
  const [deployer, , agentOwner, relayer] = signers;
  const net: AgentNetwork = await attachAgentNetwork(connection, await deployAgentNetwork(connection, { outDir: null }), deployer!);
  const { router, agentRegistry, stakingHub } = net;
  const consumer = await ethers.deployContract("EmptyConsumer", [router]);
  const { chainId } = await ethers.provider.getNetwork();
  const routerAddress = await router.getAddress();
  const requestTimeout = (await router.feeConfig()).requestTimeout;
  const maxFee = ethers.parseEther("2");

  if (shape.restrictedPools !== 0) {
    const approve = encodeAction(net, { contract: "workerRegistry", function: "setMeasurementApproved", args: [RESTRICTED_MEASUREMENT, true] });
    await govern(connection, net, [approve], "Approve the bench's restricted runtime");
  }
  const enclaves = new Map<string, Wallet>();
  const measurementOf = new Map<string, string>();
  for (let i = 0; i < shape.pools; i++) {
    // Fixed keys: addresses and signatures (calldata bytes) are the same on every run.
    const enclave = new Wallet(keccak256(toUtf8Bytes(`bench worker ${i}`)));
    const measurement = i < shape.restrictedPools ? RESTRICTED_MEASUREMENT : SIMULATED_MEASUREMENT;
    await addSimulatedWorker(net, signers[10 + (i % OPERATORS)]!, enclave, shape.stakeOf(i), `http://127.0.0.1:${9000 + i}`, measurement);
    enclaves.set(enclave.address, enclave);
    measurementOf.set(enclave.address, measurement);
  }
  // Backups (measured with the extras) are drawn on the pools' weights at the start of the request's
  // day: let the stake count.
  if (shape.extras) await networkHelpers.time.increase(24 * 3600);
  const agentId = 1n;
  await (
    await agentRegistry.connect(agentOwner).registerAgent(keccak256(toUtf8Bytes("bench agent")), "file:///bench.js", ethers.parseEther("1"), [], true)
  ).wait();
  await openFundedAccount(net, [deployer.address, await consumer.getAddress()], ethers.parseEther("1000000"));

  const parseRequest = (receipt: TransactionReceipt | null): AgentRequest => {
    for (const log of receipt?.logs ?? []) {
      const parsed = router.interface.parseLog(log);
      if (parsed?.name === "AgentRequested") return toAgentRequest(parsed.args.request.toObject());
    }
    throw new Error("no AgentRequested event");
  };
  const requestFromEoa = async (agent = agentId) => {
    const receipt = await (await router.request(1, agent, INPUT, 0, CALLBACK_GAS, maxFee, { gasLimit: TX_GAS_LIMIT })).wait();
    return { gas: receipt!.gasUsed, req: parseRequest(receipt) };
  };
  const requestFromContract = async () => {
    const receipt = await (await consumer.requestAgent(1, agentId, INPUT, CALLBACK_GAS, maxFee, { gasLimit: TX_GAS_LIMIT })).wait();
    return { gas: receipt!.gasUsed, req: parseRequest(receipt) };
  };
  // Hand-hashed EIP-712 digest (tested equal to ethers') and a raw signature: the warm-up signs hundreds.
  const digester = new FulfillmentDigester(routerDomain(chainId, routerAddress));
  const answer = (req: AgentRequest, output: Uint8Array = OUTPUT, worker: string = req.worker) => {
    const digest = digester.digest({
      requestId: req.id,
      requestHash: requestHash(req),
      outputHash: keccak256(output),
      status: 0,
      subAgentIds: [],
      subAgentPrices: [],
      worker,
    });
    const signature = enclaves.get(worker)!.signingKey.sign(digest).serialized;
    return { request: req, status: 0, output, subAgentIds: [], subAgentPrices: [], signature };
  };
  const fulfil = async (req: AgentRequest, output?: Uint8Array) =>
    (await (await router.connect(relayer).fulfill(answer(req, output), { gasLimit: TX_GAS_LIMIT })).wait())!.gasUsed;
  const batch = async (reqs: AgentRequest[]) => {
    const answers = reqs.map((req) => answer(req));
    return (await (await router.connect(relayer).fulfillBatch(answers, { gasLimit: 16_000_000 })).wait())!.gasUsed;
  };

  // Warm-up: serve every worker once, in batches, so no measured row pays a payee's first credit.
  const served = new Set<string>();
  for (let round = 0; served.size < shape.pools; round++) {
    if (round === 60) throw new Error(`warm-up served only ${served.size} of ${shape.pools} workers`);
    // Identical transactions, each mined in its own block in arrival order: the outcome does not
    // depend on which promise resolves first.
    const reqs = (await Promise.all(Array.from({ length: 50 }, requestFromContract))).map((r) => r.req);
    await batch(reqs);
    for (const req of reqs) served.add(req.worker);
  }
  // The relayer's, agent owner's and treasury's first credits happened above as well.

  const figures: GasFigure[] = [];
  const row = (name: string, gas: bigint) => figures.push({ table: shape.table, row: name, gas });
  const mean = (values: bigint[]) => values.reduce((a, b) => a + b, 0n) / BigInt(values.length);

  const eoaRequest: bigint[] = [],
    eoaFulfil: bigint[] = [],
    contractRequest: bigint[] = [],
    contractFulfil: bigint[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const eoa = await requestFromEoa();
    eoaRequest.push(eoa.gas);
    eoaFulfil.push(await fulfil(eoa.req));
    const viaContract = await requestFromContract();
    contractRequest.push(viaContract.gas);
    contractFulfil.push(await fulfil(viaContract.req));
  }
  row("request (EOA consumer)", mean(eoaRequest));
  row("request (contract consumer)", mean(contractRequest));
  row("fulfill, EOA consumer (no callback)", mean(eoaFulfil));
  row("fulfill, contract consumer (empty callback)", mean(contractFulfil));
  row("request + fulfill (EOA consumer)", mean(eoaRequest) + mean(eoaFulfil));
  row("request + fulfill (contract consumer)", mean(contractRequest) + mean(contractFulfil));
  for (const size of BATCH_SIZES) {
    const reqs = [];
    for (let i = 0; i < size; i++) reqs.push((await requestFromContract()).req);
    row(`fulfillBatch(${size}), per request`, (await batch(reqs)) / BigInt(size));
  }

  if (shape.restrictedPools !== 0) {
    // An agent that runs only on RESTRICTED_MEASUREMENT: most draws find an ineligible worker.
    await (
      await agentRegistry
        .connect(agentOwner)
        .registerAgent(keccak256(toUtf8Bytes("bench restricted agent")), "file:///r.js", ethers.parseEther("1"), [RESTRICTED_MEASUREMENT], true)
    ).wait();
    const restrictedAgent = await agentRegistry.agentCount();
    const isRestricted = (worker: string) => measurementOf.get(worker) === RESTRICTED_MEASUREMENT;
    const requestAtDraw = async (draw: number): Promise<bigint> => {
      const requestId = (await router.requestCount()) + 1n;
      const prevrandao = await prevrandaoForDraw(draw, stakingHub, requestId, deployer.address, isRestricted);
      await ethers.provider.send("hardhat_setPrevRandao", [prevrandao]);
      const { gas, req } = await requestFromEoa(restrictedAgent);
      if (!isRestricted(req.worker)) throw new Error("assignment replay disagrees with the router");
      return gas;
    };
    row("request, restricted agent, eligible worker at draw 1", await requestAtDraw(1));
    row("request, restricted agent, eligible worker at draw 8 (worst)", await requestAtDraw(8));
  }

  if (shape.extras) {
    // Steady state, as for the payees above: the caller's PHA balance (the slash's reward) and the
    // word of the settled bitmap holding the request's bit already exist. Otherwise the row measures
    // one-offs: a first token balance (+17.1k) and, when the id opens a word of 128 (id % 128 == 0:
    // the warm-up's length decides), a fresh bitmap word (+17.1k).
    await (await net.pha.transfer(relayer.address, 1n)).wait();
    if (((await router.requestCount()) + 1n) % 128n === 0n) await fulfil((await requestFromEoa()).req);
    const late = await requestFromEoa();
    await networkHelpers.time.increase(Number(requestTimeout) + 1);
    row("timeout (StakingHub slash)", (await (await router.connect(relayer).timeout(late.req)).wait())!.gasUsed);
    for (const size of TIMEOUT_BATCH_SIZES) {
      const expired = [];
      for (let i = 0; i < size; i++) expired.push((await requestFromContract()).req);
      await networkHelpers.time.increase(Number(requestTimeout) + 1);
      row(
        `timeoutBatch(${size}), per request`,
        (await (await router.connect(relayer).timeoutBatch(expired, { gasLimit: 16_000_000 })).wait())!.gasUsed / BigInt(size),
      );
    }

    // Failover: the primary stays silent, backup `rank` answers once its window opens. Means over
    // SAMPLES requests (the backups drawn vary); every backup was paid before (warm-up).
    for (const rank of [1, 2]) {
      const gas: bigint[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const { req } = await requestFromContract();
        const [backup, opensAt] = await router.backupWorker(req, rank);
        await networkHelpers.time.increaseTo(opensAt);
        const tx = await router.connect(relayer).fulfillAsBackup(answer(req, OUTPUT, backup), rank, { gasLimit: TX_GAS_LIMIT });
        gas.push((await tx.wait())!.gasUsed);
      }
      row(`fulfillAsBackup, rank ${rank} (contract consumer, empty callback, primary slashed)`, mean(gas));
    }

    // Payouts leave a marker in each fee slot, so the next credit still rewrites a slot rather than creating one.
    const afterPayout = await requestFromEoa();
    await (await router.connect(relayer).withdrawEarnings(relayer.address)).wait();
    await (await router.connect(agentOwner).withdrawEarnings(agentOwner.address)).wait();
    await (await router.withdrawProtocolFees()).wait();
    await (await stakingHub.harvest(afterPayout.req.worker)).wait();
    row("fulfill after every payee was paid out", await fulfil(afterPayout.req));

    // The same request and answer through the Chainlink Functions adapter, next to the native
    // contract consumer measured above (both callbacks empty, the same callback gas).
    const adapter = await ethers.deployContract("FunctionsRouterAdapter", [router, DEFAULT_MAX_RESPONSE_BYTES, deployer.address]);
    const donId = encodeBytes32String("fun-bench-1");
    await (await adapter.setDonAgent(donId, agentId)).wait();
    const subscriptionId = await adapter.createSubscription.staticCall();
    await (await adapter.createSubscription()).wait();
    await (
      await net.pha.getFunction("transferAndCall(address,uint256,bytes)")(
        adapter,
        ethers.parseEther("1000000"),
        AbiCoder.defaultAbiCoder().encode(["uint64"], [subscriptionId]),
      )
    ).wait();
    const client = await ethers.deployContract("EmptyFunctionsClient", [adapter]);
    await (await adapter.addConsumer(subscriptionId, client)).wait();
    const encoder = await ethers.deployContract("FunctionsRequestEncoder");
    const cbor = await encoder.encode.staticCall(FUNCTIONS_SOURCE, [], [], 0, "0x");
    // The native path with the very input and output the adapter path carries, so the rows differ
    // by the adapter's own work only.
    const sameInput = concat([await client.getAddress(), toBeHex(DEFAULT_MAX_RESPONSE_BYTES, 4), cbor]);
    const native = { request: [] as bigint[], fulfil: [] as bigint[] };
    const viaAdapter = { request: [] as bigint[], fulfil: [] as bigint[] };
    for (let i = 0; i < SAMPLES + 1; i++) {
      const receipt = await (await client.send(cbor, subscriptionId, CALLBACK_GAS, donId, { gasLimit: TX_GAS_LIMIT })).wait();
      const gas = await fulfil(parseRequest(receipt), FUNCTIONS_OUTPUT);
      const nativeReceipt = await (await consumer.requestAgent(1, agentId, sameInput, CALLBACK_GAS, maxFee, { gasLimit: TX_GAS_LIMIT })).wait();
      const nativeGas = await fulfil(parseRequest(nativeReceipt), FUNCTIONS_OUTPUT);
      // The first round pays the adapter's and the client's first storage writes.
      if (i === 0) continue;
      viaAdapter.request.push(receipt!.gasUsed);
      viaAdapter.fulfil.push(gas);
      native.request.push(nativeReceipt!.gasUsed);
      native.fulfil.push(nativeGas);
    }
    const functionsRow = (name: string, gas: bigint) => figures.push({ table: FUNCTIONS_TABLE, row: name, gas });
    const [nativeRequest, nativeFulfil] = [mean(native.request), mean(native.fulfil)];
    const [adapterRequest, adapterFulfil] = [mean(viaAdapter.request), mean(viaAdapter.fulfil)];
    functionsRow(`native: request (contract consumer, the same ${getBytes(sameInput).length}-byte input)`, nativeRequest);
    functionsRow("native: fulfill (contract consumer, empty callback, the same output)", nativeFulfil);
    functionsRow("native: request + fulfill", nativeRequest + nativeFulfil);
    functionsRow("adapter: sendRequest (FunctionsClient → adapter → router)", adapterRequest);
    functionsRow("adapter: fulfill (router → adapter → empty fulfillRequest)", adapterFulfil);
    functionsRow("adapter: sendRequest + fulfill", adapterRequest + adapterFulfil);
    functionsRow("adapter overhead per request", adapterRequest + adapterFulfil - nativeRequest - nativeFulfil);
  }
  await connection.close();
  return figures;
}
