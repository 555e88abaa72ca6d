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
    optimizer: { enabled: true, runs: 10_000 },
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
  },
  paths: {
    tests: { solidity: "test", mocha: "test" },
  },
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
