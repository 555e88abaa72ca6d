/**
 * Staking hub gas benchmark (npm run bench:staking [-- --check | --update]): stake, harvest, claim,
 * slash and requestWithdrawal by delegator count, sampleWorker by pool count. See lib/staking-gas.ts;
 * snapshot: gas/staking.json.
 */
import { STAKING_BENCH } from "./lib/benches.js";
import { runBenches } from "./lib/run.js";

process.exit(await runBenches([STAKING_BENCH]));
