import { Command } from "commander";
import { loadConfig } from "./config.js";
import { createGatekeeper } from "./gatekeeper.js";

const program = new Command("gatekeeper").description("Phala agent gatekeeper: attests workers, provisions and rotates the cluster key");

program
  .command("serve")
  .description("run the HTTP API (and the rotation schedule if configured); config from GATEKEEPER_CONFIG + env")
  .action(async () => {
    const gatekeeper = createGatekeeper(loadConfig());
    await gatekeeper.start();
    const shutdown = () => void gatekeeper.stop().then(() => process.exit(0));
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });

program
  .command("rotate")
  .description("propose the next cluster-key epoch now, collecting signatures from the configured peers")
  .action(async () => {
    const gatekeeper = createGatekeeper(loadConfig());
    const proposed = await gatekeeper.coordinator.rotateNow();
    console.log(JSON.stringify(proposed));
  });

await program.parseAsync();
