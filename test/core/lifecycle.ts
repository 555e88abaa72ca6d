import { expect } from "chai";
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes, type EventLog } from "ethers";
import { encodeSimulatedEvidence, reportDataFor, SIMULATED_MEASUREMENT, DEV_ATTESTATION_PRIVATE_KEY } from "../../protocol/attestation.js";
import { requestHash, toAgentRequest } from "../../protocol/request.js";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { registrationDigest, signWorkerRegistration } from "../../protocol/worker-registration.js";
import { AgentStatus } from "../../protocol/status.js";

const { ethers, networkHelpers } = await network.create();

const PHA = (n: number | string) => ethers.parseEther(String(n));
const CONFIG = {
  workerFee: PHA("0.5"),
  phaPerGas: 1_000_000_000n,
  protocolFeeBps: 500,
  timeoutPenaltyBps: 20_000,
  fulfillOverheadGas: 60_000,
  maxCallbackGasLimit: 2_000_000,
  requestTimeout: 300,
  maxPendingPerWorker: 16,
};

async function deploy() {
  const [deployer, operator, agentOwner, relayer, treasury] = await ethers.getSigners();
  const token = await ethers.deployContract("PhalaToken", [deployer.address]);
  const agents = await ethers.deployContract("AgentRegistry");
  const workers = await ethers.deployContract("WorkerRegistry", [deployer.address]);
  const devSigner = new Wallet(DEV_ATTESTATION_PRIVATE_KEY);
  const verifier = await ethers.deployContract("SimulatedTeeVerifier", [devSigner.address, 86_400]);
  const router = await ethers.deployContract("AgentRouter", [
    await token.getAddress(),
    await agents.getAddress(),
    await workers.getAddress(),
    deployer.address,
    treasury.address,
    CONFIG,
    4096,
  ]);
  const staking = await ethers.deployContract("MockWorkerStaking");
  await router.setStaking(await staking.getAddress());
  await workers.setRouter(await router.getAddress());
  await workers.setVerifierApproved(await verifier.getAddress(), true);
  await workers.setMeasurementApproved(SIMULATED_MEASUREMENT, true);

  const enclave = Wallet.createRandom();
  const { chainId } = await ethers.provider.getNetwork();
  const now = BigInt(await networkHelpers.time.latest());
  const evidence = encodeSimulatedEvidence(reportDataFor(enclave.address, chainId, await workers.getAddress()), SIMULATED_MEASUREMENT, now);
  const consent = await signWorkerRegistration(enclave, chainId, await workers.getAddress(), operator.address, now + 3600n);
  await workers
    .connect(operator)
    .registerWorker(enclave.address, await verifier.getAddress(), evidence, "http://127.0.0.1:1", consent.deadline, consent.signature);
  await staking.addWorker(enclave.address);

  const code = toUtf8Bytes("export default () => 'positive'");
  await agents.connect(agentOwner).registerAgent(keccak256(code), "file:///agent.js", PHA(2), [], true);

  await router.createAccount();
  await router.addConsumer(1, deployer.address);
  await token.approve(await router.getAddress(), PHA(100));
  await router.fund(1, PHA(100));
  return { token, agents, workers, verifier, router, staking, enclave, chainId, deployer, operator, agentOwner, relayer, treasury };
}

describe("request lifecycle (TS protocol module against the contracts)", function () {
  it("registers a simulated worker, requests, and settles a worker-signed answer", async function () {
    const { router, token, enclave, chainId, agentOwner, relayer, workers } = await networkHelpers.loadFixture(deploy);
    expect((await workers.workerOf(enclave.address)).simulated).to.equal(true);

    const input = toUtf8Bytes("what a great day");
    const tx = await router.request(1, 1, input, 0, 100_000, PHA(10));
    const receipt = await tx.wait();
    const log = receipt!.logs.find((l) => (l as EventLog).fragment?.name === "AgentRequested") as EventLog;
    const req = toAgentRequest(log.args.request.toObject());
    expect(req.worker).to.equal(enclave.address);
    expect(req.inputHash).to.equal(keccak256(input));
    expect(await router.commitmentOf(req.id)).to.equal(requestHash(req));

    const output = toUtf8Bytes("positive");
    const message = {
      requestId: req.id,
      requestHash: requestHash(req),
      outputHash: keccak256(output),
      status: AgentStatus.OK,
      subAgentIds: [],
      subAgentPrices: [],
      worker: enclave.address,
    };
    const signature = await enclave.signTypedData(routerDomain(chainId, await router.getAddress()), FULFILLMENT_TYPES as never, message);
    expect(await router.fulfillmentDigest(message.requestId, message.requestHash, message.outputHash, 0, [], [], enclave.address)).to.equal(
      ethers.TypedDataEncoder.hash(routerDomain(chainId, await router.getAddress()), FULFILLMENT_TYPES as never, message),
    );

    const before = await router.accountOf(1);
    // The capacity fee is priced at request and carried in it, paid with the answer (docs/ARCHITECTURE.md, "Relay capacity is priced").
    const capacityFee = req.capacityFee;
    expect(capacityFee).to.be.greaterThan(0n);
    expect(before.balance).to.equal(PHA(100), "nothing charged before the answer");
    expect(await router.protocolFees()).to.equal(0n);
    await expect(router.connect(relayer).fulfill({ request: req, status: 0, output, subAgentIds: [], subAgentPrices: [], signature })).to.emit(
      router,
      "RequestFulfilled",
    );
    const after = await router.accountOf(1);
    expect(after.reserved).to.equal(0n);
    expect(await router.earnings(agentOwner.address)).to.equal(PHA(2));
    expect(await router.workerFees(enclave.address)).to.equal(PHA("0.5"));
    expect(await router.protocolFees()).to.equal(PHA("0.125") + capacityFee);
    const relayerFee = await router.earnings(relayer.address);
    expect(relayerFee).to.be.greaterThan(0n);
    expect(before.balance - after.balance).to.equal(PHA("2.625") + capacityFee + relayerFee);
    expect(await router.isPending(req.id)).to.equal(false);
    // The router holds exactly what it owes.
    expect(await token.balanceOf(await router.getAddress())).to.equal(after.balance + PHA(2) + PHA("0.5") + PHA("0.125") + capacityFee + relayerFee);
  });

  it("signs the enclave key's registration consent as the registry expects, for its operator only", async function () {
    const { workers, verifier, chainId, deployer, operator } = await networkHelpers.loadFixture(deploy);
    const registry = await workers.getAddress();
    const enclave = Wallet.createRandom();
    const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
    expect(await workers.registrationDigest(enclave.address, operator.address, deadline)).to.equal(
      registrationDigest(chainId, registry, enclave.address, operator.address, deadline),
    );
    const evidence = encodeSimulatedEvidence(reportDataFor(enclave.address, chainId, registry), SIMULATED_MEASUREMENT, deadline - 3600n);
    const consent = await signWorkerRegistration(enclave, chainId, registry, operator.address, deadline);
    // Anyone else sending the same arguments (a front-runner) is refused.
    await expect(workers.connect(deployer).registerWorker(enclave.address, await verifier.getAddress(), evidence, "", consent.deadline, consent.signature))
      .to.be.revertedWithCustomError(workers, "NotSignedByWorker")
      .withArgs(enclave.address, deployer.address);
    await expect(
      workers.connect(operator).registerWorker(enclave.address, await verifier.getAddress(), evidence, "", consent.deadline, consent.signature),
    ).to.emit(workers, "WorkerRegistered");
    expect(await workers.operatorOf(enclave.address)).to.equal(operator.address);
  });
});
