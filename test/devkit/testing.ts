import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { network } from "hardhat";
import { withSigner } from "../../devkit/contracts.js";
import { startAgentTestbed, runAgentLocally, type AgentTestbed } from "../../devkit/testing.js";
import { bringWorkerOnline, fundOperator, simulatedAttestation } from "../../devkit/workers.js";
import type { ReviewScore } from "../../types/ethers-contracts/index.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;

describe("devkit test kit (startAgentTestbed)", function () {
  let kit: AgentTestbed;
  let consumer: ReviewScore;
  const dir = mkdtempSync(join(tmpdir(), "devkit-kit-"));
  const sdk = JSON.stringify(join(process.cwd(), "worker/sdk/index.js"));

  before(async function () {
    kit = await startAgentTestbed(connection, { agents: { score: "agents/review-score/index.ts" } });
    consumer = (await ethers.deployContract("ReviewScore", [kit.router, kit.accountId, kit.agents.score!.agentId])) as unknown as ReviewScore;
    await kit.addConsumer(consumer);
  });

  after(async function () {
    await kit?.close();
  });

  it("answers only what is pending, once", async function () {
    await (await consumer.ask("great")).wait();
    await (await consumer.ask("awful")).wait();
    const answers = await kit.answerPending();
    expect(answers.map((a) => a.statusName)).to.deep.equal(["OK", "OK"]);
    expect((await consumer.reviews(answers[1]!.requestId)).label).to.equal("negative");
    expect(await kit.answerPending(), "nothing left to answer").to.deep.equal([]);
  });

  it("delivers an agent's failure as a signed error status to the consumer's error hook", async function () {
    const entry = join(dir, "broken.ts");
    writeFileSync(entry, `import { defineAgent } from ${sdk};\nexport default defineAgent(() => { throw new Error("model offline"); });\n`);
    const broken = await kit.registerAgent(entry);
    const brokenConsumer = (await ethers.deployContract("ReviewScore", [kit.router, kit.accountId, broken.agentId])) as unknown as ReviewScore;
    await kit.addConsumer(brokenConsumer);
    await (await brokenConsumer.ask("anything")).wait();
    const [answer] = await kit.answerPending();
    expect(answer!.statusName).to.equal("AGENT_ERROR");
    expect(answer!.text).to.include("model offline");
    expect(answer!.callbackSucceeded).to.equal(true);
    const [failed] = await brokenConsumer.queryFilter(brokenConsumer.filters.ReviewFailed(answer!.requestId));
    expect(failed!.args.message).to.include("model offline");
  });

  it("leaves a request past its deadline to timeOutExpired, which refunds it", async function () {
    const reservedBefore = (await kit.router.accountOf(kit.accountId)).reserved;
    await (await consumer.ask("too late")).wait();
    await networkHelpers.time.increase(3600);
    expect(await kit.answerPending()).to.deep.equal([]);
    const [timedOut] = await kit.timeOutExpired();
    expect(await kit.router.isPending(timedOut!)).to.equal(false);
    expect((await kit.router.accountOf(kit.accountId)).reserved).to.equal(reservedBefore);
  });

  it("refuses to answer for a worker whose enclave key it does not hold", async function () {
    const signers = await ethers.getSigners();
    const operator = signers[3]!;
    const kitWorker = kit.workers[0]!.enclave.address;
    const [poolId] = await kit.net.stakingHub.workerInfo(kitWorker);
    const stranger = Wallet.createRandom();
    const operatorNet = withSigner(kit.net, operator);
    // The same operator swaps its workers: every new request now goes to a key the kit lacks.
    await (await operatorNet.stakingHub.removeWorker(poolId, kitWorker)).wait();
    await fundOperator(kit.net, operator, ethers.parseEther("1000"));
    await bringWorkerOnline(operatorNet, await simulatedAttestation(kit.net, stranger, operator.address), {
      endpoint: "http://127.0.0.1:1",
      stake: ethers.parseEther("1000"),
    });
    await (await consumer.ask("who answers?")).wait();
    let refused: Error | undefined;
    await kit.answerPending().catch((error: Error) => (refused = error));
    expect(refused?.message).to.match(new RegExp(`assigned to worker ${stranger.address}, whose enclave key this test kit does not hold`));
  });

  it("runs an agent without a chain for its own unit tests", async function () {
    const run = await runAgentLocally("agents/sentiment/index.ts", { input: new TextEncoder().encode("not good at all") });
    expect(run.statusName).to.equal("OK");
    expect(JSON.parse(Buffer.from(run.output.slice(2), "hex").toString("utf8")).label).to.equal("negative");
  });
});
