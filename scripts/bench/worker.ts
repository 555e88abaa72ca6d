/**
 * Worker sandbox benchmark: cold start of an agent sandbox and runs/s of a trivial agent.
 * Every run is a cold start: a fresh QuickJS runtime + context (in a reused engine instance), the prelude, the bundle evaluated,
 * the agent called, everything disposed. Targets: cold start <= 10 ms, >= 1,000 runs/s per core.
 * An agent using randomness or host calls also compiles the prelude's lazily compiled parts; the
 * cold start of one using ctx.log and ctx.random is printed separately.
 *   npm run bench:worker [-- --runs 2000 --seconds 3]
 */
import { Command } from "commander";
import { newQuickJSWASMModule, RELEASE_SYNC } from "quickjs-emscripten";
import { AgentStatus } from "../../protocol/status.js";
import type { HostServices } from "../../worker/src/sandbox/host-api.js";
import { SandboxPool } from "../../worker/src/sandbox/pool.js";
import { Sandbox, type SandboxRunOptions, type SandboxRunner } from "../../worker/src/sandbox/sandbox.js";

const opts = new Command()
  .option("--runs <n>", "cold starts to time", "2000")
  .option("--seconds <s>", "throughput window", "3")
  .parse()
  .opts<{ runs: string; seconds: string }>();
const RUNS = Number(opts.runs);
const WINDOW_MS = Number(opts.seconds) * 1000;

const TRIVIAL = `var __agent = { default: (input, ctx) => input.length + ":" + ctx.now() };`;
const USES_CTX = `var __agent = { default: (input, ctx) => { ctx.log("run", input); return { r: ctx.random(), now: ctx.now() }; } };`;
const host: HostServices = {
  fetch: async () => ({ url: "", status: 200, statusText: "OK", headers: {}, body: "" }),
  llmChat: async () => ({ content: "", model: "", finishReason: null }),
  callAgent: async () => new Uint8Array(),
  openForwardedInput: async () => new Uint8Array(),
};

function options(source = TRIVIAL): SandboxRunOptions {
  return {
    source,
    input: new TextEncoder().encode("hello agent"),
    agentId: 1n,
    request: { requestId: "1" },
    now: 1_900_000_000_000,
    seed: `0x${"11".repeat(32)}`,
    secrets: {},
    limits: { memoryBytes: 64 << 20, stackBytes: 512 << 10, maxHostCalls: 32, maxOutputBytes: 65536, maxLogLines: 100, maxLogLineBytes: 2048 },
    deadline: Date.now() + 10_000,
    host,
    log: () => {},
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return `p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms, mean ${mean.toFixed(3)} ms (n=${samples.length})`;
}

async function coldStarts(runner: SandboxRunner, n: number, source = TRIVIAL): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const out = await runner.run(options(source));
    samples.push(performance.now() - started);
    if (out.status !== AgentStatus.OK) throw new Error(`run failed: ${out.message}`);
  }
  return samples;
}

async function throughput(runner: SandboxRunner, windowMs: number, concurrency: number): Promise<number> {
  let done = 0;
  const end = performance.now() + windowMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await runner.run(options());
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const moduleStarted = performance.now();
const module = await newQuickJSWASMModule(RELEASE_SYNC);
const moduleMs = performance.now() - moduleStarted;
const bare: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  const runtime = module.newRuntime();
  const context = runtime.newContext();
  bare.push(performance.now() - started);
  context.dispose();
  runtime.dispose();
}

const sandbox = await Sandbox.load();
await coldStarts(sandbox, 200);
const cold = await coldStarts(sandbox, RUNS);
const coldCtx = await coldStarts(sandbox, RUNS, USES_CTX);
const inProcess = await throughput(sandbox, WINDOW_MS, 1);

// One thread, no spare: the figure is per sandbox thread.
const pool = await SandboxPool.start({ threads: 1, maxThreads: 1, graceMs: 1000 });
await coldStarts(pool, 200);
const pooledCold = await coldStarts(pool, Math.min(RUNS, 1000));
const pooled = await throughput(pool, WINDOW_MS, 8);
await pool.close();

// Memory bombs of many small allocations under a 4 MiB limit: the engine instance's WASM memory cap
// stops them; RSS is read before, at the end of the bombs and after ordinary runs.
const BOMBS = [
  `var __agent = { default: () => { const k = []; for (let i = 0; ; i++) k.push({ i }); } };`,
  `var __agent = { default: () => { const k = []; for (let i = 0; ; i++) k.push("s" + i + "xxxxxxxxxxxxxxxx"); } };`,
  `var __agent = { default: () => { const k = []; for (let i = 0; ; i++) k.push(() => i); } };`,
];
const mib = (bytes: number) => (bytes / 1048576).toFixed(0);
const rssBefore = process.memoryUsage().rss;
const bombResults: string[] = [];
for (let round = 0; round < 3; round++) {
  for (const source of BOMBS) {
    const started = performance.now();
    const out = await sandbox.run({ ...options(source), limits: { ...options().limits, memoryBytes: 4 << 20 }, deadline: Date.now() + 20_000 });
    if (round === 0)
      bombResults.push(`${out.status === AgentStatus.MEMORY_LIMIT ? "MEMORY_LIMIT" : out.status} in ${(performance.now() - started).toFixed(0)} ms`);
  }
}
const rssPeak = process.memoryUsage().rss;
await coldStarts(sandbox, 500);
await new Promise((resolve) => setTimeout(resolve, 1000));
const rssAfter = process.memoryUsage().rss;

console.log("worker sandbox benchmark (QuickJS release-sync, one fresh runtime+context per run)");
console.log(`  WASM module compile (once per process):  ${moduleMs.toFixed(1)} ms`);
console.log(`  bare runtime+context creation:          ${summary(bare)}`);
console.log(`  cold start, full run, in-process:       ${summary(cold)}   [target <= 10 ms]`);
console.log(`  cold start, agent using ctx.log+random:   ${summary(coldCtx)}`);
console.log(`  cold start, full run, via sandbox thread: ${summary(pooledCold)}`);
console.log(`  runs/s, one core, in-process:           ${inProcess.toFixed(0)}   [target >= 1000]`);
console.log(`  runs/s, one sandbox thread (pool, 8 in flight): ${pooled.toFixed(0)}`);
console.log(`  memory bombs (objects, strings, closures; 4 MiB limit): ${bombResults.join(", ")}`);
console.log(`  RSS: ${mib(rssBefore)} MiB before 9 bombs, ${mib(rssPeak)} MiB after them, ${mib(rssAfter)} MiB after 500 ordinary runs`);
