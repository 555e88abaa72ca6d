import { setFlagsFromString } from "node:v8";

/**
 * Imported first by the CLI. With many pending requests the bridge allocates fast (event scans,
 * store rows), and V8's default sizing for a machine with free memory then grows the young
 * generation and keeps freed pages committed: 300-480 MB resident for 100k pending requests.
 * Favouring size holds it under ~200 MB for ~50% more CPU per request (~2 ms instead of ~1.3 ms;
 * npm run bench:bridge, bridge/README.md).
 * Set at start-up, before the heap grows; the CLI process is the bridge's own.
 */
setFlagsFromString("--optimize-for-size");
