/**
 * Router gas benchmark (npm run bench:gas [-- --check | --update]): request, fulfil (EOA and
 * contract consumer), fulfilBatch of 1/10/50, timeout, timeoutBatch of 10/50 and a fulfil after payouts, with 8 and with
 * 64 pools, and the request's assignment margin. See lib/router-gas.ts; snapshot: gas/router.json.
 */
import { ROUTER_BENCH } from "./lib/benches.js";
import { runBenches } from "./lib/run.js";

process.exit(await runBenches([ROUTER_BENCH]));
