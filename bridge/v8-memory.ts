import { setFlagsFromString } from "node:v8";

/**
 * Imported first by the CLI. With many pending requests the bridge allocates fast (event scans,
 * store rows), and V8's default sizing for a machine with free memory then grows the young
 * generation and keeps freed pages committed: 300-480 MB resident for 100k pending requests.
 * Favouring size holds it near 160 MB at no measurable cost to throughput (npm run bench:bridge).
 * Set at start-up, before the heap grows; the CLI process is the bridge's own.
 */
setFlagsFromString("--optimize-for-size");
