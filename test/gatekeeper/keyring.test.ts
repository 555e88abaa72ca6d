import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hexlify, Wallet } from "ethers";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { encryptAgentSecrets, encryptToClusterKey, publicKeyOf } from "../../protocol/confidential.js";
import { DecryptionError } from "../../protocol/decryptor.js";
import { MasterKeyDeriver } from "../../gatekeeper/cluster-key.js";

const text = (s: string) => new TextEncoder().encode(s);
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
    const ct = encryptToClusterKey(deriver.publicKey(1), text("hello"));
    expect(str(await keyring.decrypt(1, ct))).to.equal("hello");
    await expectDecryptionError(keyring.decrypt(2, ct), /no cluster key provisioned for epoch 2/, 2);
    // Sealed to epoch 1 but labelled epoch 2 by a confused request: the key of 2 cannot open it.
    keyring.add(2, deriver.privateKey(2), null);
    await expectDecryptionError(keyring.decrypt(2, ct), /epoch 2: authentication failed/, 2);
  });

  it("old-epoch inputs decrypt inside the grace window and fail clearly after it", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const old = encryptToClusterKey(deriver.publicKey(1), text("sent before rotation"));
    // Rotation: epoch 2 activates at 1_000, epoch 1 usable until 1_600.
    keyring.add(2, deriver.privateKey(2), null);
    keyring.setUsableUntil(1, 1_600);
    now = 1_599;
    expect(str(await keyring.decrypt(1, old))).to.equal("sent before rotation");
    expect(keyring.epochs()).to.deep.equal([1, 2]);
    now = 1_600;
    await expectDecryptionError(keyring.decrypt(1, old), /epoch 1 is retired: its grace window ended at 1600/, 1);
    expect(keyring.epochs()).to.deep.equal([2]);
    expect(keyring.publicKeyOf(1)).to.equal(undefined);
  });

  it("keeps a retired key for the configured slack so requests accepted at the end of the window still run", async () => {
    const keyring = new ClusterKeyring({ now: clock, slackSeconds: 300 });
    keyring.add(1, deriver.privateKey(1), 1_600);
    const ct = encryptToClusterKey(deriver.publicKey(1), text("late"));
    now = 1_899;
    expect(str(await keyring.decrypt(1, ct))).to.equal("late");
    now = 1_900;
    await expectDecryptionError(keyring.decrypt(1, ct), /retired/, 1);
  });

  it("opens agent secrets only for their agent and refuses them through the input seam", async () => {
    const keyring = new ClusterKeyring({ now: clock });
    keyring.add(1, deriver.privateKey(1), null);
    const binding = { chainId: 31337n, agentRegistry: Wallet.createRandom().address, agentId: 9n };
    const ct = encryptAgentSecrets(deriver.publicKey(1), { API_KEY: "sk-xyz" }, binding);
    expect(await keyring.decryptAgentSecrets(1, ct, binding)).to.deep.equal({ API_KEY: "sk-xyz" });
    await expectDecryptionError(keyring.decrypt(1, ct), /purpose AgentSecrets/, 1);
    await expectDecryptionError(keyring.decryptAgentSecrets(1, ct, { ...binding, agentId: 10n }), /authentication failed/, 1);
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
      inFlight.push({ epoch: current, sentAt: now, ct: encryptToClusterKey(deriver.publicKey(current), text(plaintext)), plaintext });
      for (const item of inFlight.filter((i) => now - i.sentAt >= (i.sentAt % 120))) {
        expect(str(await keyring.decrypt(item.epoch, item.ct))).to.equal(item.plaintext);
        inFlight.splice(inFlight.indexOf(item), 1);
        delivered += 1;
      }
    }
    for (const item of inFlight) expect(str(await keyring.decrypt(item.epoch, item.ct))).to.equal(item.plaintext);
    delivered += inFlight.length;
    expect(delivered).to.equal(Math.ceil(1_000 / 7));
    expect(current).to.be.greaterThan(5);
  });
});
