import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";
import { AbiCoder, getBytes, hexlify } from "ethers";
import { AgentStatus } from "../../protocol/status.js";
import { buildAgent } from "../../worker/cli/build-agent.js";
import { AbiError, decode, encode, utf8Decode, utf8Encode, type AbiValue } from "../../worker/sdk/abi.js";
import { sharedSandbox } from "./helpers.js";

const coder = AbiCoder.defaultAbiCoder();

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Node =
  | { kind: "uint" | "int"; bits: number }
  | { kind: "address" | "bool" | "bytes" | "string" }
  | { kind: "fixed"; size: number }
  | { kind: "array"; element: Node; length?: number }
  | { kind: "tuple"; components: Node[] };

/** A random type tree, at most three levels deep. */
function randomType(rand: () => number, depth = 0): Node {
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)] as T;
  const leaves = ["uint", "int", "address", "bool", "fixed", "bytes", "string"];
  switch (pick(depth >= 2 ? leaves : [...leaves, "array", "fixedArray", "tuple"])) {
    case "uint":
      return { kind: "uint", bits: pick([8, 16, 64, 96, 160, 256]) };
    case "int":
      return { kind: "int", bits: pick([8, 32, 128, 256]) };
    case "fixed":
      return { kind: "fixed", size: pick([1, 4, 20, 31, 32]) };
    case "array":
      return { kind: "array", element: randomType(rand, depth + 1) };
    case "fixedArray":
      return { kind: "array", element: randomType(rand, depth + 1), length: 1 + Math.floor(rand() * 3) };
    case "tuple":
      return { kind: "tuple", components: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomType(rand, depth + 1)) };
    default:
      return { kind: pick(["address", "bool", "bytes", "string"]) as "address" };
  }
}

function typeName(node: Node, forEthers = false): string {
  switch (node.kind) {
    case "uint":
    case "int":
      return `${node.kind}${node.bits}`;
    case "fixed":
      return `bytes${node.size}`;
    case "array":
      return `${typeName(node.element, forEthers)}[${node.length ?? ""}]`;
    case "tuple":
      return `${forEthers ? "tuple" : ""}(${node.components.map((c) => typeName(c, forEthers)).join(",")})`;
    default:
      return node.kind;
  }
}

function randomValue(node: Node, rand: () => number): AbiValue {
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)] as T;
  const bytes = (n: number) => hexlify(Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
  switch (node.kind) {
    case "uint":
      return pick([0n, (1n << BigInt(node.bits)) - 1n, BigInt(bytes(node.bits / 8))]);
    case "int": {
      const half = 1n << BigInt(node.bits - 1);
      return pick([-half, half - 1n, -1n, BigInt(bytes(node.bits / 8)) - half]);
    }
    case "address":
      return bytes(20);
    case "bool":
      return rand() < 0.5;
    case "fixed":
      return bytes(node.size);
    case "bytes":
      return bytes(pick([0, 1, 31, 32, 33, 100]));
    case "string":
      return pick(["", "hello", "ünïcödé ✓ 🚀", "x".repeat(70)]);
    case "array":
      return Array.from({ length: node.length ?? Math.floor(rand() * 4) }, () => randomValue(node.element, rand));
    case "tuple":
      return node.components.map((c) => randomValue(c, rand));
  }
}

/** ethers' decoded values with addresses lower-cased and Results as plain arrays. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return [...value].map(normalise);
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return value.toLowerCase();
  return value;
}

describe("agent SDK: abi.encode / abi.decode", function () {
  it("encodes exactly as ethers (Solidity's abi.encode) for 400 random type trees", function () {
    const rand = prng(16);
    for (let i = 0; i < 400; i++) {
      const nodes = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomType(rand));
      const types = nodes.map((n) => typeName(n));
      const ethersTypes = nodes.map((n) => typeName(n, true));
      const values = nodes.map((n) => randomValue(n, rand));
      const theirs = coder.encode(ethersTypes, values);
      expect(hexlify(encode(types, values)), `case ${i}: ${types.join(", ")}`).to.equal(theirs);
      expect(normalise(decode(types, theirs)), `decode case ${i}`).to.deep.equal(normalise(coder.decode(ethersTypes, theirs)));
    }
  });

  it("takes named tuple components, tuple(...) syntax, numbers and decimal strings", function () {
    const expected = coder.encode(["tuple(uint256,string)", "int8"], [[7n, "seven"], -3n]);
    expect(hexlify(encode(["(uint256 score, string label)", "int8"], [[7, "seven"], "-3"]))).to.equal(expected);
    expect(hexlify(encode(["tuple(uint256,string)", "int8"], [["0x07", "seven"], -3n]))).to.equal(expected);
    expect(decode(["(uint256 score, string label)", "int8"], expected)).to.deep.equal([[7n, "seven"], -3n]);
  });

  it("refuses values that do not fit their type, naming where", function () {
    const refused: [string, AbiValue, RegExp][] = [
      ["uint8", 256n, /value\[0\] is out of range for uint8/],
      ["uint256", -1n, /out of range for uint256/],
      ["int8", 128n, /out of range for int8/],
      ["int8", -129n, /out of range for int8/],
      ["uint256", 2 ** 53, /is not a uint256/],
      ["uint256", 1.5, /is not a uint256/],
      ["uint256", true, /is not a uint256/],
      ["address", "0x1234", /is not a address/],
      ["bool", 1n, /is not a bool/],
      ["bytes4", "0x0102", /has 2 bytes/],
      ["bytes", "0x123", /not 0x-prefixed even-length hex/],
      ["string", 5n, /is not a string/],
      ["uint8[2]", [1n], /has 1 elements/],
      ["(uint8,bool)", [1n], /must be an array of 2 values/],
    ];
    for (const [type, value, message] of refused) {
      expect(() => encode([type], [value]), type).to.throw(AbiError, message);
    }
    expect(() => encode(["uint8", "uint8"], [1n])).to.throw(AbiError, /2 types but 1 values/);
  });

  it("refuses unknown and malformed types", function () {
    for (const type of ["uint7", "uint264", "uint08", "bytes0", "bytes33", "foo", "uint256[0]", "()", "(uint256", "uint256]", "tuple(uint256,)x"]) {
      expect(() => encode([type], [0n]), type).to.throw(AbiError);
    }
    // uint and int are Solidity's aliases of uint256 and int256.
    expect(decode(["int", "uint"], coder.encode(["int256", "uint256"], [-5n, 5n]))).to.deep.equal([-5n, 5n]);
  });

  it("refuses data that is not a valid encoding (what Solidity's abi.decode reverts on)", function () {
    const word = (n: bigint) => n.toString(16).padStart(64, "0");
    const refused: [string[], string, RegExp][] = [
      [["uint256"], "0x" + "00".repeat(31), /data too short/],
      [["uint8"], "0x" + word(256n), /not a valid uint8/],
      [["int8"], "0x" + word(128n), /not a valid int8/],
      [["bool"], "0x" + word(2n), /not a valid bool/],
      [["address"], "0x" + word(1n << 160n), /not a valid address/],
      [["bytes4"], "0x" + "01020304" + "00".repeat(27) + "01", /not a valid bytes4/],
      [["string"], "0x" + word(64n), /offset or length 64 points past/],
      [["string"], "0x" + word(32n) + word(33n), /data too short/],
      [["uint256[]"], "0x" + word(32n) + word(3n) + word(1n), /claims 3 elements/],
      [["uint256[]"], "0x" + word(32n) + word(1n << 200n), /points past/],
    ];
    for (const [types, data, message] of refused) {
      expect(() => decode(types, data), `${types} ${data.slice(0, 20)}`).to.throw(AbiError, message);
    }
  });

  it("stops aliased offsets from decoding a few words into a huge value", function () {
    // uint256[][][] whose every level points all its elements at the same child: 3 + 3 + 3 words of
    // heads decode to 3^3 leaves honestly; with 100 aliases per level it would be 10^6 leaves.
    const word = (n: number) => n.toString(16).padStart(64, "0");
    const n = 100;
    // [offset to A] A: [len n][n offsets -> B] B: [len n][n offsets -> C] C: [len n][n zeros]
    const a = 32;
    const b = a + 32 + n * 32;
    const c = b + 32 + n * 32;
    let hex = word(a);
    hex += word(n) + word(b - a - 32).repeat(n);
    hex += word(n) + word(c - b - 32).repeat(n);
    hex += word(n) + word(0).repeat(n);
    expect(() => decode(["uint256[][][]"], `0x${hex}`)).to.throw(AbiError, /aliased offsets/);
  });

  it("encodes and decodes UTF-8 as TextEncoder / TextDecoder do (lone surrogates, invalid bytes)", function () {
    const rand = prng(8);
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    for (let i = 0; i < 2_000; i++) {
      const units = Array.from({ length: Math.floor(rand() * 12) }, () =>
        rand() < 0.3 ? 0xd800 + Math.floor(rand() * 0x800) : rand() < 0.5 ? Math.floor(rand() * 0x80) : Math.floor(rand() * 0x10000),
      );
      const text = String.fromCharCode(...units);
      expect(hexlify(utf8Encode(text)), `encode ${JSON.stringify(text)}`).to.equal(hexlify(encoder.encode(text)));
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 12) }, () => (rand() < 0.5 ? 0x80 + Math.floor(rand() * 0x80) : Math.floor(rand() * 256)));
      expect(utf8Decode(bytes), `decode ${hexlify(bytes)}`).to.equal(decoder.decode(bytes));
    }
    for (const edge of [
      "0xe0a080",
      "0xe09f80",
      "0xeda080",
      "0xed9fbf",
      "0xf0908080",
      "0xf08f8080",
      "0xf48fbfbf",
      "0xf4908080",
      "0xc0af",
      "0xc280",
      "0xf0",
      "0xe2",
    ]) {
      expect(utf8Decode(getBytes(edge)), edge).to.equal(decoder.decode(getBytes(edge)));
    }
  });

  it("runs inside the worker's QuickJS sandbox from a bundled agent (no Node or browser APIs)", async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(join(tmpdir(), "sdk-abi-"));
    const entry = join(dir, "agent.ts");
    const sdk = resolve("worker/sdk/index.js");
    writeFileSync(
      entry,
      `import { abi, defineAgent } from ${JSON.stringify(sdk)};
       export default defineAgent((_input, ctx) => {
         const [text, factor] = abi.decode(["string", "uint256"], ctx.inputBytes);
         return abi.encode(["int256", "string", "(uint8,bool)[]", "bytes"], [-BigInt(text.length) * factor, text + " ✓", [[1, true], [2, false]], ctx.inputBytes.slice(0, 3)]);
       });`,
    );
    const built = await buildAgent(entry, join(dir, "agent.js"));
    const input = getBytes(coder.encode(["string", "uint256"], ["héllo", 3n]));
    const sandbox = await sharedSandbox();
    const outcome = await sandbox.run({
      source: readFileSync(built.bundlePath, "utf8"),
      input,
      agentId: 1n,
      request: { requestId: "1", requestHash: "0x01", consumer: "0xc0", caller: "", deadline: "1900000000" },
      now: 1_900_000_000_000,
      seed: `0x${"ab".repeat(32)}`,
      secrets: {},
      limits: { memoryBytes: 16 * 1024 * 1024, stackBytes: 256 * 1024, maxHostCalls: 4, maxOutputBytes: 4096, maxLogLines: 4, maxLogLineBytes: 100 },
      deadline: Date.now() + 5_000,
      host: {
        fetch: async () => Promise.reject(new Error("no")),
        llmChat: async () => Promise.reject(new Error("no")),
        callAgent: async () => new Uint8Array(),
        openForwardedInput: async () => new Uint8Array(),
      },
      log: () => undefined,
    });
    expect(outcome.message).to.equal("");
    expect(outcome.status).to.equal(AgentStatus.OK);
    expect(hexlify(outcome.output)).to.equal(
      coder.encode(
        ["int256", "string", "tuple(uint8,bool)[]", "bytes"],
        [
          -15n,
          "héllo ✓",
          [
            [1, true],
            [2, false],
          ],
          input.slice(0, 3),
        ],
      ),
    );
    expect(built.bytes, "the SDK adds a few KB to a bundle").to.be.lessThan(12_000);
  });
});
