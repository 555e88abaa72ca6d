import { createRequire } from "node:module";
import hardhatToolboxMochaEthersPlugin from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";
import agentDevkit from "./devkit/index.js";
import transientSlotWarning from "./scripts/hardhat/transient-slot-warning.js";

// Hardhat cannot download compilers on our machines: compile with the wasm build shipped in the
// pinned npm `solc` package instead.
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.28";
const DEEP = process.env.TEST_PROFILE === "deep";
const solcSettings = {
  version: SOLC_VERSION,
  path: require.resolve("solc/soljson.js"),
  settings: {
    // 500 runs, not more: at 1,000 the AgentRouter passes the 24,576-byte code size limit (EIP-170).
    // Against 10,000 runs this costs a fulfilment about 1% more gas (measured in the router's tests).
    optimizer: { enabled: true, runs: 500 },
    evmVersion: "cancun",
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthersPlugin, agentDevkit, transientSlotWarning],
  solidity: {
    profiles: {
      default: solcSettings,
      production: solcSettings,
    },
    // Chainlink's own example Functions client, compiled unchanged from the package: the adapter's
    // tests run it against FunctionsRouterAdapter.
    npmFilesToBuild: ["@chainlink/contracts/src/v0.8/functions/v1_0_0/example/FunctionsClientExample.sol"],
  },
  paths: {
    tests: { solidity: "test", mocha: "test" },
  },
  // No TypeChain run after each compilation: its output paths would depend on which files that
  // compilation held. scripts/hardhat/build.ts generates the types once over every contract.
  typechain: { dontOverrideCompile: true },
  test: {
    // `npm test` keeps fuzzing light; `npm run test:deep` (TEST_PROFILE=deep, run before every
    // release) takes each fuzz test to 1,000 runs and each invariant to 200 x 50 = 10,000 calls.
    solidity: DEEP
      ? { fuzz: { runs: 1_000 }, invariant: { runs: 200, depth: 50, failOnRevert: false } }
      : { fuzz: { runs: 256 }, invariant: { runs: 64, depth: 50, failOnRevert: false } },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
});
