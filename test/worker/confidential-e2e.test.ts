import { Writable } from "node:stream";
import { expect } from "chai";
import { network } from "hardhat";
import { secp256k1 } from "@noble/curves/secp256k1";
import { Wallet, getBytes, hexlify, keccak256, toUtf8Bytes, toUtf8String, verifyTypedData, type BaseWallet, type EventLog } from "ethers";
import { pino } from "pino";
import { GatekeeperConfig } from "../../gatekeeper/config.js";
import { MasterKeyDeriver } from "../../gatekeeper/cluster-key.js";
import { createGatekeeper, type Gatekeeper } from "../../gatekeeper/gatekeeper.js";
import { SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { encryptAgentSecrets, encryptToClusterKey, type InputBinding } from "../../protocol/confidential.js";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { agentRequestToJson, requestHash, toAgentRequest, type AgentRequest } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { ExecuteResponse, WorkerAttestation } from "../../protocol/worker-api.js";
import { startWorker, type RunningWorker } from "../../worker/src/app.js";
import { parseConfig } from "../../worker/src/config.js";
import { ChainRequestCommitments } from "../../worker/src/commitments.js";
import { ChainAgentDirectory } from "../../worker/src/directory.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { KeyRegistryKeys } from "../../worker/src/provisioning.js";
import { BUNDLE_STORE, bundleOf, tempDir, writeBundle } from "./helpers.js";

const { ethers, networkHelpers } = await network.create();

/** Every line a pino logger writes, to search for what must never be logged. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.lines.push(chunk.toString("utf8"));
    done();
  }
  get text() {
    return this.lines.join("");
  }
}

const PHA = (n: number | string) => ethers.parseEther(String(n));
const ROUTER_CONFIG = {
  workerFee: PHA("0.5"),
  phaPerGas: 1_000_000_000n,
  protocolFeeBps: 500,
  timeoutPenaltyBps: 20_000,
  fulfillOverheadGas: 60_000,
  maxCallbackGasLimit: 2_000_000,
  requestTimeout: 300,
  maxPendingPerWorker: 16,
};
const ACTIVATION_DELAY = 60;
const GRACE = 600;
const THRESHOLD = 2;

const PLAINTEXT_INPUT = "PLAINTEXT-INPUT-e2e-4b9d what is my balance";
const SECRET = "sk-SECRET-e2e-77c1";
/** The agent's answer: derived from input and secret, containing neither. */
const AGENT = bundleOf(`(input, ctx) => {
  let sum = 0;
  for (const c of input + ctx.secrets.API_KEY) sum = (sum * 31 + c.charCodeAt(0)) % 1000003;
  return "chars=" + input.length + ";secretChars=" + ctx.secrets.API_KEY.length + ";digest=" + sum;
}`);
function expectedOutput(input: string, secret: string): string {
  let sum = 0;
  for (const c of input + secret) sum = (sum * 31 + c.charCodeAt(0)) % 1000003;
  return `chars=${input.length};secretChars=${secret.length};digest=${sum}`;
}

describe("confidential input end to end: gatekeepers, KeyRegistry, worker, router", function () {
  this.timeout(120_000);
  const workerLogs = new LogCapture();
  const gatekeeperLogs = new LogCapture();
  /** Bodies of every worker HTTP response the test received. */
  const responses: string[] = [];
  const masterKey = hexlify(secp256k1.utils.randomPrivateKey());
  const adminToken = "e2e-admin-token-0123456789";
  const gatekeeperKeys = [0, 1, 2].map(() => Wallet.createRandom());
  const enclaveSeed = hexlify(secp256k1.utils.randomPrivateKey());
  let gatekeepers: Gatekeeper[] = [];
  let worker: RunningWorker;
  let chainId: bigint;
  let contracts: Awaited<ReturnType<typeof deploy>>;
  let agentId: bigint;

  async function deploy() {
    const [deployer, operator, agentOwner, relayer, treasury, otherConsumer] = await ethers.getSigners();
    const token = await ethers.deployContract("PhalaToken", [deployer!.address]);
    const agents = await ethers.deployContract("AgentRegistry");
    const workers = await ethers.deployContract("WorkerRegistry", [deployer!.address]);
    const router = await ethers.deployContract("AgentRouter", [
      await token.getAddress(),
      await agents.getAddress(),
      await workers.getAddress(),
      deployer!.address,
      treasury!.address,
      ROUTER_CONFIG,
      4096,
    ]);
    const staking = await ethers.deployContract("MockWorkerStaking");
    const quorum = await ethers.deployContract("GatekeeperQuorumVerifier", [
      deployer!.address,
      gatekeeperKeys.map((k) => k.address),
      THRESHOLD,
      30 * 24 * 3600,
    ]);
    const keyRegistry = await ethers.deployContract("KeyRegistry", [deployer!.address, await quorum.getAddress(), ACTIVATION_DELAY, GRACE]);
    await router.setStaking(await staking.getAddress());
    await router.setKeyRegistry(await keyRegistry.getAddress());
    await workers.setRouter(await router.getAddress());
    await workers.setVerifierApproved(await quorum.getAddress(), true);
    await workers.setMeasurementApproved(SIMULATED_MEASUREMENT, true);
    await router.createAccount();
    await router.addConsumer(1, deployer!.address);
    await router.addConsumer(1, otherConsumer!.address);
    await token.approve(await router.getAddress(), PHA(100));
    await router.fund(1, PHA(100));
    return {
      token,
      agents,
      workers,
      router,
      staking,
      quorum,
      keyRegistry,
      deployer: deployer!,
      operator: operator!,
      agentOwner: agentOwner!,
      relayer: relayer!,
      otherConsumer: otherConsumer!,
    };
  }

  before(async () => {
    chainId = (await ethers.provider.getNetwork()).chainId;
    contracts = await deploy();
    const { keyRegistry, quorum, workers, agents, staking, operator, agentOwner, deployer } = contracts;
    const addresses = {
      workerRegistry: await workers.getAddress(),
      quorumVerifier: await quorum.getAddress(),
      keyRegistry: await keyRegistry.getAddress(),
      agentRegistry: await agents.getAddress(),
      router: await contracts.router.getAddress(),
    };

    // Three gatekeepers; the first coordinates rotations and collects the others' signatures over HTTP.
    const logger = pino({ level: "trace" }, gatekeeperLogs);
    const make = (key: BaseWallet, peers: string[]) =>
      createGatekeeper(
        GatekeeperConfig.parse({
          port: 0,
          peers,
          chainId: chainId.toString(),
          workerRegistry: addresses.workerRegistry,
          quorumVerifier: addresses.quorumVerifier,
          keyRegistry: addresses.keyRegistry,
          signerPrivateKey: key.privateKey,
          masterKey,
          adminToken,
        }),
        { provider: ethers.provider, logger },
      );
    const others = gatekeeperKeys.slice(1).map((key) => make(key, []));
    const otherUrls = await Promise.all(others.map((g) => g.start()));
    const coordinator = make(gatekeeperKeys[0]!, otherUrls);
    gatekeepers = [coordinator, ...others];
    const urls = [await coordinator.start(), ...otherUrls];
    await deployer.sendTransaction({ to: coordinator.address, value: PHA(1) });

    // Epoch 1: proposed with a quorum of signatures, active after the delay.
    const rotation = await fetch(new URL("/v1/rotation", urls[0]), { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
    expect(rotation.status, await rotation.clone().text()).to.equal(200);
    await networkHelpers.time.increase(ACTIVATION_DELAY);
    await networkHelpers.mine();
    expect(await keyRegistry.currentEpoch()).to.equal(1n);

    // The worker attests itself to the gatekeepers at start-up and checks its keys against KeyRegistry.
    worker = await startWorker(
      parseConfig({
        port: 0,
        logLevel: "trace",
        chainId: chainId.toString(),
        workerRegistry: addresses.workerRegistry,
        router: addresses.router,
        operator: operator.address,
        enclave: { kind: "simulator", seed: enclaveSeed },
        directory: { kind: "chain", rpcUrl: "http://127.0.0.1:1", agentRegistry: addresses.agentRegistry },
        limits: { wallTimeMs: 5_000, memoryBytes: 16 * 1024 * 1024 },
        bundleCacheDir: BUNDLE_STORE,
        gatekeeper: { urls, quorumVerifier: addresses.quorumVerifier, keyRegistry: addresses.keyRegistry, minSignatures: THRESHOLD },
      }),
      {
        // The in-process chain has no RPC URL: the same readers, over the Hardhat provider.
        directory: new ChainAgentDirectory(ethers.provider, addresses.agentRegistry),
        commitments: new ChainRequestCommitments(ethers.provider, addresses.router),
        publishedKeys: new KeyRegistryKeys(ethers.provider, addresses.keyRegistry),
        enclave: new SimulatorEnclave(enclaveSeed),
        logger: pino({ level: "trace" }, workerLogs),
        sandboxThreads: 1,
      },
    );

    // Registration through GatekeeperQuorumVerifier with the evidence the worker serves.
    const attestationText = await (await fetch(`${worker.url}/attestation`)).text();
    responses.push(attestationText);
    const attestation = WorkerAttestation.parse(JSON.parse(attestationText));
    expect(attestation.gatekeeperEvidence?.verifier).to.equal(addresses.quorumVerifier);
    const consent = attestation.registration!;
    expect(consent.operator).to.equal(operator.address);
    await expect(
      workers
        .connect(operator)
        .registerWorker(
          attestation.worker,
          addresses.quorumVerifier,
          attestation.gatekeeperEvidence!.evidence,
          worker.url,
          consent.deadline,
          consent.signature,
        ),
    ).to.emit(workers, "WorkerRegistered");
    expect((await workers.workerOf(attestation.worker)).simulated).to.equal(false);
    await staking.addWorker(attestation.worker);
    // Keys come only once the worker key is registered and active: the next round provisions them.
    expect(worker.gatekeeper!.keyring.epochs()).to.deep.equal([]);
    await worker.gatekeeper!.refresh();
    expect(worker.gatekeeper!.keyring.epochs()).to.deep.equal([1]);

    // The agent, with its owner's secrets sealed to epoch 1 for (chain, AgentRegistry, agent).
    const bundle = writeBundle(tempDir(), "agent.js", AGENT);
    await agents.connect(agentOwner).registerAgent(bundle.codeHash, bundle.uri, PHA(2), [], true);
    agentId = await agents.agentCount();
    const clusterKey = hexlify(await keyRegistry.publicKeyOf(1));
    const secrets = encryptAgentSecrets(clusterKey, { API_KEY: SECRET }, { chainId, agentRegistry: addresses.agentRegistry, agentId });
    await agents.connect(agentOwner).setSecrets(agentId, 1, secrets);
  });

  after(async () => {
    await worker?.close();
    await Promise.all(gatekeepers.map((g) => g.stop()));
  });

  /** A consumer's confidential request: the input sealed to the current epoch's key, as the event carries it. */
  async function request(from: typeof contracts.deployer, ciphertext: Uint8Array, keyEpoch = 1): Promise<{ req: AgentRequest; input: string }> {
    const receipt = await (await contracts.router.connect(from).request(1, agentId, ciphertext, keyEpoch, 100_000, PHA(10))).wait();
    const log = receipt!.logs.find((l) => (l as EventLog).fragment?.name === "AgentRequested") as EventLog;
    return { req: toAgentRequest(log.args.request.toObject()), input: hexlify(log.args.input) };
  }

  async function post(req: AgentRequest, input: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`${worker.url}/v1/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chainId: chainId.toString(), router: await contracts.router.getAddress(), request: agentRequestToJson(req), input }),
    });
    const text = await res.text();
    responses.push(text);
    return { status: res.status, text };
  }

  /** As the bridge does: a retryable refusal (503, e.g. REQUEST_NOT_VISIBLE) is tried again. */
  async function execute(req: AgentRequest, input: string): Promise<ExecuteResponse> {
    let { status, text } = await post(req, input);
    for (let attempt = 0; status === 503 && attempt < 5; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      ({ status, text } = await post(req, input));
    }
    expect(status, text).to.equal(200);
    return ExecuteResponse.parse(JSON.parse(text));
  }

  async function settle(req: AgentRequest, answer: ExecuteResponse): Promise<void> {
    const domain = routerDomain(chainId, await contracts.router.getAddress());
    const message = {
      requestId: req.id,
      requestHash: requestHash(req),
      outputHash: keccak256(answer.output),
      status: answer.status,
      subAgentIds: [],
      subAgentPrices: [],
      worker: req.worker,
    };
    expect(verifyTypedData(domain, FULFILLMENT_TYPES as never, message, answer.signature)).to.equal(req.worker);
    const fulfillment = { request: req, status: answer.status, output: answer.output, subAgentIds: [], subAgentPrices: [], signature: answer.signature };
    await expect(contracts.router.connect(contracts.relayer).fulfill(fulfillment))
      .to.emit(contracts.router, "RequestFulfilled")
      .withArgs(
        req.id,
        req.worker,
        answer.status,
        (v: boolean) => typeof v === "boolean",
        keccak256(answer.output),
        (v: bigint) => v > 0n,
        (v: bigint) => v > 0n,
      );
    expect(await contracts.router.isPending(req.id)).to.equal(false);
  }

  const bindingFor = (consumer: string): InputBinding => ({ chainId, consumer, agentId });

  it("runs a request sealed for (chain, consumer, agent) with the agent's secrets, and the router settles the signed answer", async () => {
    const clusterKey = hexlify(await contracts.keyRegistry.publicKeyOf(1));
    const sealed = encryptToClusterKey(clusterKey, toUtf8Bytes(PLAINTEXT_INPUT), bindingFor(contracts.deployer.address));
    const { req, input } = await request(contracts.deployer, sealed);
    expect(req.keyEpoch).to.equal(1n);
    const answer = await execute(req, input);
    expect(answer.statusName).to.equal("OK");
    expect(toUtf8String(answer.output)).to.equal(expectedOutput(PLAINTEXT_INPUT, SECRET));
    await settle(req, answer);
  });

  it("signs DECRYPTION_FAILED for the same ciphertext copied into another consumer's request, and it settles as such", async () => {
    const clusterKey = hexlify(await contracts.keyRegistry.publicKeyOf(1));
    const sealed = encryptToClusterKey(clusterKey, toUtf8Bytes(PLAINTEXT_INPUT), bindingFor(contracts.deployer.address));
    const original = await request(contracts.deployer, sealed);
    // The attacker copies the input bytes out of the public AgentRequested event.
    const copied = await request(contracts.otherConsumer, getBytes(original.input));
    expect(copied.req.consumer).to.equal(contracts.otherConsumer.address);
    const answer = await execute(copied.req, copied.input);
    expect(answer.status).to.equal(AgentStatus.DECRYPTION_FAILED);
    expect(toUtf8String(answer.output)).to.equal("cannot decrypt input (key epoch 1)");
    await settle(copied.req, answer);
    // The owner's own request still opens.
    expect((await execute(original.req, original.input)).statusName).to.equal("OK");
  });

  it("attack: made-up requests are refused unsigned (future id, free run of a priced agent, copied ciphertext under another version)", async () => {
    const clusterKey = hexlify(await contracts.keyRegistry.publicKeyOf(1));
    const sealed = encryptToClusterKey(clusterKey, toUtf8Bytes(PLAINTEXT_INPUT), bindingFor(contracts.deployer.address));
    const { req, input } = await request(contracts.deployer, sealed);
    // (a) Junk answered first under the next id, with a far deadline: retryable refusal, nothing stored.
    const nextId = (await contracts.router.requestCount()) + 1n;
    const junk = { ...req, id: nextId, deadline: 2n ** 63n };
    const early = await post(junk, input);
    expect(early.status, early.text).to.equal(503);
    expect(JSON.parse(early.text).error).to.equal("REQUEST_NOT_VISIBLE");
    // ... and the real request under that id is answered normally once it exists.
    const real = await request(contracts.deployer, sealed);
    expect(real.req.id).to.equal(nextId);
    expect((await execute(real.req, real.input)).statusName).to.equal("OK");
    // (b) A priced agent run for free: the same request with a zero price and fee is not the committed one.
    const free = await post({ ...req, agentPrice: 0n, maxFee: 0n }, input);
    expect(free.status).to.equal(409);
    expect(JSON.parse(free.text).error).to.equal("REQUEST_NOT_PENDING");
    // (c) The consumer's public ciphertext under another (debug) version of the agent.
    const echo = writeBundle(tempDir(), "echo.js", bundleOf("(input) => input"));
    await contracts.agents.connect(contracts.agentOwner).updateCode(agentId, echo.codeHash, echo.uri);
    const replay = await post({ ...req, agentVersion: req.agentVersion + 1n, codeHash: echo.codeHash }, input);
    expect(replay.status).to.equal(409);
    expect(replay.text).to.not.contain(Buffer.from(PLAINTEXT_INPUT).toString("hex"));
    // (d) Once settled, the signed answer is replayed; a settled request never answered here is final.
    const answer = await execute(req, input);
    await settle(req, answer);
    expect((await execute(req, input)).signature).to.equal(answer.signature);
    const settled = await post(real.req, real.input);
    expect(settled.status).to.equal(200);
    // The worker stayed healthy throughout.
    expect(((await (await fetch(`${worker.url}/health`)).json()) as { ok: boolean }).ok).to.equal(true);
  });

  it("refuses an input sealed without a binding", async () => {
    const clusterKey = hexlify(await contracts.keyRegistry.publicKeyOf(1));
    const { req, input } = await request(contracts.deployer, encryptToClusterKey(clusterKey, toUtf8Bytes(PLAINTEXT_INPUT)));
    const answer = await execute(req, input);
    expect(answer.status).to.equal(AgentStatus.DECRYPTION_FAILED);
  });

  it("never exposes the plaintext input, the secret or any key in logs, events or other worker responses", async () => {
    for (const path of ["/health", "/attestation", "/metrics"]) responses.push(await (await fetch(`${worker.url}${path}`)).text());
    const cluster = new MasterKeyDeriver(masterKey, { chainId, keyRegistry: await contracts.keyRegistry.getAddress() });
    const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");
    const forbidden = [
      PLAINTEXT_INPUT,
      hex(PLAINTEXT_INPUT),
      SECRET,
      hex(SECRET),
      masterKey.slice(2),
      hexlify(cluster.privateKey(1)).slice(2),
      enclaveSeed.slice(2),
    ];
    const chainLogs = await ethers.provider.getLogs({ fromBlock: 0 });
    const emitted = chainLogs.map((l) => l.data + l.topics.join("")).join("");
    // The signed answers are the intended output; everything else the worker answered must be clean.
    const intended = expectedOutput(PLAINTEXT_INPUT, SECRET);
    expect(workerLogs.lines.length).to.be.greaterThan(5);
    expect(workerLogs.text).to.contain("cluster keys provisioned");
    expect(workerLogs.text).to.contain("decryption refused");
    for (const [where, text] of [
      ["worker logs", workerLogs.text],
      ["gatekeeper logs", gatekeeperLogs.text],
      ["chain events", emitted],
      ["worker responses", responses.join("\n")],
    ] as const) {
      for (const needle of forbidden) expect(text.toLowerCase(), `${where} contain ${needle}`).to.not.contain(needle.toLowerCase());
    }
    // The output is the consumer's to publish (the router passes it on); the worker does not log it.
    expect(workerLogs.text).to.not.contain(intended);
  });
});
