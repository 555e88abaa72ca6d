import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { Wallet, hexlify } from "ethers";
import { GatekeeperConfig } from "../../gatekeeper/config.js";
import { MasterKeyDeriver } from "../../gatekeeper/cluster-key.js";
import type { EpochSchedule } from "../../gatekeeper/epochs.js";
import { createGatekeeper, type Gatekeeper } from "../../gatekeeper/gatekeeper.js";
import { ProvisioningError } from "../../gatekeeper/client.js";
import { SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";
import { WorkerAttestation } from "../../protocol/worker-api.js";
import { FakeWorkerRegistry } from "../gatekeeper/fake-worker-registry.js";
import { startWorker, type RunningWorker } from "../../worker/src/app.js";
import { parseConfig } from "../../worker/src/config.js";
import { InMemoryAgentDirectory } from "../../worker/src/directory.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { AGENT_REGISTRY, WORKER_ADDRESS, WORKER_KEY, silentLogger } from "./helpers.js";

const CHAIN_ID = 31337n;
const WORKER_REGISTRY = "0x00000000000000000000000000000000000000F1";
const QUORUM_VERIFIER = Wallet.createRandom().address;
const KEY_REGISTRY = Wallet.createRandom().address;

/**
 * Worker start-up provisioning and refresh against in-process gatekeepers whose KeyRegistry view is a
 * schedule the test controls (no chain: the confidential e2e test covers the contracts).
 */
describe("worker: provisioning from the gatekeepers", function () {
  this.timeout(30_000);
  const masterKey = hexlify(secp256k1.utils.randomPrivateKey());
  const deriver = new MasterKeyDeriver(masterKey, { chainId: CHAIN_ID, keyRegistry: KEY_REGISTRY });
  const signers = [Wallet.createRandom(), Wallet.createRandom()];
  let schedule: EpochSchedule = {
    current: { epoch: 1, publicKey: deriver.publicKey(1) },
    previous: null,
    pending: null,
    lastProposed: 1,
  };
  let attestRequests = 0;
  let gatekeepers: Gatekeeper[] = [];
  let urls: string[] = [];

  before(async () => {
    gatekeepers = signers.map((signer) =>
      createGatekeeper(
        GatekeeperConfig.parse({
          port: 0,
          chainId: CHAIN_ID.toString(),
          workerRegistry: WORKER_REGISTRY,
          quorumVerifier: QUORUM_VERIFIER,
          keyRegistry: KEY_REGISTRY,
          signerPrivateKey: signer.privateKey,
          masterKey,
        }),
        {
          logger: silentLogger,
          workers: new FakeWorkerRegistry().approve(SIMULATED_MEASUREMENT).register(WORKER_ADDRESS, SIMULATED_MEASUREMENT),
          epochs: {
            schedule: async () => {
              attestRequests += 1;
              return schedule;
            },
          },
        },
      ),
    );
    urls = await Promise.all(gatekeepers.map((g) => g.start()));
  });
  after(() => Promise.all(gatekeepers.map((g) => g.stop())));

  function config(gatekeeper: Record<string, unknown>) {
    return parseConfig({
      port: 0,
      chainId: CHAIN_ID.toString(),
      workerRegistry: WORKER_REGISTRY,
      router: "0x00000000000000000000000000000000000000B0",
      rpcUrl: "http://127.0.0.1:1",
      enclave: { kind: "simulator", seed: WORKER_KEY },
      directory: { kind: "file", path: "/unused", agentRegistry: AGENT_REGISTRY },
      gatekeeper: { urls, quorumVerifier: QUORUM_VERIFIER, minSignatures: 2, ...gatekeeper },
    });
  }

  const start = (gatekeeper: Record<string, unknown> = {}, overrides: Parameters<typeof startWorker>[1] = {}) =>
    startWorker(config(gatekeeper), {
      directory: new InMemoryAgentDirectory(AGENT_REGISTRY),
      enclave: new SimulatorEnclave(WORKER_KEY),
      logger: silentLogger,
      sandboxThreads: 1,
      ...overrides,
    });

  it("provisions at start-up and serves the quorum evidence in GET /attestation", async () => {
    const worker = await start();
    try {
      const attestation = WorkerAttestation.parse(await (await fetch(`${worker.url}/attestation`)).json());
      expect(attestation.worker).to.equal(WORKER_ADDRESS);
      expect(attestation.registration, "no operator configured: no registration consent").to.equal(undefined);
      const evidence = attestation.gatekeeperEvidence!;
      expect(evidence.verifier).to.equal(QUORUM_VERIFIER);
      expect([...evidence.signers].sort()).to.deep.equal(signers.map((s) => s.address).sort());
      expect(Number(evidence.expiresAt)).to.be.closeTo(Math.floor(Date.now() / 1000) + 86_400, 5);
      const health = (await (await fetch(`${worker.url}/health`)).json()) as { keyEpochs: number[] };
      expect(health.keyEpochs).to.deep.equal([1]);
      expect(await (await fetch(`${worker.url}/metrics`)).text()).to.match(/worker_key_provisioning_total\{outcome="ok",simulated="true"\} 1/);
    } finally {
      await worker.close();
    }
  });

  it("refreshes on its schedule (a pending epoch arrives) and stops refreshing when closed", async () => {
    const worker: RunningWorker = await start({ refresh: 1 });
    try {
      expect(worker.gatekeeper!.keyring.epochs()).to.deep.equal([1]);
      schedule = { ...schedule, pending: { epoch: 2, publicKey: deriver.publicKey(2), activatesAt: 2_000_000_000 }, lastProposed: 2 };
      const deadline = Date.now() + 5_000;
      while (worker.gatekeeper!.keyring.epochs().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(worker.gatekeeper!.keyring.epochs()).to.deep.equal([1, 2]);
      expect(worker.gatekeeper!.keyring.publicKeyOf(2)).to.equal(deriver.publicKey(2));
    } finally {
      await worker.close();
    }
    const after = attestRequests;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(attestRequests).to.equal(after);
    expect(worker.gatekeeper!.keyring.epochs()).to.deep.equal([]);
  });

  it("refuses to start without a quorum, naming the gatekeepers' errors", async () => {
    let caught: unknown;
    await start({ urls: [urls[0], "http://127.0.0.1:1"] }).catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(ProvisioningError);
    expect((caught as Error).message).to.match(/only 1 valid gatekeeper signatures.*127\.0\.0\.1:1/);
  });

  it("refuses keys that are not the ones KeyRegistry publishes", async () => {
    const other = new MasterKeyDeriver(hexlify(secp256k1.utils.randomPrivateKey()), { chainId: CHAIN_ID, keyRegistry: KEY_REGISTRY });
    let caught: unknown;
    await start({ keyRegistry: KEY_REGISTRY, rpcUrl: "http://127.0.0.1:1" }, { publishedKeys: { publicKeyOf: async (e) => other.publicKey(e) } }).catch(
      (error: unknown) => (caught = error),
    );
    expect(caught).to.be.instanceOf(ProvisioningError);
    expect((caught as Error).message).to.equal("the key provisioned for epoch 1 is not the one KeyRegistry publishes");
    // With the published keys it starts.
    const worker = await start(
      { keyRegistry: KEY_REGISTRY, rpcUrl: "http://127.0.0.1:1" },
      { publishedKeys: { publicKeyOf: async (e) => deriver.publicKey(e) } },
    );
    await worker.close();
  });
});
