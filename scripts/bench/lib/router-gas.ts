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
 * The 64-pool network also measures the assignment margin: an agent that allows one measurement
 * held by 1/8 of the stake, with prevrandao chosen (hardhat_setPrevRandao) so the first eligible
 * worker comes at the 1st and at the 8th (last) draw. eth_estimateGas simulates a request with the
 * pending block's prevrandao, not the one it executes under, so wallets must add the difference.
 */
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes, type TransactionReceipt } from "ethers";
import { FulfillmentDigester, routerDomain } from "../../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../../protocol/request.js";
import { SIMULATED_MEASUREMENT } from "../../../protocol/attestation.js";
import { prevrandaoForDraw } from "../../lib/assignment.js";
import { openFundedAccount } from "../../../devkit/billing.js";
import { attachAgentNetwork, type AgentNetwork } from "../../../devkit/contracts.js";
import { deployAgentNetwork } from "../../../devkit/deployment.js";
import { addSimulatedWorker } from "../../../devkit/workers.js";
import type { GasFigure } from "./snapshot.js";

const INPUT = toUtf8Bytes("the quick brown fox jumps over the lazy dog");
const OUTPUT = toUtf8Bytes("positive");
const CALLBACK_GAS = 50_000;
const SAMPLES = 8;
/** Explicit limits skip ethers' eth_estimateGas per transaction (gasUsed does not depend on them). */
const TX_GAS_LIMIT = 1_000_000;
const BATCH_SIZES = [1, 10, 50];
const TIMEOUT_BATCH_SIZES = [10, 50];
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

async function measureShape(shape: Shape): Promise<GasFigure[]> {
  const connection = await network.create();
  const { ethers, networkHelpers } = connection;
  const signers = await ethers.getSigners();
  const [deployer, , agentOwner, relayer] = signers;
  const operator = signers[10]!;
  const net: AgentNetwork = await attachAgentNetwork(connection, await deployAgentNetwork(connection, { outDir: null }), deployer!);
  const { router, agentRegistry, stakingHub, workerRegistry } = net;
  const consumer = await ethers.deployContract("EmptyConsumer", [router]);
  const { chainId } = await ethers.provider.getNetwork();
  const routerAddress = await router.getAddress();
  const requestTimeout = (await router.feeConfig()).requestTimeout;
  const maxFee = ethers.parseEther("2");

  if (shape.restrictedPools !== 0) await (await workerRegistry.setMeasurementApproved(RESTRICTED_MEASUREMENT, true)).wait();
  const enclaves = new Map<string, Wallet>();
  const measurementOf = new Map<string, string>();
  for (let i = 0; i < shape.pools; i++) {
    // Fixed keys: addresses and signatures (calldata bytes) are the same on every run.
    const enclave = new Wallet(keccak256(toUtf8Bytes(`bench worker ${i}`)));
    const measurement = i < shape.restrictedPools ? RESTRICTED_MEASUREMENT : SIMULATED_MEASUREMENT;
    await addSimulatedWorker(net, operator, enclave, shape.stakeOf(i), `http://127.0.0.1:${9000 + i}`, measurement);
    enclaves.set(enclave.address, enclave);
    measurementOf.set(enclave.address, measurement);
  }
  const agentId = 1n;
  await (await agentRegistry.connect(agentOwner).registerAgent(keccak256(toUtf8Bytes("bench agent")), "file:///bench.js", ethers.parseEther("1"), [], true)).wait();
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
  const outputHash = keccak256(OUTPUT);
  const answer = (req: AgentRequest) => {
    const digest = digester.digest({ requestId: req.id, requestHash: requestHash(req), outputHash, status: 0, subAgentIds: [], worker: req.worker });
    const signature = enclaves.get(req.worker)!.signingKey.sign(digest).serialized;
    return { request: req, status: 0, output: OUTPUT, subAgentIds: [], signature };
  };
  const fulfil = async (req: AgentRequest) => (await (await router.connect(relayer).fulfill(answer(req), { gasLimit: TX_GAS_LIMIT })).wait())!.gasUsed;
  const batch = async (reqs: AgentRequest[]) => {
    const answers = reqs.map(answer);
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

  const eoaRequest: bigint[] = [], eoaFulfil: bigint[] = [], contractRequest: bigint[] = [], contractFulfil: bigint[] = [];
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
    await (await agentRegistry.connect(agentOwner).registerAgent(keccak256(toUtf8Bytes("bench restricted agent")), "file:///r.js", ethers.parseEther("1"), [RESTRICTED_MEASUREMENT], true)).wait();
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
    const late = await requestFromEoa();
    await networkHelpers.time.increase(Number(requestTimeout) + 1);
    row("timeout (StakingHub slash)", (await (await router.connect(relayer).timeout(late.req)).wait())!.gasUsed);
    for (const size of TIMEOUT_BATCH_SIZES) {
      const expired = [];
      for (let i = 0; i < size; i++) expired.push((await requestFromContract()).req);
      await networkHelpers.time.increase(Number(requestTimeout) + 1);
      row(`timeoutBatch(${size}), per request`, (await (await router.connect(relayer).timeoutBatch(expired, { gasLimit: 16_000_000 })).wait())!.gasUsed / BigInt(size));
    }

    // Payouts leave a marker in each fee slot, so the next credit still rewrites a slot rather than creating one.
    const afterPayout = await requestFromEoa();
    await (await router.connect(relayer).withdrawEarnings(relayer.address)).wait();
    await (await router.connect(agentOwner).withdrawEarnings(agentOwner.address)).wait();
    await (await router.withdrawProtocolFees()).wait();
    await (await stakingHub.harvest(afterPayout.req.worker)).wait();
    row("fulfill after every payee was paid out", await fulfil(afterPayout.req));
  }
  await connection.close();
  return figures;
}
