import { join } from "node:path";
import { expect } from "chai";
import { TypedDataEncoder, keccak256, recoverAddress, toUtf8Bytes, verifyTypedData } from "ethers";
import { FULFILLMENT_TYPES, fulfillmentDigest, routerDomain } from "../../protocol/fulfillment.js";
import { agentRequestToJson, requestHash, type AgentRequest } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { ExecuteResponse, WorkerAttestation, type ExecuteRequest } from "../../protocol/worker-api.js";
import { REGISTRATION_SIGNATURE_LIFETIME_SECONDS, WORKER_REGISTRATION_TYPES, workerRegistryDomain } from "../../protocol/worker-registration.js";
import { startWorker, type RunningWorker } from "../../worker/src/app.js";
import { parseConfig } from "../../worker/src/config.js";
import { InMemoryAgentDirectory } from "../../worker/src/directory.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { BUNDLE_STORE, FakeCommitments, OWNER, WORKER_ADDRESS, WORKER_KEY, bundleOf, makeRequest, silentLogger, tempDir, writeBundle } from "./helpers.js";

const ROUTER = "0x00000000000000000000000000000000000000B0";
const REGISTRY = "0x00000000000000000000000000000000000000F1";
const CHAIN_ID = 31337n;
const OPERATOR = "0x00000000000000000000000000000000000000A7";

function configFor(answerLogPath?: string) {
  return parseConfig({
    port: 0,
    chainId: String(CHAIN_ID),
    workerRegistry: REGISTRY,
    router: ROUTER,
    rpcUrl: "http://127.0.0.1:1",
    operator: OPERATOR,
    enclave: { kind: "simulator", seed: WORKER_KEY },
    directory: { kind: "file", path: "/unused" },
    limits: { wallTimeMs: 1000, memoryBytes: 16 * 1024 * 1024 },
    answerLogPath,
    bundleCacheDir: BUNDLE_STORE,
  });
}

describe("worker HTTP API (end to end on loopback)", function () {
  this.timeout(30_000);
  const dir = tempDir();
  const directory = new InMemoryAgentDirectory();
  const answerLog = join(dir, "answers.jsonl");
  let worker: RunningWorker;
  let echoHash: string;
  const commitments = new FakeCommitments(ROUTER);

  const start = () =>
    startWorker(configFor(answerLog), { directory, commitments, enclave: new SimulatorEnclave(WORKER_KEY), logger: silentLogger, sandboxThreads: 1 });

  before(async () => {
    const echo = writeBundle(dir, "echo.js", bundleOf(`(input, ctx) => "echo:" + input + ":" + ctx.random()`));
    echoHash = echo.codeHash;
    directory.set(1n, { owner: OWNER, price: 10n, versions: [{ codeHash: echo.codeHash, uri: echo.uri }] });
    const loop = writeBundle(dir, "loop.js", bundleOf(`() => { for (;;) {} }`));
    directory.set(2n, { owner: OWNER, price: 10n, versions: [{ codeHash: loop.codeHash, uri: loop.uri }] });
    worker = await start();
  });
  after(() => worker.close());

  function body(request: AgentRequest, input: string): ExecuteRequest {
    return { chainId: String(CHAIN_ID), router: ROUTER, request: agentRequestToJson(request), input: `0x${Buffer.from(input).toString("hex")}` };
  }

  /** A request the router committed to. */
  function requestFor(id: bigint, input: string, overrides: Partial<AgentRequest> = {}): AgentRequest {
    return commitments.commit(makeRequest({ id, codeHash: echoHash, inputHash: keccak256(toUtf8Bytes(input)), ...overrides }));
  }

  async function post(payload: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${worker.url}/v1/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it("GET /health says it is simulated and names the worker", async () => {
    const health = (await (await fetch(`${worker.url}/health`)).json()) as Record<string, unknown>;
    expect(health).to.include({ ok: true, simulated: true, worker: WORKER_ADDRESS, chainId: "31337", workerRegistry: REGISTRY });
  });

  it("GET /attestation returns simulated evidence bound to key, chain and registry", async () => {
    const attestation = (await (await fetch(`${worker.url}/attestation`)).json()) as Record<string, string | boolean>;
    expect(attestation.simulated).to.equal(true);
    expect(attestation.worker).to.equal(WORKER_ADDRESS);
    expect(attestation.evidence).to.match(/^0x[0-9a-f]+$/);
    const { reportDataFor } = await import("../../protocol/attestation.js");
    expect(attestation.reportData).to.equal(reportDataFor(WORKER_ADDRESS, CHAIN_ID, REGISTRY));
  });

  it("GET /attestation carries the enclave key's registration consent for the configured operator only", async () => {
    const before = BigInt(Math.floor(Date.now() / 1000));
    const { registration } = WorkerAttestation.parse(await (await fetch(`${worker.url}/attestation`)).json());
    expect(registration?.operator).to.equal(OPERATOR);
    const deadline = BigInt(registration!.deadline);
    expect(deadline >= before + BigInt(REGISTRATION_SIGNATURE_LIFETIME_SECONDS)).to.equal(true);
    expect(deadline <= before + BigInt(REGISTRATION_SIGNATURE_LIFETIME_SECONDS) + 5n).to.equal(true);
    const domain = workerRegistryDomain(CHAIN_ID, REGISTRY);
    const types = { WorkerRegistration: [...WORKER_REGISTRATION_TYPES.WorkerRegistration] };
    const value = { worker: WORKER_ADDRESS, operator: OPERATOR, deadline };
    expect(verifyTypedData(domain, types, value, registration!.signature)).to.equal(WORKER_ADDRESS);
  });

  it("POST /v1/execute answers with an EIP-712 Fulfillment signed by the enclave key", async () => {
    const request = requestFor(100n, "hi");
    const { status, json } = await post(body(request, "hi"));
    expect(status).to.equal(200);
    const response = ExecuteResponse.parse(json);
    expect(response.simulated).to.equal(true);
    expect(response.status).to.equal(AgentStatus.OK);
    expect(response.statusName).to.equal("OK");
    expect(Buffer.from(response.output.slice(2), "hex").toString()).to.match(/^echo:hi:0\.\d+/);
    expect(response.outputHash).to.equal(keccak256(response.output));
    expect(response.requestHash).to.equal(requestHash(request));
    const message = {
      requestId: request.id,
      requestHash: response.requestHash,
      outputHash: response.outputHash,
      status: response.status,
      subAgentIds: [],
      subAgentPrices: [],
      worker: WORKER_ADDRESS,
    };
    const domain = routerDomain(CHAIN_ID, ROUTER);
    expect(verifyTypedData(domain, { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message, response.signature)).to.equal(WORKER_ADDRESS);
    expect(recoverAddress(fulfillmentDigest(domain, message), response.signature)).to.equal(WORKER_ADDRESS);
    expect(TypedDataEncoder.hash(domain, { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message)).to.equal(fulfillmentDigest(domain, message));
  });

  it("signs failures too: a hung agent ends as TIME_LIMIT", async () => {
    const code = await directory.codeOf(2n, 1n);
    const request = requestFor(101n, "x", { agentId: 2n, codeHash: code.codeHash });
    const { json } = await post(body(request, "x"));
    const response = ExecuteResponse.parse(json);
    expect(response.status).to.equal(AgentStatus.TIME_LIMIT);
    expect(Buffer.from(response.output.slice(2), "hex").toString()).to.equal("wall time limit exceeded");
    const message = {
      requestId: 101n,
      requestHash: response.requestHash,
      outputHash: response.outputHash,
      status: response.status,
      subAgentIds: [],
      subAgentPrices: [],
      worker: WORKER_ADDRESS,
    };
    expect(verifyTypedData(routerDomain(CHAIN_ID, ROUTER), { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message, response.signature)).to.equal(
      WORKER_ADDRESS,
    );
  });

  it("answers a retried request with the identical signed answer", async () => {
    const request = requestFor(102n, "same");
    const [a, b] = await Promise.all([post(body(request, "same")), post(body(request, "same"))]);
    const c = await post(body(request, "same"));
    expect(b.json).to.deep.equal(a.json);
    expect(c.json).to.deep.equal(a.json);
  });

  it("attack: a made-up request under the next id is refused unsigned and does not block the real one", async () => {
    const junk = makeRequest({ id: 103n, codeHash: echoHash, inputHash: keccak256(toUtf8Bytes("junk")), deadline: 2n ** 63n });
    const refused = await post(body(junk, "junk"));
    expect(refused.status).to.equal(409);
    expect(refused.json.error).to.equal("REQUEST_NOT_PENDING");
    const real = await post(body(requestFor(103n, "real"), "real"));
    expect(real.status).to.equal(200);
    expect(Buffer.from(ExecuteResponse.parse(real.json).output.slice(2), "hex").toString()).to.match(/^echo:real:/);
    expect(((await (await fetch(`${worker.url}/health`)).json()) as { ok: boolean }).ok).to.equal(true);
  });

  it("refuses a request for another router than the one it serves", async () => {
    const { status, json } = await post({ ...body(requestFor(109n, "x"), "x"), router: "0x00000000000000000000000000000000000000B1" });
    expect(status).to.equal(421);
    expect(json.error).to.equal("WRONG_ROUTER");
  });

  it("refuses numbers that do not fit their Solidity type with 400, not 500", async () => {
    const request = { ...body(requestFor(110n, "x"), "x") };
    const tooBig = await post({ ...request, request: { ...request.request, id: (2n ** 256n).toString() } });
    expect(tooBig.status).to.equal(400);
    expect(tooBig.json.error).to.equal("INVALID_REQUEST");
    const versionTooBig = await post({ ...request, request: { ...request.request, agentVersion: (2n ** 32n).toString() } });
    expect(versionTooBig.status).to.equal(400);
  });

  it("keeps its answers across a restart (answer log)", async () => {
    const request = requestFor(104n, "durable");
    const before = await post(body(request, "durable"));
    await worker.close();
    worker = await start();
    const after = await post(body(request, "durable"));
    expect(after.json).to.deep.equal(before.json);
  });

  it("refuses requests for another worker and inputs that do not match their hash", async () => {
    const other = await post(body(requestFor(105n, "x", { worker: "0x00000000000000000000000000000000000000E1" }), "x"));
    expect(other.status).to.equal(421);
    expect(other.json.error).to.equal("WRONG_WORKER");
    const tampered = await post(body(requestFor(106n, "x"), "y"));
    expect(tampered.status).to.equal(400);
    expect(tampered.json.error).to.equal("INPUT_HASH_MISMATCH");
    // Inputs and secrets are bound to the chain the worker is attested for.
    const otherChain = await post({ ...body(requestFor(108n, "x"), "x"), chainId: "1" });
    expect(otherChain.status).to.equal(421);
    expect(otherChain.json.error).to.equal("WRONG_CHAIN");
  });

  it("validates the body against ExecuteRequest", async () => {
    const bad = await post({ chainId: "x" });
    expect(bad.status).to.equal(400);
    expect(bad.json.error).to.equal("INVALID_REQUEST");
    const notJson = await fetch(`${worker.url}/v1/execute`, { method: "POST", body: "{" });
    expect(notJson.status).to.equal(400);
    expect((await fetch(`${worker.url}/nope`)).status).to.equal(404);
  });

  it("GET /metrics exposes executions by status", async () => {
    await post(body(requestFor(107n, "m"), "m"));
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).to.match(/worker_executions_total\{status="OK",simulated="true"\} \d+/);
    expect(metrics).to.include("worker_execution_duration_seconds_bucket");
    expect(metrics).to.include("worker_sandbox_runs_total");
  });
});
