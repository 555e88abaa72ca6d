import { Command } from "commander";
import { ProvisioningError } from "../../gatekeeper/client.js";
import { startWorker } from "./app.js";
import { ConfigError, EnclaveError } from "./errors.js";
import { loadConfig } from "./config.js";

const program = new Command()
  .name("worker")
  .description("Phala agent worker (pRuntime): runs agents in a sandbox and signs their answers")
  .option("-c, --config <path>", "JSON config file", process.env.WORKER_CONFIG ?? "worker.config.json")
  .parse();

try {
  const worker = await startWorker(loadConfig(program.opts<{ config: string }>().config));
  const stop = () => void worker.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  if (error instanceof ConfigError || error instanceof EnclaveError || error instanceof ProvisioningError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
