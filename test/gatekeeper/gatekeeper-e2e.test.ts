import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { network } from "hardhat";
import { hexlify, keccak256, toUtf8Bytes, Wallet, getAddress, type BaseWallet, type Contract } from "ethers";
import { pino } from "pino";
import { secp256k1 } from "@noble/curves/secp256k1";
import { GatekeeperConfig } from "../../gatekeeper/config.js";
import { createGatekeeper, type Gatekeeper } from "../../gatekeeper/gatekeeper.js";
import { MasterKeyDeriver } from "../../gatekeeper/cluster-key.js";
import { provisionFromGatekeepers } from "../../gatekeeper/client.js";
import { encryptAgentSecrets, encryptToClusterKey } from "../../protocol/confidential.js";
import { encodeSimulatedEvidence, reportDataFor, SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { DecryptionError } from "../../protocol/decryptor.js";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { FakeWorkerRegistry } from "./fake-worker-registry.js";
import { trimQuotePadding } from "../../attestation/quote-length.js";
import { signWorkerRegistration } from "../../protocol/worker-registration.js";
import { keyRegistryDomain, signKeyRotation, sortBySigner } from "../../gatekeeper/typed-data.js";

const { ethers, networkHelpers } = await network.create();

/** Captures every pino line of the gatekeepers so the test can search it for secrets. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.lines.push(chunk.toString("utf8"));
    done();
  }
  get text() {
    return this.lines.join("");
  }
}

const GRACE = 600;
const DELAY = 60;

describe("gatekeeper: attest, provision and rotate end to end (loopback, chain 31337)", function () {
  this.timeout(60_000);
  const logs = new LogCapture();
  const masterKey = hexlify(secp256k1.utils.randomPrivateKey());
  const adminToken = "test-admin-token-0123456789";
  const gatekeeperKeys = [0, 1, 2].map(() => Wallet.createRandom());
  let verifier: Contract;
  let keyRegistry: Contract;
  let workers: Contract;
  let workerRegistry: string;
  let chainNow: number;
  let gatekeepers: Gatekeeper[] = [];
  let urls: string[] = [];
  const chainId = 31337n;

  const syncClock = async () => {
    chainNow = await networkHelpers.time.latest();
  };

  before(async () => {
    const [owner] = await ethers.getSigners();
    workers = (await ethers.deployContract("WorkerRegistry", [owner!.address])) as unknown as Contract;
    workerRegistry = String(workers.target);
    verifier = (await ethers.deployContract("GatekeeperQuorumVerifier", [
      owner!.address,
      gatekeeperKeys.map((k) => k.address),
      2,
      30 * 24 * 3600,
    ])) as unknown as Contract;
    await workers.setVerifierApproved!(verifier.target, true);
    await workers.setMeasurementApproved!(SIMULATED_MEASUREMENT, true);
    keyRegistry = (await ethers.deployContract("KeyRegistry", [owner!.address, await verifier.getAddress(), DELAY, GRACE])) as unknown as Contract;
    await syncClock();
    const logger = pino({ level: "debug" }, logs);
    const make = (key: BaseWallet, peers: string[]) =>
      createGatekeeper(
        GatekeeperConfig.parse({
          peers,
          port: 0,
          chainId: chainId.toString(),
          workerRegistry,
          quorumVerifier: verifier.target,
          keyRegistry: keyRegistry.target,
          signerPrivateKey: key.privateKey,
          masterKey,
          adminToken,
          attestationValiditySeconds: 24 * 3600,
        }),
        { provider: ethers.provider, logger, now: () => chainNow },
      );
    // Gatekeeper 0 coordinates rotations and asks the other two over HTTP (it signs itself in-process).
    const others = gatekeeperKeys.slice(1).map((key) => make(key, []));
    const otherUrls = await Promise.all(others.map((g) => g.start()));
    const coordinator = make(gatekeeperKeys[0]!, otherUrls);
    gatekeepers = [coordinator, ...others];
    urls = [await coordinator.start(), ...otherUrls];
    // The proposer pays gas: fund the first gatekeeper.
    await owner!.sendTransaction({ to: gatekeepers[0]!.address, value: 10n ** 18n });
  });

  after(async () => {
    await Promise.all(gatekeepers.map((g) => g.stop()));
  });

  async function rotate(): Promise<number> {
    // On demand through the admin endpoint; peers are the other in-process gatekeepers.
    const res = await fetch(new URL("/v1/rotation", urls[0]), { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
    const body = (await res.json()) as { epoch: number; activatesAt: number; error?: string };
    expect(res.status, body.error).to.equal(200);
    return body.epoch;
  }

  /** Inputs are sealed for one consumer's requests to one agent. */
  const inputBinding = { chainId, consumer: Wallet.createRandom().address, agentId: 1n };

  function workerAttestation(worker: BaseWallet, measurement = SIMULATED_MEASUREMENT) {
    const reportData = reportDataFor(worker.address, chainId, workerRegistry);
    return { simulated: true, evidence: encodeSimulatedEvidence(reportData, measurement, chainNow) };
  }

  /** A worker asks every gatekeeper for its attestation and keys, as `worker` does at start. */
  function provisionAs(worker: BaseWallet, options: { keyring?: ClusterKeyring; minSignatures?: number } = {}) {
    return provisionFromGatekeepers({
      gatekeepers: urls,
      chainId,
      workerRegistry,
      quorumVerifier: String(verifier.target),
      enclavePrivateKey: worker.privateKey,
      attestation: workerAttestation(worker),
      expiresAt: BigInt(chainNow + 3600),
      ...options,
    });
  }

  /** What a new worker does: attest (no keys yet), register with the quorum evidence. */
  async function register(worker: BaseWallet): Promise<void> {
    const attested = await provisionAs(worker, { minSignatures: 2 });
    expect(attested.keyring.epochs()).to.deep.equal([]);
    expect(attested.keysWithheld).to.equal("worker is not registered and active in WorkerRegistry");
    const [, operator] = await ethers.getSigners();
    const consent = await signWorkerRegistration(worker, chainId, workerRegistry, operator!.address, BigInt(chainNow + 3600));
    await (workers.connect(operator!) as Contract).registerWorker!(
      worker.address,
      verifier.target,
      attested.evidence,
      "http://worker",
      consent.deadline,
      consent.signature,
    );
  }

  it("serves /health and /metrics", async () => {
    const health = (await (await fetch(new URL("/health", urls[0]))).json()) as { ok: boolean; gatekeeper: string };
    expect(health.ok).to.equal(true);
    expect(health.gatekeeper).to.equal(gatekeepers[0]!.address);
    const metrics = await (await fetch(new URL("/metrics", urls[0]))).text();
    expect(metrics).to.contain("gatekeeper_attestations_total");
  });

  it("refuses rotation without the admin token", async () => {
    const res = await fetch(new URL("/v1/rotation", urls[0]), { method: "POST" });
    expect(res.status).to.equal(401);
  });

  it("attack: an unprivileged account can neither collect rotation signatures nor propose a rotation", async () => {
    const outsider = Wallet.createRandom().connect(ethers.provider);
    const [owner] = await ethers.getSigners();
    await owner!.sendTransaction({ to: outsider.address, value: 10n ** 17n });
    const deriver = new MasterKeyDeriver(masterKey, { chainId, keyRegistry: String(keyRegistry.target) });
    const epoch = Number(await keyRegistry.lastProposedEpoch!()) + 1;
    const publicKey = deriver.publicKey(epoch);
    const deadline = BigInt(chainNow + 600);
    const domain = keyRegistryDomain(chainId, String(keyRegistry.target));
    const ask = async (authorization: string) => {
      const res = await fetch(new URL("/v1/rotation/sign", urls[1]), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chainId: "31337", keyRegistry: keyRegistry.target, epoch, deadline: deadline.toString(), authorization }),
      });
      return { status: res.status, body: (await res.json()) as { error: string; signature?: string } };
    };
    // Its own signature over the rotation does not make it a gatekeeper.
    const own = await ask(await signKeyRotation(outsider, domain, { epoch, publicKey, deadline }));
    expect(own.status).to.equal(403);
    expect(own.body.error).to.equal(`rotation requested by ${outsider.address}, which is not a current gatekeeper`);
    expect(own.body.signature).to.equal(undefined);
    expect((await ask("0x")).status).to.equal(403);
    // Even holding a real quorum (here: the gatekeepers' keys), it may not submit the proposal.
    const sigs = await Promise.all(
      gatekeeperKeys.slice(0, 2).map(async (k) => ({ signer: k.address, signature: await signKeyRotation(k, domain, { epoch, publicKey, deadline }) })),
    );
    await expect((keyRegistry.connect(outsider) as Contract).proposeRotation!(epoch, publicKey, deadline, sortBySigner(sigs)))
      .to.be.revertedWithCustomError(keyRegistry, "NotRotationProposer")
      .withArgs(outsider.address);
    expect(await keyRegistry.lastProposedEpoch!()).to.equal(BigInt(epoch - 1));
  });

  it("rotates to epoch 1 with a quorum of gatekeeper signatures and publishes the derived key", async () => {
    expect(await rotate()).to.equal(1);
    const expected = new MasterKeyDeriver(masterKey, { chainId, keyRegistry: String(keyRegistry.target) }).publicKey(1);
    expect(hexlify(await keyRegistry.publicKeyOf!(1))).to.equal(expected);
    // One rotation at a time: a second proposal is refused while epoch 1 is pending.
    const res = await fetch(new URL("/v1/rotation", urls[0]), { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).to.equal(409);
    await networkHelpers.time.increase(DELAY);
    await networkHelpers.mine();
    await syncClock();
    expect(await keyRegistry.currentEpoch!()).to.equal(1n);
  });

  it("attests a simulated worker: quorum evidence verifies on-chain, keys decrypt consumer inputs and agent secrets", async () => {
    const worker = Wallet.createRandom();
    await register(worker);
    const provisioned = await provisionAs(worker, { minSignatures: 2 });
    expect(provisioned.signers.length).to.equal(3);
    expect(provisioned.measurement).to.equal(SIMULATED_MEASUREMENT);
    const [measurement, expiresAt] = (await verifier.verifyAttestation!(reportDataFor(worker.address, chainId, workerRegistry), provisioned.evidence)) as [
      string,
      bigint,
    ];
    expect(measurement).to.equal(SIMULATED_MEASUREMENT);
    expect(expiresAt).to.equal(BigInt(chainNow + 3600));
    // Evidence for another worker key does not verify.
    await expect(
      verifier.verifyAttestation!(reportDataFor(Wallet.createRandom().address, chainId, workerRegistry), provisioned.evidence),
    ).to.be.revertedWithCustomError(verifier, "NotGatekeeper");

    const clusterPublicKey = hexlify(await keyRegistry.publicKeyOf!(1));
    const input = encryptToClusterKey(clusterPublicKey, new TextEncoder().encode("PLAINTEXT-INPUT-7f3a"), inputBinding);
    expect(new TextDecoder().decode(await provisioned.keyring.decryptInput(1, input, inputBinding))).to.equal("PLAINTEXT-INPUT-7f3a");
    const binding = { chainId, agentRegistry: Wallet.createRandom().address, agentId: 1n };
    const secrets = encryptAgentSecrets(clusterPublicKey, { LLM_API_KEY: "sk-SECRET-9c1d" }, binding);
    expect(await provisioned.keyring.decryptAgentSecrets(1, secrets, binding)).to.deep.equal({ LLM_API_KEY: "sk-SECRET-9c1d" });
  });

  it("rotation during traffic: old-epoch inputs decrypt in the grace window and fail after it", async () => {
    const worker = Wallet.createRandom();
    await register(worker);
    const keyring = new ClusterKeyring({ now: () => chainNow });
    const provision = () => provisionAs(worker, { keyring });
    await provision();
    const oldInput = encryptToClusterKey(hexlify(await keyRegistry.publicKeyOf!(1)), new TextEncoder().encode("old epoch"), inputBinding);

    expect(await rotate()).to.equal(2);
    await provision(); // picks up pending epoch 2 before it activates
    expect(keyring.epochs()).to.deep.equal([1, 2]);
    const newInput = encryptToClusterKey(hexlify(await keyRegistry.publicKeyOf!(2)), new TextEncoder().encode("new epoch"), inputBinding);
    await networkHelpers.time.increase(DELAY);
    await networkHelpers.mine();
    await syncClock();
    expect(await keyRegistry.currentEpoch!()).to.equal(2n);
    expect(await keyRegistry.isEpochUsable!(1)).to.equal(true);
    await provision(); // learns epoch 1's grace end
    const graceEnd = Number(await keyRegistry.previousEpochGraceEndsAt!());
    expect(new TextDecoder().decode(await keyring.decryptInput(1, oldInput, inputBinding))).to.equal("old epoch");
    expect(new TextDecoder().decode(await keyring.decryptInput(2, newInput, inputBinding))).to.equal("new epoch");
    expect(graceEnd).to.be.greaterThan(chainNow);

    await networkHelpers.time.increaseTo(graceEnd);
    await networkHelpers.mine();
    await syncClock();
    expect(await keyRegistry.isEpochUsable!(1)).to.equal(false);
    await provision();
    expect(keyring.epochs()).to.deep.equal([2]);
    try {
      await keyring.decryptInput(1, oldInput, inputBinding);
      expect.fail("epoch 1 must not decrypt after its grace window");
    } catch (error) {
      expect(error).to.be.instanceOf(DecryptionError);
      expect((error as Error).message).to.equal(`epoch 1 is retired: its grace window ended at ${graceEnd}`);
    }
    // A fresh keyring provisioned after the window never receives epoch 1.
    const fresh = await provisionAs(worker);
    try {
      await fresh.keyring.decryptInput(1, oldInput, inputBinding);
      expect.fail("epoch 1 must not decrypt after its grace window");
    } catch (error) {
      expect(error).to.be.instanceOf(DecryptionError);
    }
    expect(new TextDecoder().decode(await fresh.keyring.decryptInput(2, newInput, inputBinding))).to.equal("new epoch");
  });

  it("attack: a made-up image (valid evidence, measurement not approved) gets no signature and no key", async () => {
    const worker = Wallet.createRandom();
    const madeUp = keccak256(toUtf8Bytes("an image governance never approved"));
    const res = await fetch(new URL("/v1/attest", urls[1]), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        chainId: "31337",
        workerRegistry,
        worker: worker.address,
        publicKey: worker.signingKey.publicKey,
        ...workerAttestation(worker, madeUp),
      }),
    });
    const body = (await res.json()) as { error: string; keys?: unknown; signature?: unknown };
    expect(res.status).to.equal(403);
    expect(body.error).to.equal(`measurement ${madeUp} is not approved in WorkerRegistry`);
    expect(body.keys).to.equal(undefined);
    expect(body.signature).to.equal(undefined);
    // Still healthy: the next (approved) worker is attested.
    const next = Wallet.createRandom();
    await register(next);
  });

  it("attack: keys only to a registered, active worker key (not before registration, not after revocation)", async () => {
    const worker = Wallet.createRandom();
    const provision = () => provisionAs(worker);
    await register(worker);
    expect((await provision()).keyring.epochs().length).to.be.greaterThan(0);
    const [owner] = await ethers.getSigners();
    await (workers.connect(owner!) as Contract).revokeWorker!(worker.address);
    const revoked = await provision();
    expect(revoked.keyring.epochs()).to.deep.equal([]);
    expect(revoked.keysWithheld).to.equal("worker is not registered and active in WorkerRegistry");
  });

  it("refuses evidence whose quote does not bind the worker key (real DCAP quote)", async () => {
    const worker = Wallet.createRandom();
    const fixtures = new URL("../fixtures/dcap/", import.meta.url);
    const res = await fetch(new URL("/v1/attest", urls[0]), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        chainId: "31337",
        workerRegistry,
        worker: worker.address,
        publicKey: worker.signingKey.publicKey,
        simulated: false,
        evidence: hexlify(trimQuotePadding(readFileSync(new URL("tdx_quote", fixtures)))),
        collateral: JSON.parse(readFileSync(new URL("tdx_quote_collateral.json", fixtures), "utf8")),
      }),
    });
    const body = (await res.json()) as { error: string };
    expect(res.status).to.equal(403);
    // At the chain's (current) time the fixture collateral is expired: DCAP refuses before the binding.
    expect(body.error).to.match(/TCBInfo expired/);
  });

  it("refuses bad requests clearly", async () => {
    const worker = Wallet.createRandom();
    const post = (body: unknown) =>
      fetch(new URL("/v1/attest", urls[0]), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const base = { chainId: "31337", workerRegistry, worker: worker.address, publicKey: worker.signingKey.publicKey, ...workerAttestation(worker) };
    expect((await post({ ...base, worker: Wallet.createRandom().address })).status).to.equal(400);
    expect((await post({ ...base, chainId: "1" })).status).to.equal(400);
    expect((await post({ ...base, evidence: "0x1234" })).status).to.equal(403);
    expect((await post({ ...base, workerRegistry: 42 })).status).to.equal(400);
    // Evidence made for another worker's key is refused.
    const other = Wallet.createRandom();
    expect((await post({ ...base, evidence: workerAttestation(other).evidence })).status).to.equal(403);
  });

  it("never logs or emits cluster private keys, plaintext inputs or secrets", async () => {
    const deriver = new MasterKeyDeriver(masterKey, { chainId, keyRegistry: String(keyRegistry.target) });
    const forbidden = [
      masterKey.slice(2),
      hexlify(deriver.privateKey(1)).slice(2),
      hexlify(deriver.privateKey(2)).slice(2),
      ...gatekeeperKeys.map((k) => k.privateKey.slice(2)),
      "PLAINTEXT-INPUT-7f3a",
      Buffer.from("PLAINTEXT-INPUT-7f3a").toString("hex"),
      "sk-SECRET-9c1d",
      Buffer.from("sk-SECRET-9c1d").toString("hex"),
      adminToken,
    ];
    expect(logs.lines.length).to.be.greaterThan(5);
    expect(logs.text).to.contain("attested");
    const chainLogs = await ethers.provider.getLogs({ address: [String(keyRegistry.target), String(verifier.target)], fromBlock: 0 });
    expect(chainLogs.length).to.be.greaterThan(3);
    const emitted = chainLogs
      .map((l) => l.data + l.topics.join(""))
      .join("")
      .toLowerCase();
    for (const needle of forbidden) {
      expect(logs.text.toLowerCase()).to.not.contain(needle.toLowerCase());
      expect(emitted).to.not.contain(needle.toLowerCase());
    }
    // The public keys, by contrast, are published.
    expect(emitted).to.contain(deriver.publicKey(1).slice(2).toLowerCase());
  });
});

describe("gatekeeper: simulated evidence outside development chains", () => {
  it("refuses simulated evidence on chain 1 with a clear error", async () => {
    const logs = new LogCapture();
    const worker = Wallet.createRandom();
    const workerRegistry = Wallet.createRandom().address;
    const gatekeeper = createGatekeeper(
      GatekeeperConfig.parse({
        port: 0,
        chainId: "1",
        workerRegistry,
        quorumVerifier: Wallet.createRandom().address,
        keyRegistry: Wallet.createRandom().address,
        signerPrivateKey: Wallet.createRandom().privateKey,
        masterKey: hexlify(secp256k1.utils.randomPrivateKey()),
      }),
      {
        logger: pino({ level: "info" }, logs),
        workers: new FakeWorkerRegistry().approve(SIMULATED_MEASUREMENT),
        epochs: { schedule: async () => ({ current: null, previous: null, pending: null, lastProposed: 0 }) },
      },
    );
    const url = await gatekeeper.start();
    try {
      const now = Math.floor(Date.now() / 1000);
      const res = await fetch(new URL("/v1/attest", url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          chainId: "1",
          workerRegistry,
          worker: worker.address,
          publicKey: worker.signingKey.publicKey,
          simulated: true,
          evidence: encodeSimulatedEvidence(reportDataFor(worker.address, 1n, workerRegistry), SIMULATED_MEASUREMENT, now),
        }),
      });
      const body = (await res.json()) as { error: string; kind: string };
      expect(res.status).to.equal(403);
      expect(body.error).to.match(/simulated evidence is refused on chain 1/);
      expect(logs.text).to.contain("attestation refused");
      expect(getAddress(JSON.parse(logs.lines.find((l) => l.includes("attestation refused"))!).worker)).to.equal(worker.address);
    } finally {
      await gatekeeper.stop();
    }
  });
});
