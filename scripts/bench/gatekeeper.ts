/**
 * Gatekeeper gas benchmark (npm run bench:gatekeeper [-- --check | --update]): quorum attestation,
 * key rotation and epoch check for 2-of-3, 3-of-5 and 5-of-7. See lib/gatekeeper-gas.ts; snapshot:
 * gas/gatekeeper.json.
 */
import { GATEKEEPER_BENCH } from "./lib/benches.js";
import { runBenches } from "./lib/run.js";

process.exit(await runBenches([GATEKEEPER_BENCH]));
