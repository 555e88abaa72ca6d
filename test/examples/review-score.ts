import { expect } from "chai";
import { network } from "hardhat";
import { startAgentTestbed } from "../../devkit/testing.js";

describe("ReviewScore with the real review-score agent", function () {
  it("stores the score and label the agent computed", async function () {
    const connection = await network.create();
    const kit = await startAgentTestbed(connection, { agents: { score: "agents/review-score/index.ts" } });
    try {
      const args = [kit.router, kit.accountId, kit.agents.score!.agentId];
      const consumer = await connection.ethers.deployContract("ReviewScore", args);
      await kit.addConsumer(consumer);
      await (await consumer.ask("A great launch, users love it")).wait();

      const [answer] = await kit.answerPending();
      expect(answer!.statusName).to.equal("OK");
      expect(answer!.callbackSucceeded).to.equal(true);
      const review = await consumer.reviews(answer!.requestId);
      expect(review.label).to.equal("positive");
      expect(review.score).to.be.greaterThan(500n);
    } finally {
      await kit.close();
    }
  });
});
