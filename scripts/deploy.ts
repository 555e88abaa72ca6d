/**
 * Deploys the agent network with Hardhat Ignition and writes deployments/<network>.json.
 *   npx hardhat run scripts/deploy.ts                      (in-process network)
 *   npx hardhat run scripts/deploy.ts --network localhost  (a running node, e.g. `npx hardhat node`)
 */
import { network } from "hardhat";
import { deployAgentNetwork } from "../devkit/deployment.js";

const connection = await network.create();
const deployment = await deployAgentNetwork(connection);
console.log(JSON.stringify(deployment, null, 2));
