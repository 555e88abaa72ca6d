/**
 * A Chainlink Functions consumer on the agent network: deploys ChainlinkFunctionsConsumer (Chainlink's
 * documented consumer, built on Chainlink's own FunctionsClient) with the FunctionsRouterAdapter's
 * address as its router, opens a subscription funded with PHA, sends inline JavaScript and waits for
 * `fulfillRequest` to store the response or the error.
 *   npx hardhat run scripts/examples/chainlink-functions.ts --network localhost
 * Env: SOURCE (the JavaScript; default multiplies its two args), ARGS (comma-separated, default
 * "6,7"), GAS_LIMIT (callback gas, default 300000), DEPLOYMENT (default deployments/<network>.json).
 */
import { AbiCoder, formatEther, hexlify, parseEther, toUtf8String, type Signer } from "ethers";
import { network } from "hardhat";
import { attachAgentNetwork } from "../../devkit/contracts.js";
import { readDeployment } from "../../devkit/deployment.js";
import { attachFunctionsAdapter, createSubscription } from "../../devkit/functions.js";
import { REQUEST_GAS_MARGIN } from "../../protocol/request.js";

const DEFAULT_SOURCE = "const [a, b] = args.map(BigInt);\nreturn Functions.encodeUint256(a * b);";

const connection = await network.getOrCreate();
const deployment = await readDeployment(process.env.DEPLOYMENT ?? `deployments/${connection.networkName}.json`);
const adapterAddress = deployment.contracts.functionsRouter;
const donId = deployment.local?.functions?.donId;
if (adapterAddress === undefined || donId === undefined) {
  throw new Error("the deployment has no FunctionsRouterAdapter: start `npm run local` (it deploys one)");
}
const { ethers } = connection;
const [owner] = (await ethers.getSigners()) as Signer[];
const net = await attachAgentNetwork(connection, deployment, owner!);
const adapter = await attachFunctionsAdapter(connection, adapterAddress, owner!);

// The only line that differs from a deployment on Chainlink: the router address.
const consumer = await ethers.deployContract("ChainlinkFunctionsConsumer", [adapterAddress]);
await consumer.waitForDeployment();
const subscriptionId = await createSubscription(net, adapter, { funding: parseEther("10"), consumers: [await consumer.getAddress()] });
console.log(`ChainlinkFunctionsConsumer at ${await consumer.getAddress()}, router ${adapterAddress}; subscription ${subscriptionId} funded with 10 PHA`);

const source = process.env.SOURCE ?? DEFAULT_SOURCE;
const args = (process.env.ARGS ?? "6,7").split(",").filter((arg) => arg !== "");
const gasLimit = Number(process.env.GAS_LIMIT ?? 300_000);
const send = () => consumer.sendRequest.estimateGas(source, "0x", 0, 0, args, [], subscriptionId, gasLimit, donId);
// The router draws the worker from prevrandao, which differs between the estimate and the transaction.
const receipt = await (
  await consumer.sendRequest(source, "0x", 0, 0, args, [], subscriptionId, gasLimit, donId, { gasLimit: (await send()) + REQUEST_GAS_MARGIN })
).wait();
const requestId = consumer.interface.parseLog(receipt!.logs.find((log) => log.address === consumer.target)!)!.args.id as string;
console.log(`Sent request ${requestId} (router request ${BigInt(requestId)}) with args [${args.join(", ")}]; waiting for the answer...`);

for (const started = Date.now(); Date.now() - started < 120_000; await new Promise((resolve) => setTimeout(resolve, 1_000))) {
  const [event] = await consumer.queryFilter(consumer.filters.Response(requestId));
  if (event === undefined) continue;
  const response = hexlify(event.args.response);
  const err = toUtf8String(event.args.err);
  const asUint = response.length === 66 ? ` (uint256 ${AbiCoder.defaultAbiCoder().decode(["uint256"], response)[0]})` : "";
  console.log(`Answered on-chain: response ${response}${asUint}, err "${err}"`);
  const subscription = await adapter.getSubscription(subscriptionId);
  console.log(`Subscription ${subscriptionId} balance ${formatEther(subscription.balance)} PHA`);
  process.exit(0);
}
const status = await adapter.requestStatus(requestId);
throw new Error(`no answer to ${requestId} after 120 s (adapter status ${status}): is \`npm run local\` running?`);
