import { measureGatekeeperGas } from "./gatekeeper-gas.js";
import { measureRouterGas } from "./router-gas.js";
import type { Bench } from "./run.js";
import { measureStakingGas } from "./staking-gas.js";

const SETTING = "Hardhat EDR, solc 0.8.28, optimizer on";

export const ROUTER_BENCH: Bench = {
  name: "router",
  title: `Router gas per transaction (${SETTING}; deployed network with StakingHub; 21,000 intrinsic gas included)`,
  measure: measureRouterGas,
};

export const STAKING_BENCH: Bench = {
  name: "staking",
  title: `StakingHub gas (${SETTING}; receipt gasUsed; slash through the mock router)`,
  measure: measureStakingGas,
};

export const GATEKEEPER_BENCH: Bench = {
  name: "gatekeeper",
  title: `Gatekeeper quorum paths (${SETTING}; whole transactions)`,
  measure: measureGatekeeperGas,
};

export const ALL_BENCHES = [ROUTER_BENCH, STAKING_BENCH, GATEKEEPER_BENCH];
