/**
 * npm run chaos: the bridge's bad-day run at full size (issue 13): anvil with 1 s blocks, 1,000
 * requests in 250 transactions, the bridge started by its CLI and SIGKILLed 20 times, 10% of its
 * JSON-RPC calls failing (500s, JSON-RPC errors, 5-30 s hangs, dropped connections, lost answers)
 * and some eth_getLogs answers trailing, workers healthy / slow and down 10 s in every 45 s /
 * always down / hung / answering 64 KiB. Prints what happened to every request; exits 1 unless
 * 0 lost, 0 timed out while their worker was up, 0 double-paid, 0 reserved left, and drained
 * within 60 s of the last kill.
 * Env: CHAOS_REQUESTS (1000), CHAOS_KILLS (20), CHAOS_FAULT_RATE (0.1), CHAOS_SEED (1), CHAOS_KEEP=1 (keep the
 * bridge's directory), CHAOS_LOG_LEVEL (the bridge's, default info).
 */
import { formatReport, runChaos } from "../bridge/dev/chaos.js";

const requests = Number(process.env.CHAOS_REQUESTS ?? 1_000);
const kills = Number(process.env.CHAOS_KILLS ?? 20);
const rate = Number(process.env.CHAOS_FAULT_RATE ?? 0.1);
const seed = Number(process.env.CHAOS_SEED ?? 1);
const DRAIN_LIMIT_MS = 60_000;

const report = await runChaos({
  requests,
  perTx: 4,
  loadSeconds: 90,
  kills,
  killEveryMs: [5_000, 9_000],
  deadForMs: [300, 2_000],
  faults: { rate, hangMs: [5_000, 30_000], lag: { rate: 0.05, blocks: 3, logsOnly: true }, seed },
  workers: ["healthy", "slow", "down", "hung", "large"],
  slow: { delayMs: 1_000, periodMs: 45_000, downMs: 10_000 },
  requestTimeout: 90,
  timeWarp: false,
  drainLimitMs: DRAIN_LIMIT_MS,
  seed,
  keep: process.env.CHAOS_KEEP === "1",
  bridge: process.env.CHAOS_LOG_LEVEL ? { logLevel: process.env.CHAOS_LOG_LEVEL as "debug" } : undefined,
  log: (line) => console.log(`${new Date().toISOString()} chaos: ${line}`),
});
console.log(`\n== chaos (${requests} requests, ${kills} SIGKILLs, ${rate * 100}% RPC faults, seed ${seed}) ==`);
console.log(formatReport(report));
const ok =
  report.lost === 0 &&
  report.timedOutWorkerUp === 0 &&
  report.doublePaid === 0 &&
  report.reservedLeft === 0n &&
  report.drainMs !== undefined &&
  report.drainMs <= DRAIN_LIMIT_MS;
console.log(ok ? "\nPASS" : "\nFAIL");
process.exit(ok ? 0 : 1);
