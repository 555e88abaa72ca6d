import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { startWorker, type RunningWorker } from "../../worker/src/app.js";
import { parseConfig } from "../../worker/src/config.js";
import { InMemoryAgentDirectory } from "../../worker/src/directory.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { HEALTH_RPC_TIMEOUT_MS } from "../../worker/src/service.js";
import { BUNDLE_STORE, WORKER_KEY, silentLogger } from "./helpers.js";

const ROUTER = "0x00000000000000000000000000000000000000B0";

type Mode = "answer" | "hang" | "error";

/** A JSON-RPC endpoint that answers (requestCount() = 5), never answers, or fails with HTTP 500. */
async function fakeRpc(): Promise<{ url: string; mode: Mode; server: Server }> {
  const state = { mode: "answer" as Mode };
  const answer = (call: { id: number; method: string }) => ({
    jsonrpc: "2.0",
    id: call.id,
    result: call.method === "eth_chainId" ? "0x7a69" : call.method === "eth_blockNumber" ? "0x10" : `0x${"5".padStart(64, "0")}`,
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (state.mode === "hang") return; // holds the connection open, never answers
      if (state.mode === "error") return void res.writeHead(500).end("upstream down");
      const parsed = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.defineProperty({ url, server } as { url: string; mode: Mode; server: Server }, "mode", {
    get: () => state.mode,
    set: (m: Mode) => (state.mode = m),
  });
}

describe("worker /health reflects its RPC", function () {
  this.timeout(60_000);
  let rpc: Awaited<ReturnType<typeof fakeRpc>>;
  let worker: RunningWorker;

  before(async () => {
    rpc = await fakeRpc();
    const config = parseConfig({
      port: 0,
      chainId: "31337",
      workerRegistry: "0x00000000000000000000000000000000000000F1",
      router: ROUTER,
      rpcUrl: rpc.url,
      enclave: { kind: "simulator", seed: WORKER_KEY },
      directory: { kind: "file", path: "/unused" },
      bundleCacheDir: BUNDLE_STORE,
    });
    // The real commitment reader over rpcUrl (no fake): /health reads the router through it.
    worker = await startWorker(config, {
      directory: new InMemoryAgentDirectory(),
      enclave: new SimulatorEnclave(WORKER_KEY),
      logger: silentLogger,
      sandboxThreads: 1,
    });
  });
  after(async () => {
    await worker?.close();
    rpc.server.closeAllConnections();
    rpc.server.close();
  });

  const health = async () => {
    const started = performance.now();
    const response = await fetch(`${worker.url}/health`);
    return {
      status: response.status,
      ms: performance.now() - started,
      body: (await response.json()) as { ok: boolean; chain?: { ok: boolean; error?: string; requestCount?: string } },
    };
  };

  it("is ok (200) while the RPC answers, with the router's requestCount", async () => {
    const { status, body } = await health();
    expect(status).to.equal(200);
    expect(body.ok).to.equal(true);
    expect(body.chain).to.include({ ok: true, requestCount: "5" });
  });

  it("is 503 within its bound while the RPC hangs, every time it is asked", async () => {
    rpc.mode = "hang";
    for (let i = 0; i < 3; i++) {
      const { status, ms, body } = await health();
      expect(status).to.equal(503);
      expect(body.ok).to.equal(false);
      expect(body.chain?.error).to.match(/no answer within/);
      expect(ms).to.be.below(HEALTH_RPC_TIMEOUT_MS + 1_500);
    }
  });

  it("is 503 while the RPC fails, and ok again once it answers", async () => {
    rpc.server.closeAllConnections();
    rpc.mode = "error";
    const failing = await health();
    expect(failing.status).to.equal(503);
    expect(failing.body.chain?.ok).to.equal(false);
    rpc.mode = "answer";
    let recovered = await health();
    // The hung read may still hold the single-flight slot until its connection closes.
    for (let i = 0; i < 10 && recovered.status !== 200; i++) recovered = await health();
    expect(recovered.status).to.equal(200);
  });
});
