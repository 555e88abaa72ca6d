/**
 * Runs FakeWorkers in one process (benchmarks): FAKE_WORKER_KEYS=0x...,0x... (or FAKE_WORKER_KEY=0x...)
 * tsx bridge/dev/fake-worker-main.ts; each listens on a port of its own (FAKE_WORKER_PORT for a
 * single one) and the process prints their URLs on one line, separated by spaces.
 */
import { FakeWorker } from "./fake-worker.js";

const keys = (process.env.FAKE_WORKER_KEYS ?? process.env.FAKE_WORKER_KEY ?? "").split(",").filter(Boolean);
if (keys.length === 0) throw new Error("FAKE_WORKER_KEYS (or FAKE_WORKER_KEY) is required");
const workers = keys.map((key) => new FakeWorker({ key }));
const port = keys.length === 1 ? Number(process.env.FAKE_WORKER_PORT ?? 0) : 0;
const urls = await Promise.all(workers.map((worker) => worker.listen(port)));
process.stdout.write(`${urls.join(" ")}\n`);
process.once("SIGTERM", () => void Promise.all(workers.map((worker) => worker.close())).then(() => process.exit(0)));
