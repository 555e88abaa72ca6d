/**
 * Every gas benchmark in one process: `npm run gas:check` (also the last step of `npm test`) fails
 * when a figure grew beyond the tolerance, has no snapshot, or docs/ARCHITECTURE.md's generated
 * tables are stale; `npm run gas:update` rewrites gas/*.json and those tables.
 */
import { ALL_BENCHES } from "./lib/benches.js";
import { runBenches } from "./lib/run.js";

process.exit(await runBenches(ALL_BENCHES));
