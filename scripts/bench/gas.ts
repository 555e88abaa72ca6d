/**
 * Gas benchmark of the request lifecycle on Hardhat's in-process EVM (npm run bench:gas).
 * Prints gasUsed of whole transactions (21,000 intrinsic gas included) for: request (EOA consumer
 * and contract consumer), single fulfil with an empty callback, fulfilBatch of 1/10/50, timeout.
 */
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes, type HDNodeWallet, type TransactionReceipt } from "ethers";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../../protocol/attestation.js";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../protocol/request.js";

const { ethers, networkHelpers } = await network.create();
const [deployer, operator, agentOwner, relayer, treasury] = await ethers.getSigners();
const CONFIG = {
  workerFee: ethers.parseEther("0.1"),
  phaPerGas: 1_000_000_000n,
  protocolFeeBps: 500,
  fulfillOverheadGas: 40_000,
  maxCallbackGasLimit: 2_000_000,
  requestTimeout: 300,
};
const WORKERS = 8;

const token = await ethers.deployContract("PhalaToken", [deployer.address]);
const agents = await ethers.deployContract("AgentRegistry");
const workers = await ethers.deployContract("WorkerRegistry", [deployer.address]);
const verifier = await ethers.deployContract("SimulatedTeeVerifier", [new Wallet(DEV_ATTESTATION_PRIVATE_KEY).address, 86_400 * 30]);
const router = await ethers.deployContract("AgentRouter", [
  token, agents, workers, deployer.address, treasury.address, CONFIG, 16_384,
]);
const staking = await ethers.deployContract("MockWorkerStaking");
const consumer = await ethers.deployContract("EmptyConsumer", [router]);
await (await router.setStaking(staking)).wait();
await (await workers.setRouter(router)).wait();
await (await workers.setVerifierApproved(verifier, true)).wait();
await (await workers.setMeasurementApproved(SIMULATED_MEASUREMENT, true)).wait();

const { chainId } = await ethers.provider.getNetwork();
const enclaves = new Map<string, Wallet | HDNodeWallet>();
for (let i = 0; i < WORKERS; i++) {
  const enclave = Wallet.createRandom();
  const issuedAt = BigInt(await networkHelpers.time.latest());
  const evidence = encodeSimulatedEvidence(reportDataFor(enclave.address, chainId, await workers.getAddress()), SIMULATED_MEASUREMENT, issuedAt);
  await (await workers.connect(operator).registerWorker(enclave.address, verifier, evidence, `http://127.0.0.1:${9000 + i}`)).wait();
  await (await staking.addWorker(enclave.address)).wait();
  enclaves.set(enclave.address, enclave);
}
await (await agents.connect(agentOwner).registerAgent(keccak256(toUtf8Bytes("bench agent")), "file:///bench.js", ethers.parseEther("1"), [], true)).wait();
await (await router.createAccount()).wait();
await (await router.addConsumer(1, deployer.address)).wait();
await (await router.addConsumer(1, consumer)).wait();
await (await token.approve(router, ethers.MaxUint256)).wait();
await (await router.fund(1, ethers.parseEther("1000000"))).wait();
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

// Warm-up: first-time storage writes (earnings slots going from zero) are a one-off per address.
await fulfilGas((await requestFromEoa()).req);

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
await networkHelpers.time.increase(CONFIG.requestTimeout + 1);
const timeoutReceipt = await (await router.connect(relayer).timeout(late.req)).wait();
rows.push(["timeout (mock staking slash hook)", timeoutReceipt!.gasUsed, ""]);

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`Gas per transaction (Hardhat EDR, solc 0.8.28, optimizer on; ${WORKERS} workers; includes 21,000 intrinsic gas)`);
for (const [name, gas, note] of rows) {
  console.log(`${name.padEnd(width)}  ${gas.toLocaleString("en-US").padStart(10)}  ${note}`);
}
