/**
 * Gas benchmark of the request lifecycle on Hardhat's in-process EVM (npm run bench:gas).
 * Prints gasUsed of whole transactions (21,000 intrinsic gas included) for: request (EOA consumer
 * and contract consumer), single fulfil with an empty callback, fulfilBatch of 1/10/50, timeout,
 * timeoutBatch of 10/50, and a fulfil right after every payee was paid out (relayer, agent owner,
 * worker pool, treasury).
 */
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes, type HDNodeWallet, type TransactionReceipt } from "ethers";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../protocol/request.js";
import { addSimulatedWorker, deployDevNetwork, openFundedAccount } from "../lib/dev-network.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const signers = await ethers.getSigners();
const [deployer, , agentOwner, relayer] = signers;
const WORKERS = 8;

const net = await deployDevNetwork(connection);
const { router, agentRegistry, stakingHub } = net;
const CONFIG = await router.feeConfig();
const consumer = await ethers.deployContract("EmptyConsumer", [router]);

const { chainId } = await ethers.provider.getNetwork();
const enclaves = new Map<string, Wallet | HDNodeWallet>();
for (let i = 0; i < WORKERS; i++) {
  const enclave = Wallet.createRandom();
  await addSimulatedWorker(net, signers[10 + i]!, enclave, ethers.parseEther(String(10_000 * (i + 1))), `http://127.0.0.1:${9000 + i}`);
  enclaves.set(enclave.address, enclave);
}
await (await agentRegistry.connect(agentOwner).registerAgent(keccak256(toUtf8Bytes("bench agent")), "file:///bench.js", ethers.parseEther("1"), [], true)).wait();
await openFundedAccount(net, [deployer.address, await consumer.getAddress()], ethers.parseEther("1000000"));
const routerAddress = await router.getAddress();

const INPUT = toUtf8Bytes("the quick brown fox jumps over the lazy dog");
const OUTPUT = toUtf8Bytes("positive");
const CALLBACK_GAS = 50_000;
const MAX_FEE = ethers.parseEther("2");

function parseRequest(receipt: TransactionReceipt | null): AgentRequest {
  for (const log of receipt?.logs ?? []) {
    const parsed = router.interface.parseLog(log);
    if (parsed?.name === "AgentRequested") return toAgentRequest(parsed.args.request.toObject());
  }
  throw new Error("no AgentRequested event");
}

async function requestFromEoa() {
  const receipt = await (await router.request(1, 1, INPUT, 0, CALLBACK_GAS, MAX_FEE)).wait();
  return { gas: receipt!.gasUsed, req: parseRequest(receipt) };
}

async function requestFromContract() {
  const receipt = await (await consumer.requestAgent(1, 1, INPUT, CALLBACK_GAS, MAX_FEE)).wait();
  return { gas: receipt!.gasUsed, req: parseRequest(receipt) };
}

async function answer(req: AgentRequest) {
  const enclave = enclaves.get(req.worker)!;
  const signature = await enclave.signTypedData(routerDomain(chainId, routerAddress), FULFILLMENT_TYPES as never, {
    requestId: req.id, requestHash: requestHash(req), outputHash: keccak256(OUTPUT), status: 0, subAgentIds: [], worker: req.worker,
  });
  return { request: req, status: 0, output: OUTPUT, subAgentIds: [], signature };
}

async function fulfilGas(req: AgentRequest) {
  const receipt = await (await router.connect(relayer).fulfill(await answer(req))).wait();
  return receipt!.gasUsed;
}

async function batchGas(size: number) {
  const answers = [];
  for (let i = 0; i < size; i++) answers.push(await answer((await requestFromContract()).req));
  const receipt = await (await router.connect(relayer).fulfillBatch(answers, { gasLimit: 16_000_000 })).wait();
  return receipt!.gasUsed;
}

// Warm-up: a payee's first credit creates its storage slot (20,000 gas), a one-off per address in its
// lifetime. Serve every worker once so the rows below measure the steady state whichever worker the
// stake-weighted sampling picks, not the luck of drawing a never-paid one.
const served = new Set<string>();
for (let draw = 0; served.size < WORKERS && draw < 20 * WORKERS; draw++) {
  const { req } = await requestFromEoa();
  await fulfilGas(req);
  served.add(req.worker);
}
if (served.size < WORKERS) throw new Error(`warm-up served only ${served.size} of ${WORKERS} workers`);

const rows: [string, bigint, string][] = [];
const eoa = await requestFromEoa();
const eoaFulfil = await fulfilGas(eoa.req);
const viaContract = await requestFromContract();
const contractFulfil = await fulfilGas(viaContract.req);
rows.push(["request (EOA consumer)", eoa.gas, ""]);
rows.push(["fulfill, empty callback", eoaFulfil, ""]);
rows.push(["request + fulfill (EOA consumer)", eoa.gas + eoaFulfil, "target <= 120,000"]);
rows.push(["request (contract consumer)", viaContract.gas, ""]);
rows.push(["request + fulfill (contract consumer)", viaContract.gas + contractFulfil, ""]);
for (const size of [1, 10, 50]) {
  const gas = await batchGas(size);
  rows.push([`fulfillBatch(${size}) total`, gas, ""]);
  rows.push([`fulfillBatch(${size}) per request`, gas / BigInt(size), size === 50 ? "target <= 25,000" : ""]);
}
const late = await requestFromEoa();
await networkHelpers.time.increase(Number(CONFIG.requestTimeout) + 1);
const timeoutReceipt = await (await router.connect(relayer).timeout(late.req)).wait();
rows.push(["timeout (StakingHub slash)", timeoutReceipt!.gasUsed, ""]);
for (const size of [10, 50]) {
  const expired = [];
  for (let i = 0; i < size; i++) expired.push((await requestFromContract()).req);
  await networkHelpers.time.increase(Number(CONFIG.requestTimeout) + 1);
  const receipt = await (await router.connect(relayer).timeoutBatch(expired, { gasLimit: 16_000_000 })).wait();
  rows.push([`timeoutBatch(${size}) per request`, receipt!.gasUsed / BigInt(size), ""]);
}

// Payouts leave a marker in each fee slot, so the next credit still rewrites a slot rather than creating one.
const afterPayout = await requestFromEoa();
await (await router.connect(relayer).withdrawEarnings(relayer.address)).wait();
await (await router.connect(agentOwner).withdrawEarnings(agentOwner.address)).wait();
await (await router.withdrawProtocolFees()).wait();
await (await stakingHub.harvest(afterPayout.req.worker)).wait();
rows.push(["fulfill after every payee was paid out", await fulfilGas(afterPayout.req), ""]);

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`Gas per transaction (Hardhat EDR, solc 0.8.28, optimizer on; StakingHub with ${WORKERS} pools of one worker; includes 21,000 intrinsic gas)`);
for (const [name, gas, note] of rows) {
  console.log(`${name.padEnd(width)}  ${gas.toLocaleString("en-US").padStart(10)}  ${note}`);
}
