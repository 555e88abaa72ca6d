import { expect } from "chai";
import { keccak256 } from "ethers";
import { requestHash } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { SandboxPool } from "../../worker/src/sandbox/pool.js";
import { bundleOf, harness, makeRequest, text, type Harness } from "./helpers.js";

async function execute(h: Harness, agentId: bigint, input: string, id = 1n) {
  const bytes = new TextEncoder().encode(input);
  const code = await h.directory.codeOf(agentId, 1n);
  const request = makeRequest({ id, agentId, codeHash: code.codeHash, inputHash: keccak256(bytes) });
  return h.executor.execute(request, bytes, requestHash(request));
}

/** One tenant must not be able to slow or outlast its request at the others' expense. */
describe("worker: work bounds and fairness between tenants", function () {
  this.timeout(60_000);
  let pool: SandboxPool;
  before(async () => {
    pool = await SandboxPool.start({ threads: 1, maxThreads: 3, graceMs: 1000 });
    // Warm up: the first run starts the spare thread.
    await pool.run({
      source: bundleOf(`() => 1`),
      input: new Uint8Array(),
      agentId: 1n,
      request: {},
      now: 0,
      seed: `0x${"00".repeat(32)}`,
      secrets: {},
      limits: { memoryBytes: 1 << 24, stackBytes: 1 << 18, maxHostCalls: 1, maxOutputBytes: 64, maxLogLines: 1, maxLogLineBytes: 64 },
      deadline: Date.now() + 5000,
      host: {} as never,
      log: () => {},
    });
    await pool.whenReady();
  });
  after(() => pool.close());

  it("attack: a fan-out through free sub-agents stops at maxRunsPerRequest", async () => {
    const h = await harness({ limits: { maxRunsPerRequest: 5, maxHostCalls: 32, wallTimeMs: 10_000 } });
    h.register(
      1n,
      bundleOf(
        `async (i, ctx) => { const codes = []; for (let k = 0; k < 20; k++) { try { await ctx.callAgent(2, ""); codes.push("ok"); } catch (e) { codes.push(e.code); } } return codes.join(","); }`,
      ),
      { price: 0n },
    );
    h.register(2n, bundleOf(`async (i, ctx) => { for (let k = 0; k < 3; k++) { try { await ctx.callAgent(3, ""); } catch (e) {} } return "two"; }`), {
      price: 0n,
    });
    h.register(3n, bundleOf(`() => "three"`), { price: 0n });
    const result = await execute(h, 1n, "x");
    expect(result.status, text(result.output)).to.equal(AgentStatus.OK);
    // 5 runs in all: the main run and 4 callees, whichever level they are at.
    expect(result.subAgentIds.length).to.equal(4);
    expect(
      text(result.output)
        .split(",")
        .filter((c) => c === "HOST_CALL_DENIED").length,
    ).to.be.greaterThan(15);
  });

  it("attack: parallel busy sub-agents share one CPU budget across threads", async () => {
    const h = await harness({ runner: pool, limits: { wallTimeMs: 8000, maxCpuMsPerRequest: 400 } });
    h.register(1n, bundleOf(`async (i, ctx) => { await Promise.all([ctx.callAgent(2, ""), ctx.callAgent(2, ""), ctx.callAgent(2, "")]); return "never"; }`), {
      price: 0n,
    });
    h.register(2n, bundleOf(`() => { for (;;) {} }`), { price: 0n });
    const started = Date.now();
    const result = await execute(h, 1n, "x");
    expect(result.status).to.equal(AgentStatus.SUB_AGENT_FAILED);
    expect(text(result.output)).to.match(/TIME_LIMIT: CPU time limit of the request \(400 ms\) exceeded/);
    // Three loops on up to three threads stop together at the shared budget, far before the 8 s wall time.
    expect(Date.now() - started).to.be.lessThan(3000);
  });

  it("attack: a sub-agent started and never awaited is stopped when its caller answers", async () => {
    const h = await harness({ runner: pool, limits: { wallTimeMs: 8000, maxCpuMsPerRequest: 8000 } });
    h.register(1n, bundleOf(`async (i, ctx) => { ctx.callAgent(2, "").catch(() => {}); await null; return "answered"; }`), { price: 0n });
    h.register(2n, bundleOf(`() => { for (;;) {} }`), { price: 0n });
    h.register(3n, bundleOf(`() => "innocent"`), { price: 0n });
    const first = await execute(h, 1n, "x", 1n);
    expect(text(first.output)).to.equal("answered");
    expect(first.subAgentIds).to.deep.equal([]);
    // Give a stray callee time to start if it were going to.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const innocent = await execute(h, 3n, "y", 2n);
    expect(text(innocent.output)).to.equal("innocent");
    expect(Date.now() - started).to.be.lessThan(1500);
  });

  it("attack: a tenant's busy loop does not hold another tenant's run (it gets a thread of its own)", async () => {
    const h = await harness({ runner: pool, limits: { wallTimeMs: 2500, maxCpuMsPerRequest: 6000 } });
    h.register(1n, bundleOf(`() => { for (;;) {} }`), { price: 0n });
    h.register(2n, bundleOf(`() => "innocent"`), { price: 0n });
    await pool.whenReady();
    const looping = [execute(h, 1n, "a", 1n), execute(h, 1n, "b", 2n)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const innocent = await execute(h, 2n, "x", 3n);
    expect(text(innocent.output)).to.equal("innocent");
    expect(Date.now() - started).to.be.lessThan(1500);
    for (const result of await Promise.all(looping)) expect(result.status).to.equal(AgentStatus.TIME_LIMIT);
    expect(pool.threadCount).to.be.at.most(3);
  });
});
