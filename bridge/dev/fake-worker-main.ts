/** Runs a FakeWorker in its own process (benchmarks): FAKE_WORKER_KEY=0x... tsx bridge/dev/fake-worker-main.ts; prints its URL. */
import { FakeWorker } from "./fake-worker.js";

const key = process.env.FAKE_WORKER_KEY;
if (!key) throw new Error("FAKE_WORKER_KEY is required");
const worker = new FakeWorker({ key });
process.stdout.write(`${await worker.listen(Number(process.env.FAKE_WORKER_PORT ?? 0))}\n`);
process.once("SIGTERM", () => void worker.close().then(() => process.exit(0)));
