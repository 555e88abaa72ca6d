import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hexlify, SigningKey, Wallet } from "ethers";
import {
  decryptAgentSecrets,
  decryptClusterInput,
  decryptOutput,
  encryptAgentSecrets,
  encryptOutputTo,
  encryptToClusterKey,
  EnvelopeError,
  envelopePurpose,
  openClusterKey,
  Purpose,
  publicKeyOf,
  sealClusterKey,
} from "../../protocol/confidential.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("confidential: ECIES over secp256k1", () => {
  const clusterKey = secp256k1.utils.randomPrivateKey();
  const clusterPub = publicKeyOf(clusterKey);

  it("round-trips an input and produces a fresh ciphertext every time", () => {
    const a = encryptToClusterKey(clusterPub, text("what is 2+2?"));
    const b = encryptToClusterKey(clusterPub, text("what is 2+2?"));
    expect(hexlify(a)).to.not.equal(hexlify(b));
    expect(a[0]).to.equal(1, "version byte");
    expect(envelopePurpose(a)).to.equal(Purpose.Input);
    expect(str(decryptClusterInput(clusterKey, a))).to.equal("what is 2+2?");
    expect(decryptClusterInput(clusterKey, encryptToClusterKey(clusterPub, new Uint8Array(0))).length).to.equal(0);
  });

  it("accepts compressed, uncompressed and 0x-hex public keys", () => {
    const uncompressed = new SigningKey(clusterKey).publicKey;
    const ct = encryptToClusterKey(uncompressed, text("x"));
    expect(str(decryptClusterInput(hexlify(clusterKey), ct))).to.equal("x");
    expect(() => encryptToClusterKey("0x1234", text("x"))).to.throw(EnvelopeError, /public key/);
  });

  it("refuses any tampered byte (header, ephemeral key, nonce, body, tag)", () => {
    const ct = encryptToClusterKey(clusterPub, text("secret input"));
    for (const i of [0, 1, 5, 40, ct.length - 20, ct.length - 1]) {
      const tampered = Uint8Array.from(ct);
      tampered[i]! ^= 0x01;
      expect(() => decryptClusterInput(clusterKey, tampered), `byte ${i}`).to.throw(EnvelopeError);
    }
    expect(() => decryptClusterInput(clusterKey, ct.subarray(0, 30))).to.throw(EnvelopeError, /too short/);
  });

  it("refuses the wrong key", () => {
    const ct = encryptToClusterKey(clusterPub, text("secret input"));
    expect(() => decryptClusterInput(secp256k1.utils.randomPrivateKey(), ct)).to.throw(EnvelopeError, /authentication failed/);
  });

  it("binds an input to its consumer and agent when asked", () => {
    const binding = { chainId: 31337n, consumer: Wallet.createRandom().address, agentId: 7n };
    const ct = encryptToClusterKey(clusterPub, text("bound"), binding);
    expect(str(decryptClusterInput(clusterKey, ct, binding))).to.equal("bound");
    expect(() => decryptClusterInput(clusterKey, ct)).to.throw(EnvelopeError);
    expect(() => decryptClusterInput(clusterKey, ct, { ...binding, agentId: 8n })).to.throw(EnvelopeError);
  });

  it("encrypts outputs to a consumer-supplied key", () => {
    const consumer = secp256k1.utils.randomPrivateKey();
    const ct = encryptOutputTo(publicKeyOf(consumer), text("the answer is 4"));
    expect(str(decryptOutput(consumer, ct))).to.equal("the answer is 4");
    expect(() => decryptOutput(clusterKey, ct)).to.throw(EnvelopeError);
  });

  describe("agent secrets", () => {
    const binding = { chainId: 31337n, agentRegistry: Wallet.createRandom().address, agentId: 3n };
    const secrets = { OPENAI_API_KEY: "sk-test-123", REGION: "eu" };

    it("round-trips a JSON object of strings for its agent only", () => {
      const ct = encryptAgentSecrets(clusterPub, secrets, binding);
      expect(decryptAgentSecrets(clusterKey, ct, binding)).to.deep.equal(secrets);
      expect(() => decryptAgentSecrets(clusterKey, ct, { ...binding, agentId: 4n })).to.throw(EnvelopeError);
    });

    it("cannot be replayed as a request input (purpose separation)", () => {
      const ct = encryptAgentSecrets(clusterPub, secrets, binding);
      expect(() => decryptClusterInput(clusterKey, ct)).to.throw(EnvelopeError, /purpose AgentSecrets where Input/);
    });

    it("refuses non-string values", () => {
      expect(() => encryptAgentSecrets(clusterPub, { n: 1 } as unknown as Record<string, string>, binding)).to.throw();
    });
  });

  it("provisions a cluster key to one worker only", () => {
    const enclave = Wallet.createRandom();
    const binding = { chainId: 31337n, workerRegistry: Wallet.createRandom().address, worker: enclave.address, epoch: 2 };
    const sealed = sealClusterKey(enclave.signingKey.publicKey, clusterKey, binding);
    expect(hexlify(openClusterKey(enclave.privateKey, sealed, binding))).to.equal(hexlify(clusterKey));
    expect(() => openClusterKey(enclave.privateKey, sealed, { ...binding, epoch: 3 })).to.throw(EnvelopeError);
    expect(() => openClusterKey(Wallet.createRandom().privateKey, sealed, binding)).to.throw(EnvelopeError);
  });
});
