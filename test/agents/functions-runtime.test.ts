import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { AbiCoder, concat, getBytes, hexlify, keccak256, toBeHex, toUtf8Bytes, toUtf8String } from "ethers";
import { network } from "hardhat";
import { ERROR, RESPONSE, SYNTAX_ERROR } from "../../agents/functions/index.js";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { publicKeyOf, sealForwardedInput } from "../../protocol/confidential.js";
import { requestHash } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { buildAgent } from "../../worker/cli/build-agent.js";
import { BUNDLE_STORE, OWNER, TEST_CHAIN_ID, harness, makeRequest, startServer, storeBundle, type Harness, type TestServer } from "../worker/helpers.js";

/** The forwarding consumer (the adapter) of the requests, the client contract, another client. */
const ADAPTER = makeRequest().consumer;
const CLIENT = "0x00000000000000000000000000000000000c11e7";
const OTHER_CLIENT = "0x0000000000000000000000000000000000000bad";
const AGENT_ID = 1n;
const KEY_EPOCH = 3;
/** The adapter's response limit, as it writes it into the input. */
const MAX_RESPONSE_BYTES = 8_192;

interface Encoded {
  source: string;
  args?: string[];
  bytesArgs?: string[];
  /** 1: Remote reference (our sealed secrets); 2: DON-hosted slot. */
  secretsLocation?: number;
  secrets?: string;
}

describe("functions runtime agent (agents/functions)", function () {
  this.timeout(60_000);
  let h: Harness;
  let codeHash: string;
  let encoder: { encode: { staticCall(...args: unknown[]): Promise<string> }; encodeWithLocation: { staticCall(...args: unknown[]): Promise<string> } };
  let server: TestServer;
  let close: () => Promise<void>;
  const clusterKey = secp256k1.utils.randomPrivateKey();

  before(async () => {
    const connection = await network.create();
    close = () => connection.close();
    encoder = (await connection.ethers.deployContract("FunctionsRequestEncoder")) as unknown as typeof encoder;
    server = await startServer((req, body, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/price") {
        res.writeHead(200, { "content-type": "application/json", "x-served": "yes" });
        res.end(JSON.stringify({ usd: 3141.59, query: url.search, auth: req.headers.authorization ?? null }));
      } else if (url.pathname === "/echo") {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, body, contentType: req.headers["content-type"] ?? null }));
      } else if (url.pathname === "/slow") {
        setTimeout(() => res.end("{}"), 1_500);
      } else if (url.pathname === "/text") {
        res.end("plain text");
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("nothing here");
      }
    });
    const keyring = new ClusterKeyring({ now: () => 0 });
    keyring.add(KEY_EPOCH, clusterKey, null);
    h = await harness({ decryptor: keyring, egressAllow: [new URL(server.url).host], limits: { maxHostCalls: 6, wallTimeMs: 3_000 } });
    const built = await buildAgent("agents/functions/index.ts", join(h.dir, "functions.agent.js"));
    storeBundle(BUNDLE_STORE, new Uint8Array(readFileSync(built.bundlePath)));
    codeHash = built.codeHash;
    h.directory.set(AGENT_ID, { owner: OWNER, price: 1n, versions: [{ codeHash, uri: "https://bundles.invalid/functions.js" }] });
  });
  after(async () => {
    await server.close();
    await close();
  });

  const cbor = (r: Encoded) => encoder.encode.staticCall(r.source, r.args ?? [], r.bytesArgs ?? [], r.secretsLocation ?? 0, r.secrets ?? "0x");

  /** Runs CBOR `data` as the adapter forwards it from `client`; returns the run's status and decoded result. */
  async function runData(data: string, options: { client?: string; consumer?: string; maxResponseBytes?: number } = {}) {
    const input = getBytes(concat([options.client ?? CLIENT, toBeHex(options.maxResponseBytes ?? MAX_RESPONSE_BYTES, 4), data]));
    const request = makeRequest({ agentId: AGENT_ID, codeHash, consumer: options.consumer ?? ADAPTER, inputHash: keccak256(input) });
    const result = await h.executor.execute(request, input, requestHash(request));
    const output = result.output;
    if (result.status !== AgentStatus.OK) return { status: result.status, error: toUtf8String(output) };
    if (output[0] === RESPONSE) return { status: result.status, response: hexlify(output.subarray(1)) };
    expect(output[0]).to.equal(ERROR);
    return { status: result.status, error: toUtf8String(output.subarray(1)) };
  }
  const run = async (r: Encoded, options?: { client?: string; consumer?: string; maxResponseBytes?: number }) => runData(await cbor(r), options);
  const word = (type: string, value: unknown) => AbiCoder.defaultAbiCoder().encode([type], [value]);

  describe("answers", () => {
    it("runs inline source with args and bytesArgs; encodeUint256 as Chainlink's", async () => {
      const out = await run({
        source: "return Functions.encodeUint256(BigInt(args[0]) * 2n + BigInt(bytesArgs[0].length))",
        args: ["21"],
        bytesArgs: ["0xabcd"],
      });
      expect(out).to.deep.equal({ status: 0, response: word("uint256", 48n) });
    });

    it("encodeInt256, encodeString and a returned ArrayBuffer", async () => {
      expect((await run({ source: "return Functions.encodeInt256(-5)" })).response).to.equal(word("int256", -5n));
      expect((await run({ source: "return Functions.encodeInt256(2n ** 255n - 1n)" })).response).to.equal(word("int256", 2n ** 255n - 1n));
      expect((await run({ source: "return Functions.encodeString('héllo ✓')" })).response).to.equal(hexlify(toUtf8Bytes("héllo ✓")));
      expect((await run({ source: "return new Uint8Array([1, 2, 3]).buffer" })).response).to.equal("0x010203");
      expect((await run({ source: "return new Uint8Array(0)" })).response).to.equal("0x");
    });

    it("encoder errors carry Chainlink's texts", async () => {
      expect((await run({ source: "return Functions.encodeUint256(-1)" })).error).to.equal("input into Functions.encodeUint256 is negative");
      expect((await run({ source: "return Functions.encodeUint256(1.5)" })).error).to.equal("input into Functions.encodeUint256 is not an integer");
      expect((await run({ source: "return Functions.encodeUint256(2n ** 256n)" })).error).to.equal("input into Functions.encodeUint256 is too large");
      expect((await run({ source: "return Functions.encodeUint256('7')" })).error).to.equal("input into Functions.encodeUint256 is not a number or bigint");
      expect((await run({ source: "return Functions.encodeInt256(-(2n ** 255n) - 1n)" })).error).to.equal("input into Functions.encodeInt256 is too small");
      expect((await run({ source: "return Functions.encodeInt256(2n ** 255n)" })).error).to.equal("input into Functions.encodeInt256 is too large");
    });
  });

  describe("Functions.makeHttpRequest", () => {
    it("GETs JSON with params and headers: { error: false, status, statusText, headers, data }", async () => {
      const source = `
        const r = await Functions.makeHttpRequest({ url: "${server.url}/price", params: { fsym: "ETH", q: "a b!" }, headers: { Authorization: "Bearer t" } });
        return Functions.encodeString(JSON.stringify([r.error, r.status, r.statusText, r.headers["x-served"], r.data]));`;
      const [error, status, statusText, served, data] = JSON.parse(toUtf8String((await run({ source })).response!));
      expect([error, status, statusText, served]).to.deep.equal([false, 200, "OK", "yes"]);
      expect(data).to.deep.equal({ usd: 3141.59, query: "?fsym=ETH&q=a+b%21", auth: "Bearer t" });
    });

    it("POSTs data as JSON, and reads text responses", async () => {
      const source = `
        const post = await Functions.makeHttpRequest({ url: "${server.url}/echo", method: "POST", data: { a: 1 } });
        const text = await Functions.makeHttpRequest({ url: "${server.url}/text", responseType: "text" });
        return Functions.encodeString(JSON.stringify([post.status, post.data.method, post.data.body, text.data]));`;
      expect(JSON.parse(toUtf8String((await run({ source })).response!))).to.deep.equal([201, "POST", '{"a":1}', "plain text"]);
    });

    it("resolves to { error: true, ... } for an HTTP error, a timeout, a denied host and a body that is not JSON", async () => {
      const source = `
        const notFound = await Functions.makeHttpRequest({ url: "${server.url}/missing" });
        const slow = await Functions.makeHttpRequest({ url: "${server.url}/slow", timeout: 100 });
        const denied = await Functions.makeHttpRequest({ url: "https://not-allowed.example/x" });
        const notJson = await Functions.makeHttpRequest({ url: "${server.url}/text" });
        return Functions.encodeString(JSON.stringify([
          [notFound.error, notFound.message, notFound.code, notFound.response.status, notFound.response.data],
          [slow.error, slow.message], [denied.error, denied.message], [notJson.error, notJson.message.slice(0, 11)],
        ]));`;
      const [notFound, slow, denied, notJson] = JSON.parse(toUtf8String((await run({ source })).response!));
      expect(notFound).to.deep.equal([true, "Not Found", "404", 404, "nothing here"]);
      expect(slow).to.deep.equal([true, "HostCallError: fetch timed out after 100 ms"]);
      expect(denied).to.deep.equal([true, "HostCallError: fetch denied by egress policy: not-allowed.example:443"]);
      expect(notJson).to.deep.equal([true, "SyntaxError"]);
    });

    it("stays within the worker's host-call limit: the request after it ends the run", async () => {
      const out = await run({
        source: `for (let i = 0; i < 10; i++) await Functions.makeHttpRequest({ url: "${server.url}/text" }); return new Uint8Array(1)`,
      });
      expect(out.status).to.equal(AgentStatus.HOST_CALL_LIMIT);
    });
  });

  describe("errors, as Chainlink's err", () => {
    it("a thrown Error's message, a thrown string, the type of anything else", async () => {
      expect(await run({ source: "throw new Error('price feed down')" })).to.deep.equal({ status: 0, error: "price feed down" });
      expect((await run({ source: "throw 'plain string'" })).error).to.equal("plain string");
      expect((await run({ source: "throw 42" })).error).to.equal("invalid value thrown of type number");
      expect((await run({ source: "await Promise.reject(new TypeError('async'))" })).error).to.equal("async");
    });

    it("a result that is not bytes, and source that does not compile", async () => {
      expect((await run({ source: "return 42" })).error).to.equal("returned value not an ArrayBuffer or Uint8Array");
      expect((await run({ source: "return [1, 2]" })).error).to.equal("returned value not an ArrayBuffer or Uint8Array");
      expect((await run({ source: "return (" })).error).to.equal(SYNTAX_ERROR);
      // Module code is strict: an undeclared assignment is an error there, as on Chainlink's nodes.
      expect((await run({ source: "undeclared = 1; return new Uint8Array(1)" })).error).to.match(/undeclared/);
    });

    it("the sandbox's limits end the run with their status (the adapter passes the message on as err)", async () => {
      const loop = await run({ source: "for (;;) {}" });
      expect(loop.status).to.equal(AgentStatus.TIME_LIMIT);
      const memory = await run({ source: "const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length)" });
      expect(memory).to.deep.equal({ status: AgentStatus.MEMORY_LIMIT, error: "memory limit exceeded" });
      const recursion = await run({ source: "const f = () => f() + 1; return f()" });
      expect(recursion.status).to.equal(AgentStatus.MEMORY_LIMIT);
    });

    it("refuses what it does not support, with the reason", async () => {
      expect((await runData(await encoder.encodeWithLocation.staticCall(1, "https://example.com/source.js"))).error).to.match(
        /^code location Remote is not supported/,
      );
      expect((await run({ source: "return new Uint8Array(1)", secretsLocation: 2, secrets: "0x05" })).error).to.match(/^DON-hosted secrets are not supported/);
      expect((await runData("0x6361")).error).to.match(/^invalid request data: /);
      expect((await runData("0x")).error).to.equal("invalid request: no request data after the client address and response limit");
    });

    it("answers no more than the adapter's maxResponseBytes: a longer response becomes the adapter's error, a longer error text is cut", async () => {
      const limit = { maxResponseBytes: 64 };
      const exact = await run({ source: "return new Uint8Array(64).fill(7)" }, limit);
      expect(exact.response).to.equal(hexlify(new Uint8Array(64).fill(7)));
      expect(await run({ source: "return new Uint8Array(65)" }, limit)).to.deep.equal({ status: 0, error: "response >64 bytes" });
      expect(await run({ source: "throw new Error('e'.repeat(100))" }, limit)).to.deep.equal({ status: 0, error: "e".repeat(64) });
      // Attack: source that makes every typed array claim length 1 still cannot slip a long response through.
      const lying = `
        Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), "length", { get() { return 1; } });
        return new Uint8Array(5000);`;
      const lied = await run({ source: lying }, limit);
      expect(lied.response).to.equal(undefined);
      expect(toUtf8Bytes(lied.error!).length).to.be.at.most(64);
    });

    it("console.log in the source reaches the worker's log, not the answer", async () => {
      const out = await run({ source: "console.log('debug', 1); return Functions.encodeString('ok')" });
      expect(out.response).to.equal(hexlify(toUtf8Bytes("ok")));
    });
  });

  describe("secrets (sealed to the cluster key for the adapter, this agent and the client)", () => {
    const sealed = (client = CLIENT, secrets: object = { apiKey: "sk-live-123" }) =>
      hexlify(
        sealForwardedInput(publicKeyOf(clusterKey), KEY_EPOCH, toUtf8Bytes(JSON.stringify(secrets)), {
          chainId: TEST_CHAIN_ID,
          consumer: ADAPTER,
          agentId: AGENT_ID,
          client,
        }),
      );

    it("gives the source its client's secrets", async () => {
      const out = await run({
        source: "return Functions.encodeString(secrets.apiKey + ':' + Object.keys(secrets).length)",
        secretsLocation: 1,
        secrets: sealed(),
      });
      expect(toUtf8String(out.response!)).to.equal("sk-live-123:1");
      // No secrets in the request: an empty object, as on Chainlink.
      const none = await run({ source: "return Functions.encodeString(JSON.stringify(secrets))" });
      expect(toUtf8String(none.response!)).to.equal("{}");
    });

    it("attack: another client copying the sealed secrets from the victim's request gets an error, never the secrets", async () => {
      const exfiltrate = "return Functions.encodeString(JSON.stringify(secrets))";
      const copied = await run({ source: exfiltrate, secretsLocation: 1, secrets: sealed() }, { client: OTHER_CLIENT });
      expect(copied).to.deep.equal({ status: 0, error: `cannot decrypt forwarded input (key epoch ${KEY_EPOCH})` });
      // Nor through another consumer than the adapter (a contract or an account calling the router directly).
      const direct = await run({ source: exfiltrate, secretsLocation: 1, secrets: sealed() }, { consumer: OTHER_CLIENT });
      expect(direct.error).to.equal(`cannot decrypt forwarded input (key epoch ${KEY_EPOCH})`);
    });

    it("attack: source cannot reach the worker's decryption to open another client's secrets", async () => {
      // The attacker's own request carries the victim's blob in bytesArgs and tries every way to
      // the runtime's context: the agent's exported handler with a forged ctx, globals, Function tricks.
      const victimBlob = sealed(CLIENT, { apiKey: "victim" });
      const source = `
        const found = [];
        const bytes = new Uint8Array(bytesArgs[0].slice(2).match(/../g).map((b) => parseInt(b, 16)));
        for (const name of Object.getOwnPropertyNames(globalThis)) {
          const v = globalThis[name];
          if (v && typeof v.openForwardedInput === "function") found.push(name);
        }
        let viaHandler = "none";
        try {
          const handler = globalThis.__agent && globalThis.__agent.default;
          if (handler) {
            const fake = { inputBytes: new Uint8Array(0), fetch() {}, log() {}, openForwardedInput: async () => new Uint8Array([123, 125]) };
            viaHandler = String((await handler("", fake))[0]);
          }
        } catch (e) { viaHandler = "threw"; }
        return Functions.encodeString(JSON.stringify({ found, viaHandler, size: bytes.length, secrets }));`;
      const out = await run({ source, bytesArgs: [victimBlob] }, { client: OTHER_CLIENT });
      const seen = JSON.parse(toUtf8String(out.response!));
      expect(seen.found).to.deep.equal([]);
      expect(seen.secrets).to.deep.equal({});
      expect(JSON.stringify(seen)).to.not.contain("victim");
    });

    it("refuses secrets that are not a JSON object of strings", async () => {
      const out = await run({ source: "return new Uint8Array(1)", secretsLocation: 1, secrets: sealed(CLIENT, { n: 1 }) });
      expect(out.error).to.equal("secrets are not a JSON object of strings");
    });
  });
});
