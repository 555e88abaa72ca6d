import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { pino } from "pino";
import { startWorker } from "../../worker/src/app.js";
import { loadConfig, parseConfig } from "../../worker/src/config.js";
import { ConfigError } from "../../worker/src/errors.js";
import { tempDir } from "./helpers.js";

const VALID = {
  chainId: "31337",
  workerRegistry: "0x00000000000000000000000000000000000000F1",
  router: "0x00000000000000000000000000000000000000B0",
  enclave: { kind: "simulator" },
  directory: { kind: "chain", rpcUrl: "http://127.0.0.1:8545", agentRegistry: "0x00000000000000000000000000000000000000A9" },
};

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("worker config", () => {
  it("fills defaults for a minimal config", () => {
    const config = parseConfig(VALID);
    expect(config.chainId).to.equal(31337n);
    expect(config.port).to.equal(8090);
    expect(config.limits.wallTimeMs).to.equal(10_000);
    expect(config.feeReserve).to.equal(0n);
    expect(config.egressAllow).to.deep.equal([]);
  });

  it("lists every problem with its path", () => {
    const message = configError({ ...VALID, chainId: "abc", workerRegistry: "0x12", limits: { memoryBytes: -1 } });
    expect(message).to.include("chainId");
    expect(message).to.include("workerRegistry");
    expect(message).to.include("limits.memoryBytes");
  });

  it("rejects unknown keys, unknown enclave kinds and bad URLs", () => {
    expect(configError({ ...VALID, colour: "blue" })).to.match(/colour/);
    expect(configError({ ...VALID, enclave: { kind: "sgx" } })).to.match(/enclave/);
    expect(configError({ ...VALID, llm: { baseUrl: "not a url", model: "m" } })).to.match(/llm.baseUrl/);
    expect(configError({ ...VALID, enclave: { kind: "simulator", seed: "0x1234" } })).to.match(/enclave.seed/);
  });

  it("validates the gatekeeper section and fills its defaults", () => {
    const gatekeeper = { urls: ["http://127.0.0.1:7001"], quorumVerifier: "0x00000000000000000000000000000000000000B1", minSignatures: 2 };
    const config = parseConfig({ ...VALID, gatekeeper });
    expect(config.gatekeeper).to.deep.include({ refresh: 300, requestLifetimeSlackSeconds: 600, attestationValiditySeconds: 86_400 });
    expect(parseConfig({ ...VALID, gatekeeper: { ...gatekeeper, refresh: "*/5 * * * *" } }).gatekeeper?.refresh).to.equal("*/5 * * * *");
    expect(configError({ ...VALID, gatekeeper: { ...gatekeeper, refresh: "every now and then" } })).to.match(/gatekeeper.refresh/);
    expect(configError({ ...VALID, gatekeeper: { ...gatekeeper, urls: [] } })).to.match(/gatekeeper.urls/);
    expect(configError({ ...VALID, gatekeeper: { urls: gatekeeper.urls, quorumVerifier: gatekeeper.quorumVerifier } })).to.match(/gatekeeper.minSignatures/);
    // The KeyRegistry check needs an RPC: the chain directory's, or its own with a file directory.
    const keyRegistry = "0x00000000000000000000000000000000000000B2";
    expect(parseConfig({ ...VALID, gatekeeper: { ...gatekeeper, keyRegistry } }).gatekeeper?.keyRegistry).to.equal(keyRegistry);
    const file = { kind: "file", path: "agents.json", agentRegistry: "0x00000000000000000000000000000000000000A9" };
    expect(configError({ ...VALID, directory: file, gatekeeper: { ...gatekeeper, keyRegistry } })).to.match(/gatekeeper.rpcUrl/);
    // The router's commitments are read on-chain: a file directory needs an RPC for them too.
    expect(configError({ ...VALID, directory: file })).to.match(/rpcUrl: required with a file directory/);
    expect(
      parseConfig({ ...VALID, rpcUrl: "http://127.0.0.1:8545", directory: file, gatekeeper: { ...gatekeeper, keyRegistry, rpcUrl: "http://127.0.0.1:8545" } }),
    ).to.be.an("object");
  });

  it("loads a file and applies environment overrides", () => {
    const path = join(tempDir(), "worker.json");
    writeFileSync(path, JSON.stringify({ ...VALID, llm: { baseUrl: "http://127.0.0.1:1/v1", model: "m" } }));
    const config = loadConfig(path, { WORKER_PORT: "9999", WORKER_LLM_API_KEY: "sk-env" });
    expect(config.port).to.equal(9999);
    expect(config.llm?.apiKey).to.equal("sk-env");
    expect(() => loadConfig(join(tempDir(), "missing.json"), {})).to.throw(ConfigError);
  });

  it("marks every log line of a simulated worker with simulated: true", async function () {
    this.timeout(20_000);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line));
        done();
      },
    });
    const agents = join(tempDir(), "agents.json");
    writeFileSync(agents, "{}");
    const worker = await startWorker(
      parseConfig({
        ...VALID,
        port: 0,
        rpcUrl: "http://127.0.0.1:1",
        directory: { kind: "file", path: agents },
        enclave: { kind: "simulator", seed: keccak256(toUtf8Bytes("log")) },
      }),
      { logger: pino({ level: "info" }, sink), sandboxThreads: 1 },
    );
    await fetch(`${worker.url}/nope`);
    await worker.close();
    expect(lines.length).to.be.greaterThan(0);
    for (const line of lines) expect(line.simulated, JSON.stringify(line)).to.equal(true);
    expect(lines.some((l) => String(l.msg).includes("SIMULATED"))).to.equal(true);
  });
});
