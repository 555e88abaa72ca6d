/**
 * Deploys the ReviewScore consumer on a running network, lets it spend the billing account, asks
 * the agent to score a review and waits for the answer to land in the contract.
 *   AGENT_ID=3 npx hardhat run scripts/examples/review-score.ts --network localhost
 * Env: AGENT_ID (required: the review-score agent's id), ACCOUNT_ID (default: the local network's),
 * TEXT (the review), DEPLOYMENT (default deployments/<network>.json).
 */
import { network } from "hardhat";
import { readDeployment } from "../../devkit/deployment.js";
import { REQUEST_GAS_MARGIN } from "../../protocol/request.js";

const connection = await network.getOrCreate();
const deployment = await readDeployment(process.env.DEPLOYMENT ?? `deployments/${connection.networkName}.json`);
const agentId = process.env.AGENT_ID;
const accountId = process.env.ACCOUNT_ID ?? deployment.local?.accountId;
if (agentId === undefined || accountId === undefined) {
  throw new Error("set AGENT_ID (from `npx hardhat agent:register agents/review-score/index.ts`) and, off `npm run local`, ACCOUNT_ID");
}

const { ethers } = connection;
const router = await ethers.getContractAt("AgentRouter", deployment.contracts.router!);
const consumer = await ethers.deployContract("ReviewScore", [router, accountId, agentId]);
await consumer.waitForDeployment();
await (await router.addConsumer(accountId, consumer)).wait();
console.log(`ReviewScore deployed at ${await consumer.getAddress()} and added to billing account ${accountId}`);

const text = process.env.TEXT ?? "A great launch, users love it";
// The worker draw follows prevrandao, which differs between the gas estimate and the transaction.
const receipt = await (await consumer.ask(text, { gasLimit: (await consumer.ask.estimateGas(text)) + REQUEST_GAS_MARGIN })).wait();
const requestId = router.interface.parseLog(receipt!.logs.find((log) => log.address.toLowerCase() === deployment.contracts.router!.toLowerCase())!)!.args
  .requestId as bigint;
console.log(`Asked agent ${agentId} to score "${text}": request ${requestId}; waiting for the answer...`);

for (const started = Date.now(); Date.now() - started < 120_000; await new Promise((resolve) => setTimeout(resolve, 1_000))) {
  const scored = await consumer.queryFilter(consumer.filters.ReviewScored(requestId));
  const failed = await consumer.queryFilter(consumer.filters.ReviewFailed(requestId));
  if (scored[0] !== undefined) {
    const review = await consumer.reviews(requestId);
    console.log(`Answered on-chain: score ${review.score} (thousandths), label "${review.label}"`);
    process.exit(0);
  }
  if (failed[0] !== undefined) throw new Error(`the agent answered with an error: ${failed[0].args.message}`);
}
throw new Error(
  `no answer to request ${requestId} after 120 s: is \`npm run local\` running? \`npx hardhat request:status ${requestId} --network ${connection.networkName}\``,
);
