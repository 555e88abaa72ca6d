import { expect } from "chai";
import { AgentStatus } from "../../protocol/status.js";
import { HostCallFailure, type FetchArgs, type HostServices } from "../../worker/src/sandbox/host-api.js";
import type { SandboxLimits } from "../../worker/src/sandbox/limits.js";
import type { SandboxOutcome } from "../../worker/src/sandbox/sandbox.js";
import { bundleOf, sharedSandbox, text } from "./helpers.js";

const LIMITS: SandboxLimits = {
  memoryBytes: 16 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxHostCalls: 4,
  maxOutputBytes: 1024,
  maxLogLines: 3,
  maxLogLineBytes: 40,
};

const echoHost: HostServices = {
  fetch: async (args) => ({ url: args.url, status: 200, statusText: "OK", headers: { "x-test": "1" }, body: `body of ${args.url}` }),
  llmChat: async (args) => ({ content: `llm: ${args.messages.at(-1)?.content}`, model: "m", finishReason: "stop" }),
  callAgent: async (agentId, input) => new TextEncoder().encode(`agent ${agentId} got ${new TextDecoder().decode(input)}`),
  openForwardedInput: async (sealed, client) => new TextEncoder().encode(`opened ${Buffer.from(sealed).toString("hex")} for ${client}`),
};

async function run(
  source: string,
  options: { input?: string; host?: HostServices; limits?: Partial<SandboxLimits>; wallMs?: number; seed?: string; logs?: string[] } = {},
): Promise<SandboxOutcome> {
  const sandbox = await sharedSandbox();
  return sandbox.run({
    source,
    input: new TextEncoder().encode(options.input ?? "hello"),
    agentId: 42n,
    request: { requestId: "1", requestHash: "0x01", consumer: "0xc0", caller: "", deadline: "1900000000" },
    now: 1_900_000_000_000,
    seed: options.seed ?? `0x${"ab".repeat(32)}`,
    secrets: { API_KEY: "s3cret" },
    limits: { ...LIMITS, ...options.limits },
    deadline: Date.now() + (options.wallMs ?? 300),
    host: options.host ?? echoHost,
    log: (line) => options.logs?.push(line),
  });
}

describe("worker sandbox", function () {
  this.timeout(20_000);

  describe("outputs", () => {
    it("returns a string as UTF-8 bytes", async () => {
      const out = await run(bundleOf(`(input) => input.toUpperCase() + " é"`));
      expect(out.status).to.equal(AgentStatus.OK);
      expect(text(out.output)).to.equal("HELLO é");
    });

    it("returns objects as JSON and bytes as themselves", async () => {
      const json = await run(bundleOf(`async () => ({ a: 1, b: [true, null] })`));
      expect(text(json.output)).to.equal('{"a":1,"b":[true,null]}');
      const bytes = await run(bundleOf(`() => new Uint8Array([0, 255, 7])`));
      expect([...bytes.output]).to.deep.equal([0, 255, 7]);
      const empty = await run(bundleOf(`() => undefined`));
      expect(empty.status).to.equal(AgentStatus.OK);
      expect(empty.output.byteLength).to.equal(0);
    });

    it("gives the agent its input as text and bytes, its id, request and secrets", async () => {
      const out = await run(
        bundleOf(`(input, ctx) => ({ input, bytes: ctx.inputBytes.length, id: ctx.agentId, req: ctx.request.requestId, key: ctx.secrets.API_KEY })`),
      );
      expect(JSON.parse(text(out.output))).to.deep.equal({ input: "hello", bytes: 5, id: "42", req: "1", key: "s3cret" });
    });

    it("fails with AGENT_ERROR when the output cannot be serialised", async () => {
      const out = await run(bundleOf(`() => { const a = {}; a.self = a; return a; }`));
      expect(out.status).to.equal(AgentStatus.AGENT_ERROR);
      expect(out.message).to.match(/not serializable/);
    });
  });

  describe("determinism", () => {
    const source = bundleOf(`(i, ctx) => [Date.now(), new Date().getTime(), ctx.now(), Math.random(), ctx.random(), Array.from(ctx.randomBytes(4))]`);

    it("derives time from the request and randomness from the seed", async () => {
      const a = JSON.parse(text((await run(source)).output));
      const b = JSON.parse(text((await run(source)).output));
      expect(a).to.deep.equal(b);
      expect(a.slice(0, 3)).to.deep.equal([1_900_000_000_000, 1_900_000_000_000, 1_900_000_000_000]);
      const c = JSON.parse(text((await run(source, { seed: `0x${"cd".repeat(32)}` })).output));
      expect(c[3]).to.not.equal(a[3]);
    });

    it("keeps one sfc32 stream for Math.random, ctx.random and ctx.randomBytes (values pinned)", async () => {
      const out = await run(bundleOf(`(i, ctx) => [Math.random(), ctx.random(), Array.from(ctx.randomBytes(6)), Math.random()]`));
      expect(JSON.parse(text(out.output))).to.deep.equal([0.6611985126510262, 0.769476052839309, [85, 214, 69, 71, 64, 90], 0.06337115122005343]);
    });
  });

  describe("limits", () => {
    it("stops an infinite loop with TIME_LIMIT", async () => {
      const started = Date.now();
      const out = await run(bundleOf(`() => { for (;;) {} }`), { wallMs: 200 });
      expect(out.status).to.equal(AgentStatus.TIME_LIMIT);
      expect(Date.now() - started).to.be.lessThan(2000);
    });

    it("stops an infinite loop the agent tries to catch", async () => {
      const out = await run(bundleOf(`() => { for (;;) { try { for (;;) {} } catch (e) {} } }`), { wallMs: 200 });
      expect(out.status).to.equal(AgentStatus.TIME_LIMIT);
    });

    it("stops an endless microtask loop with TIME_LIMIT", async () => {
      const out = await run(bundleOf(`async () => { for (;;) await null; }`), { wallMs: 200 });
      expect(out.status).to.equal(AgentStatus.TIME_LIMIT);
    });

    it("stops a top-level loop in the bundle with TIME_LIMIT", async () => {
      const out = await run(`for (;;) {}`, { wallMs: 200 });
      expect(out.status).to.equal(AgentStatus.TIME_LIMIT);
    });

    it("stops a memory bomb with MEMORY_LIMIT", async () => {
      // A small heap reaches the limit in few GC cycles, so a loaded machine cannot turn it into a time-out.
      const small = { limits: { memoryBytes: 4 * 1024 * 1024 }, wallMs: 20_000 };
      const out = await run(bundleOf(`() => { const keep = []; for (let i = 0; ; i++) keep.push({ i, s: "abc" + i }); }`), small);
      expect(out.status).to.equal(AgentStatus.MEMORY_LIMIT);
      const buffers = await run(bundleOf(`() => { const keep = []; for (;;) keep.push(new Uint8Array(65536)); }`), small);
      expect(buffers.status).to.equal(AgentStatus.MEMORY_LIMIT);
    });

    it("stops a memory bomb that keeps its heap full with MEMORY_LIMIT", async () => {
      const out = await run(bundleOf(`() => { globalThis.keep = []; for (let i = 0; ; i++) globalThis.keep.push("abc" + i); }`), { wallMs: 5000 });
      expect(out.status).to.equal(AgentStatus.MEMORY_LIMIT);
      const thrown = await run(`globalThis.keep = []; for (let i = 0; ; i++) globalThis.keep.push({ i });`, { wallMs: 5000 });
      expect(thrown.status).to.equal(AgentStatus.MEMORY_LIMIT);
      // Small allocations fill the heap to the last byte: building the error record fails too.
      const full = await run(bundleOf(`() => { for (;;) globalThis.head = { next: globalThis.head }; }`), { wallMs: 5000 });
      expect(full.status).to.equal(AgentStatus.MEMORY_LIMIT);
    });

    it("attack: many small allocations cannot pass the memory limit (objects, strings, closures, arrays)", async () => {
      const sandbox = await sharedSandbox();
      const rssBefore = process.memoryUsage().rss;
      const bombs = {
        objects: `() => { const keep = []; for (let i = 0; ; i++) keep.push({ i }); }`,
        strings: `() => { const keep = []; for (let i = 0; ; i++) keep.push("s" + i + "xxxxxxxxxxxxxxxx"); }`,
        closures: `() => { const keep = []; for (let i = 0; ; i++) keep.push(() => i); }`,
        arrays: `() => { const keep = []; for (let i = 0; ; i++) keep.push([i, i, i]); }`,
        caught: `() => { const keep = []; for (;;) { try { for (let i = 0; ; i++) keep.push({ i }); } catch (e) { keep.push(e); } } }`,
      };
      for (const [name, bomb] of Object.entries(bombs)) {
        const started = Date.now();
        const out = await run(bundleOf(bomb), { limits: { memoryBytes: 4 * 1024 * 1024 }, wallMs: 20_000 });
        expect(out.status, `${name}: ${out.message}`).to.equal(AgentStatus.MEMORY_LIMIT);
        // Stopped by the cap in seconds at most, not by the 20 s wall time after gigabytes.
        expect(Date.now() - started, name).to.be.lessThan(10_000);
      }
      // Grown instances are dropped, not kept: what the sandbox holds is back to its base.
      expect(sandbox.instances.idleBytes()).to.be.at.most(4 * 16 * 1024 * 1024);
      expect(process.memoryUsage().rss - rssBefore).to.be.lessThan(512 * 1024 * 1024);
      const after = await run(bundleOf(`() => "healthy"`));
      expect(text(after.output)).to.equal("healthy");
    });

    it("attack: JSON.stringify of 10,000-deep arrays breaks only the run's own engine (agent's failure, next run fine)", async () => {
      const sandbox = await sharedSandbox();
      const created = sandbox.instances.created;
      const out = await run(bundleOf(`() => { let a = []; for (let i = 0; i < 10000; i++) a = [a]; return JSON.stringify(a).length; }`), {
        limits: { stackBytes: 512 * 1024 },
        wallMs: 10_000,
      });
      expect(out.status, out.message).to.be.oneOf([AgentStatus.OK, AgentStatus.MEMORY_LIMIT]);
      if (out.status === AgentStatus.MEMORY_LIMIT) {
        expect(out.message).to.equal("stack limit exceeded");
        // The aborted instance was dropped: the next run gets a fresh one.
        expect(text((await run(bundleOf(`() => "next"`))).output)).to.equal("next");
        expect(sandbox.instances.created).to.be.greaterThan(created);
      }
    });

    it("stops unbounded recursion with MEMORY_LIMIT (stack)", async () => {
      const out = await run(bundleOf(`() => { const f = (n) => f(n + 1) + 1; return f(0); }`));
      expect(out.status).to.equal(AgentStatus.MEMORY_LIMIT);
      expect(out.message).to.match(/stack/);
    });

    it("refuses a huge string output with OUTPUT_LIMIT", async () => {
      const out = await run(bundleOf(`() => "x".repeat(1025)`));
      expect(out.status).to.equal(AgentStatus.OUTPUT_LIMIT);
    });

    it("counts UTF-8 bytes, not characters, for the output limit", async () => {
      const out = await run(bundleOf(`() => "é".repeat(600)`));
      expect(out.status).to.equal(AgentStatus.OUTPUT_LIMIT);
    });

    it("refuses huge byte and JSON outputs with OUTPUT_LIMIT", async () => {
      expect((await run(bundleOf(`() => new Uint8Array(2000)`))).status).to.equal(AgentStatus.OUTPUT_LIMIT);
      expect((await run(bundleOf(`() => ({ big: "y".repeat(2000) })`))).status).to.equal(AgentStatus.OUTPUT_LIMIT);
    });

    it("ends the run with HOST_CALL_LIMIT past the host call budget, even if the agent catches", async () => {
      const out = await run(
        bundleOf(`async (i, ctx) => { for (let n = 0; n < 10; n++) { try { await ctx.fetch("https://a.test/" + n); } catch (e) {} } return "done"; }`),
      );
      expect(out.status).to.equal(AgentStatus.HOST_CALL_LIMIT);
      expect(out.hostCalls).to.equal(5);
    });

    it("caps log lines and their length", async () => {
      const logs: string[] = [];
      const out = await run(bundleOf(`(i, ctx) => { for (let n = 0; n < 10; n++) ctx.log("line", n, "z".repeat(100)); return "ok"; }`), { logs });
      expect(out.status).to.equal(AgentStatus.OK);
      expect(logs).to.have.length(4);
      expect(logs[0]).to.have.length.lessThan(45);
      expect(logs[3]).to.match(/log limit/);
    });
  });

  describe("failures", () => {
    it("reports a thrown error as AGENT_ERROR with its message", async () => {
      const out = await run(bundleOf(`() => { throw new TypeError("bad input"); }`));
      expect(out.status).to.equal(AgentStatus.AGENT_ERROR);
      expect(out.message).to.equal("agent threw: TypeError: bad input");
      const thrownString = await run(bundleOf(`async () => { throw "plain"; }`));
      expect(thrownString.message).to.match(/plain/);
    });

    it("reports a bundle that does not evaluate as INVALID_BUNDLE", async () => {
      const out = await run(`var __agent = {`);
      expect(out.status).to.equal(AgentStatus.INVALID_BUNDLE);
      expect(out.message).to.match(/SyntaxError/);
      const throwing = await run(`throw new Error("init failed")`);
      expect(throwing.status).to.equal(AgentStatus.INVALID_BUNDLE);
    });

    it("reports a bundle without an entry as INVALID_BUNDLE", async () => {
      const out = await run(`var somethingElse = 1;`);
      expect(out.status).to.equal(AgentStatus.INVALID_BUNDLE);
      expect((await run(`var __agent = { default: 5 };`)).status).to.equal(AgentStatus.INVALID_BUNDLE);
    });

    it("fails an agent awaiting a promise that can never settle at once", async () => {
      const started = Date.now();
      const out = await run(bundleOf(`() => new Promise(() => {})`), { wallMs: 5000 });
      expect(out.status).to.equal(AgentStatus.AGENT_ERROR);
      expect(Date.now() - started).to.be.lessThan(1000);
    });

    it("times out a host call that never answers", async () => {
      const host = { ...echoHost, fetch: () => new Promise<never>(() => {}) };
      const out = await run(bundleOf(`async (i, ctx) => (await ctx.fetch("https://slow.test")).status`), { host, wallMs: 200 });
      expect(out.status).to.equal(AgentStatus.TIME_LIMIT);
    });
  });

  describe("host calls", () => {
    it("serves fetch, llm.chat and callAgent through ctx", async () => {
      const out = await run(
        bundleOf(`async (i, ctx) => {
          const r = await ctx.fetch("https://a.test/x", { method: "POST", body: "b" });
          const c = await ctx.llm.chat({ messages: [{ role: "user", content: "hi" }] });
          const s = await ctx.callAgent(7, "in");
          return [r.status, r.ok, r.headers["x-test"], await r.text(), c.content, s.text, s.bytes.length];
        }`),
      );
      expect(out.status).to.equal(AgentStatus.OK);
      expect(JSON.parse(text(out.output))).to.deep.equal([200, true, "1", "body of https://a.test/x", "llm: hi", "agent 7 got in", 14]);
      expect(out.hostCalls).to.equal(3);
    });

    it("passes fetch's timeoutMs to the host and its statusText back", async () => {
      const seen: unknown[] = [];
      const host = {
        ...echoHost,
        fetch: async (args: FetchArgs) => (seen.push(args.timeoutMs), { url: args.url, status: 404, statusText: "Not Found", headers: {}, body: "" }),
      };
      const out = await run(
        bundleOf(`async (i, ctx) => { const r = await ctx.fetch("https://a.test", { timeoutMs: 1500 }); return [r.status, r.statusText, r.ok]; }`),
        { host },
      );
      expect(JSON.parse(text(out.output))).to.deep.equal([404, "Not Found", false]);
      expect(seen).to.deep.equal([1500]);
    });

    it("serves openForwardedInput: bytes and the named client in, bytes out; anything but bytes is refused", async () => {
      const out = await run(
        bundleOf(`async (i, ctx) => {
          const opened = await ctx.openForwardedInput(new Uint8Array([1, 2, 255]), "0x00000000000000000000000000000000000000aA");
          let refused;
          try { await ctx.openForwardedInput("0102", "0x00000000000000000000000000000000000000aA"); } catch (e) { refused = e.message; }
          return [String.fromCharCode(...opened), refused];
        }`),
      );
      expect(out.status).to.equal(AgentStatus.OK);
      const [opened, refused] = JSON.parse(text(out.output)) as [string, string];
      expect(opened).to.equal("opened 0102ff for 0x00000000000000000000000000000000000000aA");
      expect(refused).to.match(/openForwardedInput: invalid arguments \(hex: sealed must be bytes\)/);
    });

    it("lets an agent catch a denied host call and carry on", async () => {
      const host = {
        ...echoHost,
        fetch: async () => {
          throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "denied: x.test");
        },
      };
      const out = await run(bundleOf(`async (i, ctx) => { try { await ctx.fetch("https://x.test"); } catch (e) { return e.name + ":" + e.code; } }`), { host });
      expect(out.status).to.equal(AgentStatus.OK);
      expect(text(out.output)).to.equal("HostCallError:HOST_CALL_DENIED");
    });

    it("ends with the host call's status when the agent does not catch it", async () => {
      const host = {
        ...echoHost,
        fetch: async () => {
          throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "denied: x.test");
        },
      };
      const out = await run(bundleOf(`async (i, ctx) => (await ctx.fetch("https://x.test")).status`), { host });
      expect(out.status).to.equal(AgentStatus.HOST_CALL_DENIED);
      expect(out.message).to.equal("denied: x.test");
    });

    it("does not let an agent forge a host status", async () => {
      const out = await run(bundleOf(`() => { const e = new Error("fake"); e.code = "BUDGET_EXCEEDED"; e.hostToken = "00"; throw e; }`));
      expect(out.status).to.equal(AgentStatus.AGENT_ERROR);
    });

    it("rejects malformed host call arguments inside the agent", async () => {
      const out = await run(bundleOf(`async (i, ctx) => { try { await ctx.llm.chat({ messages: [] }); } catch (e) { return e.message; } }`));
      expect(text(out.output)).to.match(/llm.chat: invalid arguments/);
    });
  });

  describe("hostile agents", () => {
    it("cannot reach Node or the raw host functions", async () => {
      const out = await run(
        bundleOf(`(i, ctx) => {
          const F = (function () {}).constructor;
          const g = F("return this")();
          const seen = ["process", "require", "module", "hostCall", "hostLog", "install", "std", "os", "Buffer", "fetch"].filter((k) => typeof g[k] !== "undefined");
          const viaCtx = ctx.fetch.constructor("return typeof process")();
          const proto = Object.getPrototypeOf(ctx.log).constructor("return typeof require")();
          return { seen, viaCtx, proto };
        }`),
      );
      expect(JSON.parse(text(out.output))).to.deep.equal({ seen: [], viaCtx: "undefined", proto: "undefined" });
    });

    it("cannot change ctx or its secrets", async () => {
      const out = await run(
        bundleOf(`(i, ctx) => {
          "use strict";
          const errors = [];
          for (const f of [() => { ctx.secrets.API_KEY = "x"; }, () => { ctx.fetch = null; }, () => { ctx.llm.chat = null; }]) {
            try { f(); } catch (e) { errors.push(e.name); }
          }
          return errors;
        }`),
      );
      expect(JSON.parse(text(out.output))).to.deep.equal(["TypeError", "TypeError", "TypeError"]);
    });

    it("prototype pollution stays inside its own run", async () => {
      const polluted = await run(
        bundleOf(`() => {
          Object.prototype.toJSON = () => "hijacked";
          Object.prototype.kind = "bytes";
          Array.prototype.join = () => "x";
          JSON.stringify = () => "hijacked";
          return "mine";
        }`),
      );
      expect(polluted.status).to.equal(AgentStatus.OK);
      expect(text(polluted.output)).to.equal("mine");
      const clean = await run(bundleOf(`() => ({ ok: typeof Object.prototype.toJSON })`));
      expect(text(clean.output)).to.equal('{"ok":"undefined"}');
    });

    it("cannot break the host plumbing by replacing globals before its first host call", async () => {
      const logs: string[] = [];
      const out = await run(
        `eval = () => { throw new Error("eval hijacked"); };
         String = () => "hijacked"; JSON.parse = () => ({ ok: true, value: "forged" }); JSON.stringify = () => "{}";
         Object.defineProperty = () => { throw new Error("defineProperty hijacked"); };
         var __agent = { default: async (i, ctx) => {
           ctx.log("seen");
           const r = await ctx.fetch("https://a.test/x");
           let code;
           try { await ctx.llm.chat({ messages: [] }); } catch (e) { code = e.code; }
           return r.status + " " + (await r.text()) + " " + code + " " + typeof ctx.random();
         } };`,
        { logs },
      );
      expect(out.status).to.equal(AgentStatus.OK);
      expect(new TextDecoder().decode(out.output)).to.equal("200 body of https://a.test/x HOST_CALL_FAILED number");
      expect(logs).to.deep.equal(["seen"]);
    });

    it("leaves nothing of one run's globals to the next", async () => {
      const first = await run(bundleOf(`() => { globalThis.leak = "secret"; Math.max = () => 7; return "set"; }`));
      expect(first.status).to.equal(AgentStatus.OK);
      const second = await run(bundleOf(`() => typeof globalThis.leak + " " + Math.max(1, 2)`));
      expect(text(second.output)).to.equal("undefined 2");
    });

    it("cannot make the host read a hostile error", async () => {
      const out = await run(bundleOf(`() => { throw { get message() { for (;;) {} }, get name() { throw new Error("no"); } }; }`), { wallMs: 200 });
      expect([AgentStatus.TIME_LIMIT, AgentStatus.AGENT_ERROR]).to.include(out.status);
    });

    it("sabotaging the prelude's instanceof checks ends as an agent error", async () => {
      const out = await run(
        bundleOf(`() => { Object.defineProperty(ArrayBuffer, Symbol.hasInstance, { value: () => { throw new Error("sabotage"); } }); return "x"; }`),
      );
      expect(out.status).to.equal(AgentStatus.AGENT_ERROR);
    });
  });
});
