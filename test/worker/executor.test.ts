import { join } from "node:path";
import { readFileSync } from "node:fs";
import { fetch as guardedFetch } from "undici";
import { PrivateAddressError, guardedDispatcher } from "../../worker/src/net-guard.js";
import { expect } from "chai";
import { getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { encryptToClusterKey, publicKeyOf, sealForwardedInput, type ForwardedInputBinding } from "../../protocol/confidential.js";
import { DecryptionError, type InputDecryptor } from "../../protocol/decryptor.js";
import { requestHash } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { buildAgent } from "../../worker/cli/build-agent.js";
import {
  AGENT_REGISTRY,
  BUNDLE_STORE,
  OWNER,
  TEST_CHAIN_ID,
  bundleOf,
  harness,
  makeRequest,
  startFakeLlm,
  startServer,
  storeBundle,
  text,
  type Harness,
  type TestServer,
} from "./helpers.js";

const CHAIN_ID = TEST_CHAIN_ID;

/**
 * A decryptor for tests: "sealed:<epoch>:<binding>:<plaintext>" opens under its epoch and binding
 * (`chainId/consumer/agentId` for inputs, `chainId/agentRegistry/agentId` for secrets), nothing else.
 */
const bindingOf = (parts: (string | bigint | number)[]) => parts.map((p) => String(p).toLowerCase()).join("/");
function open(epoch: number, ciphertext: Uint8Array, binding: string): string {
  const sealed = new TextDecoder().decode(ciphertext);
  const prefix = `sealed:${epoch}:${binding}:`;
  if (!sealed.startsWith(prefix)) throw new DecryptionError("wrong key or binding", epoch);
  return sealed.slice(prefix.length);
}
const fakeDecryptor: InputDecryptor = {
  async decryptInput(epoch, ciphertext, { chainId, consumer, agentId }) {
    return new TextEncoder().encode(open(epoch, ciphertext, bindingOf([chainId, consumer, agentId])));
  },
  async decryptAgentSecrets(epoch, ciphertext, { chainId, agentRegistry, agentId }) {
    const parsed = JSON.parse(open(epoch, ciphertext, bindingOf([chainId, agentRegistry, agentId]))) as Record<string, unknown>;
    if (Object.values(parsed).some((v) => typeof v !== "string")) throw new DecryptionError("not a string map", epoch);
    return parsed as Record<string, string>;
  },
};
const seal = (epoch: number, binding: (string | bigint | number)[], plain: string) =>
  new TextEncoder().encode(`sealed:${epoch}:${bindingOf(binding)}:${plain}`);

async function execute(h: Harness, agentId: bigint, input: string, overrides: Parameters<typeof makeRequest>[0] = {}) {
  const bytes = new TextEncoder().encode(input);
  const code = await h.directory.codeOf(agentId, overrides.agentVersion ?? 1n);
  const request = makeRequest({ agentId, codeHash: code.codeHash, inputHash: keccak256(bytes), ...overrides });
  return h.executor.execute(request, bytes, requestHash(request));
}

/** Puts a built bundle into the content-addressed store the harness reads; returns a URI no network serves. */
function stored(path: string): string {
  storeBundle(BUNDLE_STORE, new Uint8Array(readFileSync(path)));
  return "https://bundles.invalid/built.js";
}

describe("worker executor", function () {
  this.timeout(20_000);

  describe("code and bundles", () => {
    it("runs the registered code of the requested version", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`(input) => "v1:" + input`));
      const result = await execute(h, 1n, "x");
      expect(result.status).to.equal(AgentStatus.OK);
      expect(text(result.output)).to.equal("v1:x");
      expect(result.subAgentIds).to.deep.equal([]);
    });

    it("signs CODE_HASH_MISMATCH when the request's code hash is not the registry's", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`() => "x"`));
      const result = await execute(h, 1n, "x", { codeHash: keccak256(toUtf8Bytes("other")) });
      expect(result.status).to.equal(AgentStatus.CODE_HASH_MISMATCH);
      expect(text(result.output)).to.match(/differs/);
    });

    it("signs CODE_HASH_MISMATCH when the bundle's bytes do not hash to the code hash", async () => {
      const h = await harness();
      const genuine = bundleOf(`() => "genuine"`);
      const codeHash = keccak256(toUtf8Bytes(genuine));
      const host = await startServer((_req, _body, res) => res.writeHead(200).end(bundleOf(`() => "tampered"`)));
      try {
        h.directory.set(1n, { owner: "0x00000000000000000000000000000000000000A1", price: 1n, versions: [{ codeHash, uri: `${host.url}/a.js` }] });
        const result = await execute(h, 1n, "x");
        expect(result.status).to.equal(AgentStatus.CODE_HASH_MISMATCH);
        expect(text(result.output)).to.match(/does not match/);
      } finally {
        await host.close();
      }
    });

    it("signs BUNDLE_UNAVAILABLE when the bundle cannot be fetched", async () => {
      const h = await harness();
      h.directory.set(1n, {
        owner: "0x00000000000000000000000000000000000000A1",
        price: 1n,
        versions: [{ codeHash: keccak256(toUtf8Bytes("x")), uri: "https://bundles.invalid/missing.js" }],
      });
      const result = await execute(h, 1n, "x");
      expect(result.status).to.equal(AgentStatus.BUNDLE_UNAVAILABLE);
    });

    it("signs INVALID_BUNDLE for a bundle that is not an agent", async () => {
      const h = await harness();
      h.register(1n, `this is not javascript`);
      expect((await execute(h, 1n, "x")).status).to.equal(AgentStatus.INVALID_BUNDLE);
    });

    it("signs INTERNAL_ERROR when the registry cannot be read", async () => {
      const h = await harness();
      const request = makeRequest({ agentId: 404n });
      const result = await h.executor.execute(request, new Uint8Array(), requestHash(request));
      expect(result.status).to.equal(AgentStatus.INTERNAL_ERROR);
      expect(text(result.output)).to.equal("agent registry unavailable");
    });
  });

  describe("confidential input and secrets", () => {
    const CONSUMER = makeRequest().consumer;

    it("decrypts input sealed to a key epoch for this chain, consumer and agent", async () => {
      const h = await harness({ decryptor: fakeDecryptor });
      h.register(1n, bundleOf(`(input) => "plain:" + input`));
      const sealed = seal(3, [CHAIN_ID, CONSUMER, 1n], "secret question");
      const code = await h.directory.codeOf(1n, 1n);
      const request = makeRequest({ codeHash: code.codeHash, keyEpoch: 3n, inputHash: keccak256(sealed) });
      const result = await h.executor.execute(request, sealed, requestHash(request));
      expect(text(result.output)).to.equal("plain:secret question");
    });

    it("attack: an input pinned to a code hash opens only in a request for that code, never under another version", async () => {
      const clusterKey = secp256k1.utils.randomPrivateKey();
      const keyring = new ClusterKeyring({ now: () => 0 });
      keyring.add(4, clusterKey, null);
      const h = await harness({ decryptor: keyring });
      const v1 = bundleOf(`(input) => "digest:" + input.length`);
      const debug = bundleOf(`(input) => "echo:" + input`);
      const v1Hash = h.register(1n, v1);
      const debugHash = keccak256(toUtf8Bytes(debug));
      h.register(9n, debug);
      h.directory.set(1n, { owner: OWNER, price: 1n, versions: [await h.directory.codeOf(1n, 1n), await h.directory.codeOf(9n, 1n)] });
      const binding = { chainId: CHAIN_ID, consumer: CONSUMER, agentId: 1n };
      const pinned = encryptToClusterKey(hexlify(publicKeyOf(clusterKey)), toUtf8Bytes("PIN-SECRET"), { ...binding, codeHash: v1Hash });
      const run = (agentVersion: bigint, codeHash: string) => {
        const request = makeRequest({ agentVersion, codeHash, keyEpoch: 4n, inputHash: keccak256(pinned) });
        return h.executor.execute(request, pinned, requestHash(request));
      };
      const debugRun = await run(2n, debugHash);
      expect(debugRun.status).to.equal(AgentStatus.DECRYPTION_FAILED);
      expect(text(debugRun.output)).to.not.contain("PIN-SECRET");
      expect(text((await run(1n, v1Hash)).output)).to.equal("digest:10");
      // An unpinned input still opens for any version of the agent (the consumer's choice).
      const loose = encryptToClusterKey(hexlify(publicKeyOf(clusterKey)), toUtf8Bytes("loose"), binding);
      const request = makeRequest({ agentVersion: 2n, codeHash: debugHash, keyEpoch: 4n, inputHash: keccak256(loose) });
      expect(text((await h.executor.execute(request, loose, requestHash(request))).output)).to.equal("echo:loose");
    });

    it("signs DECRYPTION_FAILED for an input sealed for another consumer, agent or chain", async () => {
      const h = await harness({ decryptor: fakeDecryptor });
      h.register(1n, bundleOf(`(input) => "plain:" + input`));
      const code = await h.directory.codeOf(1n, 1n);
      for (const binding of [
        [CHAIN_ID, "0x00000000000000000000000000000000000000C1", 1n],
        [CHAIN_ID, CONSUMER, 2n],
        [1n, CONSUMER, 1n],
      ]) {
        const sealed = seal(3, binding, "copied");
        const request = makeRequest({ codeHash: code.codeHash, keyEpoch: 3n, inputHash: keccak256(sealed) });
        const result = await h.executor.execute(request, sealed, requestHash(request));
        expect(result.status).to.equal(AgentStatus.DECRYPTION_FAILED);
        expect(text(result.output)).to.equal("cannot decrypt input (key epoch 3)");
      }
    });

    it("signs DECRYPTION_FAILED when the input cannot be decrypted (default: no cluster key)", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`(input) => input`));
      const result = await execute(h, 1n, "ciphertext", { keyEpoch: 2n });
      expect(result.status).to.equal(AgentStatus.DECRYPTION_FAILED);
      expect(text(result.output)).to.equal("cannot decrypt input (key epoch 2)");
    });

    it("gives an agent its own decrypted secrets, bound to the registry and agent", async () => {
      const h = await harness({ decryptor: fakeDecryptor });
      const codeHash = h.register(1n, bundleOf(`(i, ctx) => ctx.secrets.API_KEY`));
      const entry = { owner: OWNER, price: 1n, versions: [await h.directory.codeOf(1n, 1n)] };
      const secrets = JSON.stringify({ API_KEY: "sk-123" });
      h.directory.set(1n, { ...entry, secrets: { keyEpoch: 4, ciphertext: seal(4, [CHAIN_ID, AGENT_REGISTRY, 1n], secrets) } });
      const result = await execute(h, 1n, "x", { codeHash });
      expect(text(result.output)).to.equal("sk-123");
      // Agent 2's secrets copied onto agent 1 do not open.
      h.directory.set(1n, { ...entry, secrets: { keyEpoch: 4, ciphertext: seal(4, [CHAIN_ID, AGENT_REGISTRY, 2n], secrets) } });
      const copied = await execute(h, 1n, "x", { codeHash });
      expect(copied.status).to.equal(AgentStatus.DECRYPTION_FAILED);
      expect(text(copied.output)).to.equal("cannot decrypt secrets of agent 1 (key epoch 4)");
    });

    it("signs DECRYPTION_FAILED for secrets that do not decrypt or are not a string map", async () => {
      const h = await harness({ decryptor: fakeDecryptor });
      h.register(1n, bundleOf(`() => "x"`));
      const entry = { owner: OWNER, price: 1n, versions: [await h.directory.codeOf(1n, 1n)] };
      const binding = [CHAIN_ID, AGENT_REGISTRY, 1n];
      h.directory.set(1n, { ...entry, secrets: { keyEpoch: 4, ciphertext: seal(5, binding, "{}") } });
      expect((await execute(h, 1n, "x")).status).to.equal(AgentStatus.DECRYPTION_FAILED);
      h.directory.set(1n, { ...entry, secrets: { keyEpoch: 4, ciphertext: seal(4, binding, JSON.stringify({ n: 1 })) } });
      expect((await execute(h, 1n, "x")).status).to.equal(AgentStatus.DECRYPTION_FAILED);
    });

    it("refuses secrets when the directory names no AgentRegistry to bind them to", async () => {
      const h = await harness({ decryptor: fakeDecryptor, agentRegistry: null });
      const codeHash = h.register(1n, bundleOf(`(i, ctx) => ctx.secrets.API_KEY`));
      const entry = { owner: OWNER, price: 1n, versions: [await h.directory.codeOf(1n, 1n)] };
      h.directory.set(1n, { ...entry, secrets: { keyEpoch: 4, ciphertext: seal(4, [CHAIN_ID, AGENT_REGISTRY, 1n], "{}") } });
      const result = await execute(h, 1n, "x", { codeHash });
      expect(result.status).to.equal(AgentStatus.DECRYPTION_FAILED);
      expect(text(result.output)).to.match(/no AgentRegistry/);
    });
  });

  describe("forwarded inputs (ctx.openForwardedInput)", () => {
    const CONSUMER = makeRequest().consumer;
    const CLIENT = "0x00000000000000000000000000000000000000ce";
    const ATTACKER = "0x0000000000000000000000000000000000000bad";
    /** Input: JSON { sealed: hex, client }; output: what opened, or the refusal's code and message. */
    const OPENER = `async (input, ctx) => {
      const { sealed, client } = JSON.parse(input);
      const bytes = new Uint8Array(sealed.length / 2).map((_, i) => parseInt(sealed.substr(i * 2, 2), 16));
      try { return "opened:" + String.fromCharCode(...(await ctx.openForwardedInput(bytes, client))); }
      catch (e) { return e.code + ": " + e.message; }
    }`;
    async function setUp() {
      const clusterKey = secp256k1.utils.randomPrivateKey();
      const keyring = new ClusterKeyring({ now: () => 0 });
      keyring.add(5, clusterKey, null);
      const h = await harness({ decryptor: keyring });
      const codeHash = h.register(1n, bundleOf(OPENER));
      const sealFor = (binding: Partial<ForwardedInputBinding>, plain = "top secret", epoch = 5) =>
        hexlify(
          sealForwardedInput(publicKeyOf(clusterKey), epoch, toUtf8Bytes(plain), {
            chainId: CHAIN_ID,
            consumer: CONSUMER,
            agentId: 1n,
            client: CLIENT,
            ...binding,
          }),
        ).slice(2);
      const ask = (sealed: string, client: string, overrides: Parameters<typeof makeRequest>[0] = {}) =>
        execute(h, 1n, JSON.stringify({ sealed, client }), { codeHash, ...overrides });
      return { h, clusterKey, codeHash, sealFor, ask };
    }

    it("opens data sealed for this consumer, this agent and the client the agent names", async () => {
      const { sealFor, ask } = await setUp();
      expect(text((await ask(sealFor({}), CLIENT)).output)).to.equal("opened:top secret");
      // Addresses name the client whatever their case (or checksum).
      expect(text((await ask(sealFor({}), CLIENT.toUpperCase().replace("0X", "0x"))).output)).to.equal("opened:top secret");
    });

    it("attack: a sealed blob copied into another client's, consumer's or agent's request does not open", async () => {
      const { h, sealFor, ask, codeHash } = await setUp();
      const victims = sealFor({});
      const refused = "DECRYPTION_FAILED: cannot decrypt forwarded input (key epoch 5)";
      // The attacker's own client names itself: the blob was sealed for the victim client.
      expect(text((await ask(victims, ATTACKER)).output)).to.equal(refused);
      // Sent by another consumer (the attacker's own contract or account), naming the victim.
      expect(text((await ask(victims, CLIENT, { consumer: ATTACKER })).output)).to.equal(refused);
      // Opened by another agent running the same code.
      h.directory.set(2n, { owner: OWNER, price: 1n, versions: [await h.directory.codeOf(1n, 1n)] });
      expect(text((await execute(h, 2n, JSON.stringify({ sealed: victims, client: CLIENT }), { codeHash })).output)).to.equal(refused);
      // On another chain.
      expect(text((await ask(sealFor({ chainId: 1n }), CLIENT)).output)).to.equal(refused);
    });

    it("attack: forwarded inputs and request inputs never open as each other", async () => {
      const { h, clusterKey, sealFor, ask, codeHash } = await setUp();
      // A request input (bound to consumer and agent, no client) dressed up as a forwarded one.
      const input = encryptToClusterKey(publicKeyOf(clusterKey), toUtf8Bytes("input"), { chainId: CHAIN_ID, consumer: CONSUMER, agentId: 1n });
      expect(text((await ask("00000005" + hexlify(input).slice(2), CLIENT)).output)).to.equal(
        "DECRYPTION_FAILED: cannot decrypt forwarded input (key epoch 5)",
      );
      // A forwarded input sent as the request's confidential input.
      const forwarded = getBytes("0x" + sealFor({})).subarray(4);
      const request = makeRequest({ codeHash, keyEpoch: 5n, inputHash: keccak256(forwarded) });
      const result = await h.executor.execute(request, forwarded, requestHash(request));
      expect(result.status).to.equal(AgentStatus.DECRYPTION_FAILED);
    });

    it("attack: a sub-agent cannot open forwarded inputs, even naming the right client", async () => {
      const { h, sealFor } = await setUp();
      h.register(3n, bundleOf(`async (input, ctx) => (await ctx.callAgent(1, input)).text`));
      const result = await execute(h, 3n, JSON.stringify({ sealed: sealFor({ agentId: 1n }), client: CLIENT }));
      expect(text(result.output)).to.equal("HOST_CALL_DENIED: openForwardedInput denied: a sub-agent call cannot open forwarded inputs");
    });

    it("a blob pinned to a code hash opens only for that code", async () => {
      const { sealFor, ask, codeHash } = await setUp();
      expect(text((await ask(sealFor({ codeHash }), CLIENT)).output)).to.equal("opened:top secret");
      expect(text((await ask(sealFor({ codeHash: keccak256(toUtf8Bytes("other code")) }), CLIENT)).output)).to.match(/^DECRYPTION_FAILED/);
    });

    it("refuses what is not a sealed forwarded input, and an epoch without a key", async () => {
      const { sealFor, ask } = await setUp();
      expect(text((await ask("0102", CLIENT)).output)).to.equal("DECRYPTION_FAILED: cannot decrypt forwarded input: it is not a sealed forwarded input");
      expect(text((await ask(sealFor({}, "x", 6), CLIENT)).output)).to.equal("DECRYPTION_FAILED: cannot decrypt forwarded input (key epoch 6)");
    });
  });

  describe("sub-agent calls", () => {
    it("runs callees in their own sandbox and lists nested sub-calls", async () => {
      const h = await harness();
      h.register(
        1n,
        bundleOf(
          `async (i, ctx) => { const a = await ctx.callAgent(2, "a"); const b = await ctx.callAgent(3, "b"); return a.text + "|" + b.text + "|" + typeof secretOfTwo; }`,
        ),
      );
      h.register(2n, bundleOf(`async (input, ctx) => { globalThis.secretOfTwo = 1; return "two(" + input + "," + ctx.request.caller + ")"; }`));
      h.register(3n, bundleOf(`async (input, ctx) => "three(" + (await ctx.callAgent(2, input)).text + ")"`));
      const result = await execute(h, 1n, "x");
      expect(result.status, text(result.output)).to.equal(AgentStatus.OK);
      expect(text(result.output)).to.equal("two(a,1)|three(two(b,3))|undefined");
      expect(result.subAgentIds).to.deep.equal([2n, 3n, 2n]);
    });

    it("runs a callee's current code", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.callAgent(2, "")).text`));
      h.register(2n, bundleOf(`() => "old"`));
      const old = await h.directory.codeOf(2n, 1n);
      h.register(2n, bundleOf(`() => "new"`));
      const current = await h.directory.codeOf(2n, 1n);
      h.directory.set(2n, { owner: "0x00000000000000000000000000000000000000A1", price: 5n, versions: [old, current] });
      expect(text((await execute(h, 1n, "x")).output)).to.equal("new");
    });

    it("denies cycles with HOST_CALL_DENIED", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.callAgent(2, "")).text`));
      h.register(2n, bundleOf(`async (i, ctx) => { try { await ctx.callAgent(1, ""); } catch (e) { return e.code + ": " + e.message; } }`));
      const result = await execute(h, 1n, "x");
      expect(text(result.output)).to.equal("HOST_CALL_DENIED: callAgent denied: cycle 1 -> 2 -> 1");
      expect(result.subAgentIds).to.deep.equal([2n]);
    });

    it("denies calls past the depth limit", async () => {
      const h = await harness({ limits: { maxCallDepth: 2 } });
      for (const id of [1n, 2n, 3n]) h.register(id, bundleOf(`async (i, ctx) => "${id}>" + (await ctx.callAgent(${id + 1n}, "")).text`));
      h.register(4n, bundleOf(`() => "leaf"`));
      const result = await execute(h, 1n, "x");
      expect(result.status).to.equal(AgentStatus.SUB_AGENT_FAILED);
      expect(text(result.output)).to.match(/agent 2 failed with SUB_AGENT_FAILED: agent 3 failed with HOST_CALL_DENIED: callAgent denied: call depth limit 2/);
      expect(result.subAgentIds).to.deep.equal([]);
    });

    it("signs SUB_AGENT_FAILED when a callee fails and the caller does not catch it", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.callAgent(2, "")).text`));
      h.register(2n, bundleOf(`() => { for (;;) {} }`));
      const result = await execute(h, 1n, "x");
      expect(result.status).to.equal(AgentStatus.SUB_AGENT_FAILED);
      expect(text(result.output)).to.match(/agent 2 failed with TIME_LIMIT/);
    });

    it("a failing callee is not listed and the caller may recover", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => { try { await ctx.callAgent(2, ""); } catch (e) { return e.code; } }`));
      h.register(2n, bundleOf(`() => { throw new Error("callee broke"); }`));
      const result = await execute(h, 1n, "x");
      expect(text(result.output)).to.equal("SUB_AGENT_FAILED");
      expect(result.subAgentIds).to.deep.equal([]);
    });

    it("enforces the budget: maxFee - agentPrice - feeReserve", async () => {
      const h = await harness({ feeReserve: 100n });
      h.register(
        1n,
        bundleOf(
          `async (i, ctx) => { const out = []; for (const id of [2, 2, 2]) { try { out.push((await ctx.callAgent(id, "")).text); } catch (e) { out.push(e.code); } } return out.join(","); }`,
        ),
      );
      h.register(2n, bundleOf(`() => "ok"`), { price: 40n });
      // 200 - 10 - 100 = 90 leaves room for two calls at 40.
      const result = await execute(h, 1n, "x", { maxFee: 200n, agentPrice: 10n });
      expect(text(result.output)).to.equal("ok,ok,BUDGET_EXCEEDED");
      expect(result.subAgentIds).to.deep.equal([2n, 2n]);
      expect(result.subAgentPrices).to.deep.equal([40n, 40n], "each call signed at the price it was budgeted at");
    });

    it("keeps the capacity fee out of the budget: maxFee - capacityFee - agentPrice - feeReserve", async () => {
      const h = await harness({ feeReserve: 100n });
      h.register(
        1n,
        bundleOf(
          `async (i, ctx) => { const out = []; for (const id of [2, 2, 2]) { try { out.push((await ctx.callAgent(id, "")).text); } catch (e) { out.push(e.code); } } return out.join(","); }`,
        ),
      );
      h.register(2n, bundleOf(`() => "ok"`), { price: 40n });
      // 240 - 40 - 10 - 100 = 90: two calls at 40, not the three 130 would allow. The router takes the
      // capacity fee first at settlement, so budgeting it would leave the last callee unpaid.
      const result = await execute(h, 1n, "x", { maxFee: 240n, capacityFee: 40n, agentPrice: 10n });
      expect(text(result.output)).to.equal("ok,ok,BUDGET_EXCEEDED");
      expect(result.subAgentPrices).to.deep.equal([40n, 40n]);
    });

    it("signs BUDGET_EXCEEDED when the agent does not catch the refusal", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.callAgent(2, "")).text`));
      h.register(2n, bundleOf(`() => "ok"`), { price: 1000n });
      const result = await execute(h, 1n, "x", { maxFee: 500n, agentPrice: 10n });
      expect(result.status).to.equal(AgentStatus.BUDGET_EXCEEDED);
      expect(result.subAgentIds).to.deep.equal([]);
    });

    it("refunds a failed callee's price; the callees it used are still paid", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => { try { await ctx.callAgent(2, ""); } catch (e) {} return (await ctx.callAgent(3, "")).text; }`));
      h.register(2n, bundleOf(`async (i, ctx) => { await ctx.callAgent(3, ""); throw new Error("after paying 3"); }`), { price: 50n });
      h.register(3n, bundleOf(`() => "three"`), { price: 40n });
      // Budget 90: 2 (50) is refunded when it fails; its call to 3 (40) delivered and stays paid, so
      // the second call to 3 (40) still fits.
      const result = await execute(h, 1n, "x", { maxFee: 100n, agentPrice: 10n });
      expect(text(result.output)).to.equal("three");
      expect(result.subAgentIds).to.deep.equal([3n, 3n]);
      expect(result.subAgentPrices).to.deep.equal([40n, 40n]);
    });

    it("attack: a caller that fails after using a paid callee's output still lists (pays) the callee", async () => {
      const h = await harness();
      // The callee's answer leaves in the caller's error message: the work was used.
      h.register(1n, bundleOf(`async (i, ctx) => { const paid = (await ctx.callAgent(2, "")).text; throw new Error(paid); }`));
      h.register(2n, bundleOf(`() => "valuable answer"`), { price: 40n });
      const failed = await execute(h, 1n, "x", { maxFee: 100n, agentPrice: 10n });
      expect(failed.status).to.equal(AgentStatus.AGENT_ERROR);
      expect(text(failed.output)).to.contain("valuable answer");
      expect(failed.subAgentIds).to.deep.equal([2n]);
      expect(failed.subAgentPrices).to.deep.equal([40n]);
      // Also when a limit ends the caller after the call.
      h.register(3n, bundleOf(`async (i, ctx) => { await ctx.callAgent(2, ""); for (;;) {} }`));
      const limited = await execute(h, 3n, "x", { maxFee: 100n, agentPrice: 10n });
      expect(limited.status).to.equal(AgentStatus.TIME_LIMIT);
      expect(limited.subAgentIds).to.deep.equal([2n]);
      expect(limited.subAgentPrices).to.deep.equal([40n]);
    });
  });

  describe("host services", () => {
    let server: TestServer;
    before(async () => {
      server = await startServer((req, _body, res) => {
        if (req.url === "/slow") {
          setTimeout(() => res.end("late"), 600);
          return;
        }
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`served ${req.method} ${req.url}`);
      });
    });
    after(() => server.close());

    it("fetches from allowed hosts", async () => {
      const h = await harness({ egressAllow: [new URL(server.url).host] });
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.fetch("${server.url}/price?x=1")).text()`));
      expect(text((await execute(h, 1n, "x")).output)).to.equal("served GET /price?x=1");
    });

    it("gives up on a fetch after its timeoutMs, and the agent carries on", async () => {
      const h = await harness({ egressAllow: [new URL(server.url).host] });
      h.register(
        1n,
        bundleOf(`async (i, ctx) => {
        try { await ctx.fetch("${server.url}/slow", { timeoutMs: 50 }); } catch (e) { return e.code + ": " + e.message; }
      }`),
      );
      const started = Date.now();
      expect(text((await execute(h, 1n, "x")).output)).to.equal("HOST_CALL_FAILED: fetch timed out after 50 ms");
      expect(Date.now() - started).to.be.lessThan(500);
    });

    it("signs HOST_CALL_DENIED for a host outside the egress policy", async () => {
      const h = await harness({ egressAllow: ["api.example.com"] });
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.fetch("${server.url}/x")).text()`));
      const result = await execute(h, 1n, "x");
      expect(result.status).to.equal(AgentStatus.HOST_CALL_DENIED);
      expect(text(result.output)).to.match(/egress policy: 127.0.0.1/);
      expect(server.requests.filter((r) => r.url === "/x")).to.have.length(0);
    });

    it("signs HOST_CALL_DENIED for a response over the size limit", async () => {
      const h = await harness({ egressAllow: ["127.0.0.1"], limits: { maxFetchResponseBytes: 5 } });
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.fetch("${server.url}/big")).text()`));
      expect((await execute(h, 1n, "x")).status).to.equal(AgentStatus.HOST_CALL_DENIED);
    });

    it("runs the example LLM agent against a local OpenAI-compatible server", async () => {
      const llm = await startFakeLlm();
      try {
        const h = await harness({ llm: { baseUrl: `${llm.url}/v1`, apiKey: "sk-worker", model: "test-model", timeoutMs: 2000 } });
        const built = await buildAgent("agents/llm-chat/index.ts", join(h.dir, "llm.js"));
        const sentiment = await buildAgent("agents/sentiment/index.ts", join(h.dir, "sentiment.js"));
        const owner = "0x00000000000000000000000000000000000000A1";
        h.directory.set(1n, { owner, price: 10n, versions: [{ codeHash: built.codeHash, uri: stored(built.bundlePath) }] });
        h.directory.set(2n, { owner, price: 3n, versions: [{ codeHash: sentiment.codeHash, uri: stored(sentiment.bundlePath) }] });
        const result = await execute(h, 1n, JSON.stringify({ prompt: "is this great?", sentimentAgent: "2" }));
        expect(result.status, text(result.output)).to.equal(AgentStatus.OK);
        const output = JSON.parse(text(result.output));
        expect(output.answer).to.equal("echo: is this great?");
        expect(output.model).to.equal("test-model");
        expect(output.sentiment.label).to.equal("positive");
        expect(result.subAgentIds).to.deep.equal([2n]);
        const sent = JSON.parse(llm.requests[0]?.body ?? "{}");
        expect(llm.requests[0]?.headers.authorization).to.equal("Bearer sk-worker");
        expect(sent.temperature).to.equal(0);
        expect(sent.seed).to.be.a("number");
        expect(sent.messages[0].role).to.equal("system");
      } finally {
        await llm.close();
      }
    });

    it('attack: egress "*" does not reach loopback or private addresses; an exactly listed host does', async () => {
      const open = await harness({ egressAllow: ["*"] });
      const port = new URL(server.url).port;
      for (const url of [
        `${server.url}/ok`,
        `http://localhost:${port}/ok`,
        `http://[::1]:${port}/ok`,
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
      ]) {
        open.register(1n, bundleOf(`async (i, ctx) => (await ctx.fetch(${JSON.stringify(url)})).text()`));
        const result = await execute(open, 1n, "x");
        expect(result.status, url).to.equal(AgentStatus.HOST_CALL_DENIED);
        expect(text(result.output), url).to.match(/is a private or loopback address/);
      }
      // The connection itself is guarded: a name that resolves to loopback is refused after DNS
      // (here "localhost" through the resolver, past the spelling check), so rebinding cannot pass.
      let caught: unknown;
      try {
        await guardedFetch(`http://localhost:${port}/ok`, { dispatcher: guardedDispatcher(new Set()) });
      } catch (error) {
        caught = (error as { cause?: unknown }).cause;
      }
      expect(caught).to.be.instanceOf(PrivateAddressError);
      const listed = await harness({ egressAllow: ["127.0.0.1"] });
      listed.register(1n, bundleOf(`async (i, ctx) => (await ctx.fetch("${server.url}/ok")).status`));
      expect((await execute(listed, 1n, "x")).status).to.equal(AgentStatus.OK);
    });

    it("attack: agents cannot choose an unoffered LLM model or more tokens than the operator allows", async () => {
      const llm = await startFakeLlm();
      try {
        const endpoint = { baseUrl: `${llm.url}/v1`, model: "cheap", models: ["cheap", "mid"], maxTokens: 256, timeoutMs: 2000 };
        const h = await harness({ llm: endpoint });
        const chat = (extra: string) => bundleOf(`async (i, ctx) => (await ctx.llm.chat({ messages: [{ role: "user", content: "hi" }]${extra} })).content`);
        h.register(1n, chat(`, model: "gpt-expensive"`));
        const model = await execute(h, 1n, "x");
        expect(model.status).to.equal(AgentStatus.HOST_CALL_DENIED);
        expect(text(model.output)).to.match(/model gpt-expensive is not offered/);
        h.register(2n, chat(`, max_tokens: 100000`));
        const tokens = await execute(h, 2n, "x");
        expect(tokens.status).to.equal(AgentStatus.HOST_CALL_DENIED);
        expect(text(tokens.output)).to.match(/max_tokens 100000 exceeds this worker's 256/);
        expect(llm.requests).to.have.length(0);
        h.register(3n, chat(`, model: "mid"`));
        expect((await execute(h, 3n, "x")).status).to.equal(AgentStatus.OK);
        const sent = JSON.parse(llm.requests[0]!.body);
        expect(sent.model).to.equal("mid");
        expect(sent.max_tokens).to.equal(256);
      } finally {
        await llm.close();
      }
    });

    it("denies llm.chat on a worker without an LLM endpoint", async () => {
      const h = await harness();
      h.register(1n, bundleOf(`async (i, ctx) => (await ctx.llm.chat({ messages: [{ role: "user", content: "x" }] })).content`));
      expect((await execute(h, 1n, "x")).status).to.equal(AgentStatus.HOST_CALL_DENIED);
    });
  });

  describe("example agents", () => {
    it("the offline sentiment agent classifies text", async () => {
      const h = await harness();
      const built = await buildAgent("agents/sentiment/index.ts", join(h.dir, "s.js"));
      h.directory.set(1n, {
        owner: "0x00000000000000000000000000000000000000A1",
        price: 1n,
        versions: [{ codeHash: built.codeHash, uri: stored(built.bundlePath) }],
      });
      const positive = JSON.parse(text((await execute(h, 1n, "The launch was great and the team is very reliable")).output));
      const negative = JSON.parse(text((await execute(h, 1n, JSON.stringify({ text: "not good, a terrible scam" }))).output));
      const neutral = JSON.parse(text((await execute(h, 1n, "the block was mined")).output));
      expect(positive.label).to.equal("positive");
      expect(negative.label).to.equal("negative");
      expect(neutral.label).to.equal("neutral");
    });
  });
});
