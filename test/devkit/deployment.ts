import { expect } from "chai";
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { addConsumer, createAccount, fundAccount } from "../../devkit/billing.js";
import { attachAgentNetwork, withSigner, type AgentNetwork } from "../../devkit/contracts.js";
import { deployAgentNetwork } from "../../devkit/deployment.js";
import { bringWorkerOnline, simulatedAttestation } from "../../devkit/workers.js";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../protocol/request.js";
import { SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const PHA = (n: string | number) => ethers.parseEther(String(n));

describe("devkit deployment: router + real StakingHub (Ignition module), worker brought online", function () {
  let net: AgentNetwork;
  let enclave: Wallet;
  let accountId: bigint;

  async function request(input = "hello"): Promise<AgentRequest> {
    const receipt = await (await net.router.request(accountId, 1, toUtf8Bytes(input), 0, 100_000, PHA(5))).wait();
    for (const log of receipt!.logs) {
      const parsed = net.router.interface.parseLog(log);
      if (parsed?.name === "AgentRequested") return toAgentRequest(parsed.args.request.toObject());
    }
    throw new Error("no AgentRequested");
  }

  before(async function () {
    const [deployer, operator, agentOwner] = await ethers.getSigners();
    net = await attachAgentNetwork(connection, await deployAgentNetwork(connection, { outDir: null }), deployer!);
    enclave = Wallet.createRandom() as unknown as Wallet;
    await (await net.pha.transfer(operator!, PHA(10_000))).wait();
    await bringWorkerOnline(withSigner(net, operator!), await simulatedAttestation(net, enclave, operator!.address), { endpoint: "http://127.0.0.1:1", stake: PHA(10_000) });
    await (await net.agentRegistry.connect(agentOwner!).registerAgent(keccak256(toUtf8Bytes("code")), "file:///a.js", PHA(1), [], true)).wait();
    accountId = await createAccount(net);
    await addConsumer(net, accountId, deployer!.address);
    await fundAccount(net, accountId, PHA(1_000));
  });

  it("wires every contract to the others", async function () {
    expect(await net.router.staking()).to.equal(await net.stakingHub.getAddress());
    expect(await net.router.keyRegistry()).to.equal(await net.keyRegistry.getAddress());
    expect(await net.stakingHub.router()).to.equal(await net.router.getAddress());
    expect(await net.workerRegistry.router()).to.equal(await net.router.getAddress());
    expect(await net.workerRegistry.isVerifierApproved(await net.simulatedVerifier.getAddress())).to.equal(true);
    expect(await net.workerRegistry.isVerifierApproved(await net.quorumVerifier.getAddress())).to.equal(true);
    expect(await net.workerRegistry.isMeasurementApproved(SIMULATED_MEASUREMENT)).to.equal(true);
    expect(net.deployment.chainId).to.equal(31337);
  });

  it("assigns the staked worker, settles its answer, and pays the pool through harvest", async function () {
    const req = await request();
    expect(req.worker).to.equal(enclave.address);
    const output = toUtf8Bytes("ok");
    const { chainId } = await ethers.provider.getNetwork();
    const signature = await enclave.signTypedData(routerDomain(chainId, await net.router.getAddress()), FULFILLMENT_TYPES as never, {
      requestId: req.id, requestHash: requestHash(req), outputHash: keccak256(output), status: 0, subAgentIds: [], worker: enclave.address,
    });
    await (await net.router.fulfill({ request: req, status: 0, output, subAgentIds: [], signature })).wait();
    const fee = await net.router.workerFees(enclave.address);
    expect(fee).to.be.greaterThan(0n);
    const hubBefore = await net.pha.balanceOf(await net.stakingHub.getAddress());
    await (await net.stakingHub.harvest(enclave.address)).wait();
    expect(await net.router.workerFees(enclave.address)).to.equal(0n);
    expect(await net.pha.balanceOf(await net.stakingHub.getAddress())).to.equal(hubBefore + fee);
  });

  it("refunds a timed-out request and slashes the worker's pool, rewarding the caller", async function () {
    const [, , , reporter] = await ethers.getSigners();
    const req = await request("late");
    const accountBefore = await net.router.accountOf(accountId);
    const hubBefore = await net.pha.balanceOf(await net.stakingHub.getAddress());
    const reporterBefore = await net.pha.balanceOf(reporter!.address);
    await networkHelpers.time.increaseTo(req.deadline + 1n);
    await expect(net.router.connect(reporter!).timeout(req)).to.emit(net.stakingHub, "Slashed");
    const accountAfter = await net.router.accountOf(accountId);
    expect(accountAfter.reserved).to.equal(accountBefore.reserved - req.maxFee);
    expect(accountAfter.balance).to.equal(accountBefore.balance);
    expect(await net.pha.balanceOf(await net.stakingHub.getAddress())).to.be.lessThan(hubBefore);
    expect(await net.pha.balanceOf(reporter!.address)).to.be.greaterThan(reporterBefore);
  });
});
