import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { REQUEST_GAS_MARGIN } from "../../protocol/request.js";
import { MAX_DRAWS, prevrandaoForDraw } from "../../scripts/lib/assignment.js";
import { openFundedAccount } from "../../devkit/billing.js";
import { attachAgentNetwork, type AgentNetwork } from "../../devkit/contracts.js";
import { deployAgentNetwork } from "../../devkit/deployment.js";
import { encodeAction, govern } from "../../devkit/governance.js";
import { addSimulatedWorker } from "../../devkit/workers.js";

const connection = await network.create();
const { ethers } = connection;
const PHA = (n: string | number) => ethers.parseEther(String(n));
const RESTRICTED = keccak256(toUtf8Bytes("test: restricted runtime"));

/**
 * The worker draw follows prevrandao, so eth_estimateGas (pending block) can see a cheaper
 * assignment than the transaction gets. One eligible pool in eight: the estimate is taken where the
 * first draw succeeds, the transaction runs where only the last one does.
 */
describe("request gas limit: eth_estimateGas + REQUEST_GAS_MARGIN", function () {
  let net: AgentNetwork;
  let agentId: bigint;
  let restricted: string;
  let caller: string;

  before(async function () {
    const [deployer, operator, agentOwner] = await ethers.getSigners();
    net = await attachAgentNetwork(connection, await deployAgentNetwork(connection, { outDir: null }), deployer!);
    caller = deployer!.address;
    // The registry belongs to the timelock: approving a measurement is a proposal (the deployer holds the votes).
    await govern(
      connection,
      net,
      [encodeAction(net, { contract: "workerRegistry", function: "setMeasurementApproved", args: [RESTRICTED, true] })],
      "Approve a restricted runtime",
    );
    for (let i = 0; i < 8; i++) {
      const enclave = new Wallet(keccak256(toUtf8Bytes(`margin worker ${i}`)));
      await addSimulatedWorker(net, operator!, enclave, PHA(10_000), "http://127.0.0.1:1", i === 0 ? RESTRICTED : SIMULATED_MEASUREMENT);
      if (i === 0) restricted = enclave.address;
    }
    await (await net.agentRegistry.connect(agentOwner!).registerAgent(keccak256(toUtf8Bytes("code")), "file:///a.js", PHA(1), [RESTRICTED], true)).wait();
    agentId = await net.agentRegistry.agentCount();
    await openFundedAccount(net, [caller], PHA(1_000));
  });

  const send = (gasLimit: bigint) => net.router.request(1, agentId, toUtf8Bytes("hi"), 0, 100_000, PHA(5), { gasLimit });
  const setPrevrandao = (value: string) => ethers.provider.send("hardhat_setPrevRandao", [value]);

  it("runs out of gas with the bare estimate when execution needs every draw, and succeeds with the margin", async function () {
    const requestId = (await net.router.requestCount()) + 1n;
    const isEligible = (worker: string) => worker === restricted;
    const firstDraw = await prevrandaoForDraw(1, net.stakingHub, requestId, caller, isEligible);
    const lastDraw = await prevrandaoForDraw(MAX_DRAWS, net.stakingHub, requestId, caller, isEligible);

    await setPrevrandao(firstDraw);
    const estimate = await net.router.request.estimateGas(1, agentId, toUtf8Bytes("hi"), 0, 100_000, PHA(5));

    await setPrevrandao(lastDraw);
    const failure = await send(estimate)
      .then((tx) => tx.wait())
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(String(failure)).to.match(/out of gas/i);
    expect(await net.router.requestCount()).to.equal(requestId - 1n, "nothing requested");

    await setPrevrandao(lastDraw);
    const receipt = await (await send(estimate + REQUEST_GAS_MARGIN)).wait();
    expect(receipt!.status).to.equal(1);
    expect(receipt!.gasUsed > estimate, "execution needed more than the estimate").to.equal(true);
    expect(await net.router.requestCount()).to.equal(requestId);
  });

  it("covers the worst case measured in the committed gas snapshot", function () {
    const snapshot = JSON.parse(readFileSync("gas/router.json", "utf8")) as Record<string, number>;
    const best = snapshot["64 pools of one worker / request, restricted agent, eligible worker at draw 1"];
    const worst = snapshot["64 pools of one worker / request, restricted agent, eligible worker at draw 8 (worst)"];
    expect(best, "snapshot rows").to.be.a("number");
    expect(worst, "snapshot rows").to.be.a("number");
    expect(REQUEST_GAS_MARGIN >= BigInt(worst! - best!), `margin ${REQUEST_GAS_MARGIN} < ${worst! - best!}`).to.equal(true);
  });
});
