import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hexlify, Wallet } from "ethers";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { encryptAgentSecrets, encryptToClusterKey, publicKeyOf } from "../../protocol/confidential.js";
import { DecryptionError } from "../../protocol/decryptor.js";
import { MasterKeyDeriver } from "../../gatekeeper/cluster-key.js";

const text = (s: string) => new TextEncoder().encode(s);
const BINDING = { chainId: 31337n, consumer: Wallet.createRandom().address, agentId: 1n };
const seal = (publicKey: string, plaintext: string) => encryptToClusterKey(publicKey, text(plaintext), BINDING);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function expectDecryptionError(promise: Promise<unknown>, pattern: RegExp, epoch: number) {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DecryptionError);
    expect((error as DecryptionError).message).to.match(pattern);
    expect((error as DecryptionError).epoch).to.equal(epoch);
    return;
  }
  expect.fail("expected a DecryptionError");
}

describe("ClusterKeyring", () => {
  let now = 1_000;
  const clock = () => now;
  const deriver = new MasterKeyDeriver(hexlify(secp256k1.utils.randomPrivateKey()), {
    chainId: 31337n,
    keyRegistry: Wallet.createRandom().address,
  });

  beforeEach(() => {
    now = 1_000;
  });

  it("derives the same cluster key for an epoch from the same master key, different ones per epoch and deployment", () => {
    const master = hexlify(secp256k1.utils.randomPrivateKey());
    const deployment = { chainId: 1n, keyRegistry: Wallet.createRandom().address };
    const a = new MasterKeyDeriver(master, deployment);
    const b = new MasterKeyDeriver(master, deployment);
    expect(a.publicKey(1)).to.equal(b.publicKey(1));
    expect(a.publicKey(1)).to.not.equal(a.publicKey(2));
    expect(new MasterKeyDeriver(master, { ...deployment, chainId: 2n }).publicKey(1)).to.not.equal(a.publicKey(1));
    expect(a.publicKey(1)).to.equal(hexlify(publicKeyOf(a.privateKey(1))));
  });

  it("decrypts through the InputDecryptor seam and fails clearly for an unknown epoch", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const ct = seal(deriver.publicKey(1), "hello");
    expect(str(await keyring.decryptInput(1, ct, BINDING))).to.equal("hello");
    await expectDecryptionError(keyring.decryptInput(2, ct, BINDING), /no cluster key provisioned for epoch 2/, 2);
    // Sealed to epoch 1 but labelled epoch 2 by a confused request: the key of 2 cannot open it.
    keyring.add(2, deriver.privateKey(2), null);
    await expectDecryptionError(keyring.decryptInput(2, ct, BINDING), /epoch 2: authentication failed/, 2);
  });

  it("opens an input only for the chain, consumer and agent it was sealed for, and never an unbound one", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const ct = seal(deriver.publicKey(1), "bound");
    for (const other of [
      { ...BINDING, consumer: Wallet.createRandom().address },
      { ...BINDING, agentId: 2n },
      { ...BINDING, chainId: 1n },
    ]) {
      await expectDecryptionError(keyring.decryptInput(1, ct, other), /authentication failed/, 1);
    }
    const unbound = encryptToClusterKey(deriver.publicKey(1), text("unbound"));
    await expectDecryptionError(keyring.decryptInput(1, unbound, BINDING), /authentication failed/, 1);
    expect(keyring).to.not.have.property("decrypt");
  });

  it("old-epoch inputs decrypt inside the grace window and fail clearly after it", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const old = seal(deriver.publicKey(1), "sent before rotation");
    // Rotation: epoch 2 activates at 1_000, epoch 1 usable until 1_600.
    keyring.add(2, deriver.privateKey(2), null);
    keyring.setUsableUntil(1, 1_600);
    now = 1_599;
    expect(str(await keyring.decryptInput(1, old, BINDING))).to.equal("sent before rotation");
    expect(keyring.epochs()).to.deep.equal([1, 2]);
    now = 1_600;
    await expectDecryptionError(keyring.decryptInput(1, old, BINDING), /epoch 1 is retired: its grace window ended at 1600/, 1);
    expect(keyring.epochs()).to.deep.equal([2]);
    expect(keyring.publicKeyOf(1)).to.equal(undefined);
  });

  it("keeps a retired key for the configured slack so requests accepted at the end of the window still run", async () => {
    const keyring = new ClusterKeyring({ now: clock, slackSeconds: 300 });
    keyring.add(1, deriver.privateKey(1), 1_600);
    const ct = seal(deriver.publicKey(1), "late");
    now = 1_899;
    expect(str(await keyring.decryptInput(1, ct, BINDING))).to.equal("late");
    now = 1_900;
    await expectDecryptionError(keyring.decryptInput(1, ct, BINDING), /retired/, 1);
  });

  it("opens agent secrets only for their agent and refuses them through the input seam", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const binding = { chainId: 31337n, agentRegistry: Wallet.createRandom().address, agentId: 9n };
    const ct = encryptAgentSecrets(deriver.publicKey(1), { API_KEY: "sk-xyz" }, binding);
    expect(await keyring.decryptAgentSecrets(1, ct, binding)).to.deep.equal({ API_KEY: "sk-xyz" });
    await expectDecryptionError(keyring.decryptInput(1, ct, BINDING), /purpose AgentSecrets/, 1);
    await expectDecryptionError(keyring.decryptAgentSecrets(1, ct, { ...binding, agentId: 10n }), /authentication failed/, 1);
  });

  it("refreshFrom adopts fresh keys and windows, and ends an epoch the gatekeepers stopped provisioning", async () => {
    const keyring = new ClusterKeyring({ now: clock, slackSeconds: 100 });
    keyring.add(1, deriver.privateKey(1), null);
    keyring.add(2, deriver.privateKey(2), null);
    const one = seal(deriver.publicKey(1), "one");
    const fresh = new ClusterKeyring({ now: clock });
    fresh.add(2, deriver.privateKey(2), null);
    fresh.add(3, deriver.privateKey(3), null);
    keyring.refreshFrom(fresh);
    expect(fresh.epochs()).to.deep.equal([]);
    expect(keyring.epochs()).to.deep.equal([1, 2, 3]);
    expect(keyring.publicKeyOf(3)).to.equal(deriver.publicKey(3));
    // Epoch 1 left its window unseen: it ends now and lives on for the slack only.
    now += 99;
    expect(str(await keyring.decryptInput(1, one, BINDING))).to.equal("one");
    now += 1;
    await expectDecryptionError(keyring.decryptInput(1, one, BINDING), /epoch 1 is retired: its grace window ended at 1000/, 1);
    expect(keyring.epochs()).to.deep.equal([2, 3]);
  });

  it("rotation during traffic: every input of a stream decrypts inside its epoch's window", async () => {
    // Library-level model of KeyRegistry: rotation every 100 s (activation), grace 150 s; the worker
    // refreshes its keyring from the gatekeeper at each proposal (pending key) and activation (grace end).
    const GRACE = 150;
    const ROTATE_EVERY = 100;
    const keyring = new ClusterKeyring({ now: clock });
    let current = 1;
    let activatedAt = now;
    keyring.add(1, deriver.privateKey(1), null);
    const inFlight: { epoch: number; sentAt: number; ct: Uint8Array; plaintext: string }[] = [];
    let delivered = 0;
    for (let t = 0; t < 1_000; t += 7) {
      now = 1_000 + t;
      if (now - activatedAt >= ROTATE_EVERY) {
        // The pending key was provisioned before activation; now it becomes current and the old one
        // gets its grace end.
        keyring.add(current + 1, deriver.privateKey(current + 1), null);
        keyring.setUsableUntil(current, now + GRACE);
        current += 1;
        activatedAt = now;
      }
      // A consumer encrypts to the epoch it saw as current; the request waits up to 120 s for execution.
      const plaintext = `input at ${now}`;
      inFlight.push({ epoch: current, sentAt: now, ct: seal(deriver.publicKey(current), plaintext), plaintext });
      for (const item of inFlight.filter((i) => now - i.sentAt >= i.sentAt % 120)) {
        expect(str(await keyring.decryptInput(item.epoch, item.ct, BINDING))).to.equal(item.plaintext);
        inFlight.splice(inFlight.indexOf(item), 1);
        delivered += 1;
      }
    }
    for (const item of inFlight) expect(str(await keyring.decryptInput(item.epoch, item.ct, BINDING))).to.equal(item.plaintext);
    delivered += inFlight.length;
    expect(delivered).to.equal(Math.ceil(1_000 / 7));
    expect(current).to.be.greaterThan(5);
  });
});
