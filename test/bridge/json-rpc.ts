import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { JsonRpc } from "../../bridge/src/chain/json-rpc.js";
import { RpcError } from "../../bridge/src/errors.js";

/** A JSON-RPC endpoint that answers each HTTP request as `script` says, by its arrival order. */
async function endpoint(script: (n: number) => "hang" | "500" | "drop" | "transient" | "ok"): Promise<{ url: string; server: Server; hits: () => number }> {
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number };
      const action = script(++count);
      if (action === "hang") return;
      if (action === "drop") return void res.socket?.destroy();
      if (action === "500") return void res.writeHead(500).end("gateway");
      const body = action === "transient" ? { jsonrpc: "2.0", id, error: { code: -32603, message: "internal error" } } : { jsonrpc: "2.0", id, result: "0x2a" };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => count };
}

describe("bridge JsonRpc (hedged calls)", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  it("sends a call again when the first has no answer after hedgeMs: a hung connection costs hedgeMs, not the timeout", async () => {
    const e = await endpoint((n) => (n === 1 ? "hang" : "ok"));
    servers.push(e.server);
    const started = Date.now();
    expect(await new JsonRpc(e.url, 10_000, 200).call("eth_blockNumber", [])).to.equal("0x2a");
    expect(Date.now() - started).to.be.lessThan(2_000);
    expect(e.hits()).to.equal(2);
  });

  it("sends a call again at once when it failed without an answer (gateway error, dropped connection)", async () => {
    for (const failure of ["500", "drop"] as const) {
      const e = await endpoint((n) => (n === 1 ? failure : "ok"));
      servers.push(e.server);
      expect(await new JsonRpc(e.url, 10_000, 5_000).call("eth_blockNumber", [])).to.equal("0x2a");
      expect(e.hits()).to.equal(2);
    }
  });

  it("asks once more after a transient JSON-RPC error (-32603), and reports a second one", async () => {
    const once = await endpoint((n) => (n === 1 ? "transient" : "ok"));
    const always = await endpoint(() => "transient");
    servers.push(once.server, always.server);
    expect(await new JsonRpc(once.url, 10_000, 5_000).call("eth_blockNumber", [])).to.equal("0x2a");
    await new JsonRpc(always.url, 10_000, 5_000).call("eth_blockNumber", []).then(
      () => expect.fail("should fail"),
      (error: unknown) => expect(error).to.be.instanceOf(RpcError).and.to.include({ rpcCode: -32603 }),
    );
    expect(always.hits()).to.equal(2);
  });

  it("a hedge that fails fast is replaced, instead of waiting for the hung first try", async () => {
    const e = await endpoint((n) => (n === 1 ? "hang" : n === 2 ? "500" : "ok"));
    servers.push(e.server);
    const started = Date.now();
    expect(await new JsonRpc(e.url, 10_000, 200).call("eth_blockNumber", [])).to.equal("0x2a");
    expect(Date.now() - started).to.be.lessThan(2_000);
    expect(e.hits()).to.equal(3);
  });

  it("fails (transport) when every try fails", async () => {
    const e = await endpoint(() => "500");
    servers.push(e.server);
    await new JsonRpc(e.url, 10_000, 5_000).call("eth_blockNumber", []).then(
      () => expect.fail("should fail"),
      (error: unknown) => expect(error).to.be.instanceOf(RpcError).and.to.include({ transport: true }),
    );
    expect(e.hits()).to.equal(3);
  });

  it("names the node in RPC_FAILED (its origin: never a path or query that may hold an API key), for failed and refused calls alike", async () => {
    const failing = await endpoint(() => "500");
    const refusing = await endpoint(() => "transient");
    servers.push(failing.server, refusing.server);
    for (const e of [failing, refusing]) {
      const error = await new JsonRpc(`${e.url}/v3/SECRETKEY?key=SECRET2`, 10_000, 5_000).call("eth_blockNumber", []).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(RpcError).and.to.include({ code: "RPC_FAILED" });
      expect((error as RpcError).message)
        .to.include(`eth_blockNumber failed (${e.url})`)
        .and.not.match(/SECRET/);
    }
  });
});
