import { expect } from "chai";
import { AgentStatus } from "../../protocol/status.js";
import { HostCallFailure, type HostServices } from "../../worker/src/sandbox/host-api.js";
import { SandboxPool } from "../../worker/src/sandbox/pool.js";
import type { SandboxRunOptions } from "../../worker/src/sandbox/sandbox.js";
import { bundleOf, text } from "./helpers.js";

const host: HostServices = {
  fetch: async (args) => {
    if (args.url.includes("denied")) throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "denied by test");
    return { url: args.url, status: 200, headers: {}, body: "fetched" };
  },
  llmChat: async () => ({ content: "llm", model: "m", finishReason: "stop" }),
  callAgent: async () => new Uint8Array([1]),
};

function options(source: string, wallMs: number, overrides: Partial<SandboxRunOptions> = {}): SandboxRunOptions {
  return {
    source,
    input: new TextEncoder().encode("in"),
    agentId: 1n,
    request: {},
    now: 0,
    seed: `0x${"01".repeat(32)}`,
    secrets: {},
    limits: { memoryBytes: 16 * 1024 * 1024, stackBytes: 256 * 1024, maxHostCalls: 4, maxOutputBytes: 1024, maxLogLines: 5, maxLogLineBytes: 100 },
    deadline: Date.now() + wallMs,
    host,
    log: () => {},
    ...overrides,
  };
}

describe("worker sandbox pool (threads + watchdog)", function () {
  this.timeout(30_000);
  let pool: SandboxPool;
  const recycles: string[] = [];

  before(async () => {
    // One thread and no spare: these tests are about runs sharing a thread.
    pool = await SandboxPool.start({ threads: 1, maxThreads: 1, graceMs: 300, onRecycle: (reason) => recycles.push(reason) });
  });
  after(() => pool.close());

  it("runs agents on a thread, with host calls served by the main thread", async () => {
    const logs: string[] = [];
    const out = await pool.run(
      options(bundleOf(`async (i, ctx) => { ctx.log("hi"); return i + ":" + (await (await ctx.fetch("https://a.test")).text()); }`), 2000, {
        log: (line) => logs.push(line),
      }),
    );
    expect(out.status).to.equal(AgentStatus.OK);
    expect(text(out.output)).to.equal("in:fetched");
    expect(logs).to.deep.equal(["hi"]);
  });

  it("carries host call statuses across the thread boundary", async () => {
    const out = await pool.run(options(bundleOf(`async (i, ctx) => (await ctx.fetch("https://denied.test")).status`), 2000));
    expect(out.status).to.equal(AgentStatus.HOST_CALL_DENIED);
    expect(out.message).to.equal("denied by test");
  });

  it("terminates a thread stuck in a builtin past the deadline; its other runs finish without repeating a host call", async () => {
    const started = Date.now();
    // A single split of 4M characters near a large heap cap spends seconds inside one builtin,
    // where the interrupt handler is not consulted: only the watchdog can stop this in time.
    const big = { ...options("", 0).limits, memoryBytes: 256 * 1024 * 1024 };
    const stuck = pool.run({ ...options(bundleOf(`() => "ab".repeat(1 << 21).split("").sort().length`), 200), limits: big });
    let payments = 0;
    const innocent = pool.run(
      options(bundleOf(`async (i, ctx) => { await ctx.fetch("https://pay.test"); return "survived"; }`), 5000, {
        host: {
          ...host,
          fetch: () => {
            payments += 1;
            return new Promise((resolve) => setTimeout(() => resolve({ url: "", status: 200, headers: {}, body: "" }), 800));
          },
        },
      }),
    );
    const stuckOut = await stuck;
    expect(stuckOut.status).to.equal(AgentStatus.TIME_LIMIT);
    expect(Date.now() - started).to.be.lessThan(3000);
    expect(recycles).to.include("watchdog");
    const innocentOut = await innocent;
    expect(innocentOut.status).to.equal(AgentStatus.OK);
    expect(text(innocentOut.output)).to.equal("survived");
    // Restarted on the new thread, its fetch was answered from the journal, not sent again.
    expect(payments).to.equal(1);
  });

  it("attack: an agent that aborts its engine (deep JSON.stringify) fails alone; a tenant on the same thread is unaffected", async () => {
    const before = recycles.length;
    let payments = 0;
    const innocent = pool.run(
      options(bundleOf(`async (i, ctx) => { await ctx.fetch("https://pay.test"); return "paid once"; }`), 5000, {
        host: {
          ...host,
          fetch: () => {
            payments += 1;
            return new Promise((resolve) => setTimeout(() => resolve({ url: "", status: 200, headers: {}, body: "" }), 300));
          },
        },
      }),
    );
    const deep = (depth: number) =>
      pool.run({
        ...options(bundleOf(`() => { let a = []; for (let i = 0; i < ${depth}; i++) a = [a]; return JSON.stringify(a).length; }`), 5000),
        limits: { ...options("", 0).limits, stackBytes: 512 * 1024 },
      });
    // On the main thread's smaller stack this overflows the V8 stack inside WASM and the engine
    // aborts on teardown; on a sandbox thread it may fit. Either way: the agent's own result.
    const attacker = await deep(10_000);
    expect(attacker.status, attacker.message).to.be.oneOf([AgentStatus.OK, AgentStatus.MEMORY_LIMIT, AgentStatus.AGENT_ERROR]);
    const out = await innocent;
    expect(out.status).to.equal(AgentStatus.OK);
    expect(text(out.output)).to.equal("paid once");
    expect(payments).to.equal(1);
    expect(recycles.length).to.equal(before);
    // The same attack again, then an ordinary run: the thread is still healthy.
    await deep(10_000);
    expect(text((await pool.run(options(bundleOf(`() => "fine"`), 2000))).output)).to.equal("fine");
  });

  it("keeps serving after a thread was replaced", async () => {
    const out = await pool.run(options(bundleOf(`() => "still here"`), 2000));
    expect(text(out.output), out.message).to.equal("still here");
  });

  it("passes an abort from the caller into the thread", async () => {
    const controller = new AbortController();
    const running = pool.run(options(bundleOf(`() => { for (;;) {} }`), 5000, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    const out = await running;
    expect(out.status).to.equal(AgentStatus.INTERNAL_ERROR);
    expect(out.message).to.match(/aborted/);
  });
});
