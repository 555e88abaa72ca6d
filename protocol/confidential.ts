import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/ciphers/webcrypto";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { AbiCoder, ZeroHash, getBytes, hexlify, keccak256, toUtf8Bytes, toUtf8String } from "ethers";
import { z } from "zod";

/**
 * ECIES over secp256k1 for confidential inputs, outputs, agent secrets and cluster-key provisioning.
 *
 * Envelope v1 (bytes):  version(1)=0x01 | purpose(1) | ephemeralPublicKey(33, compressed) | nonce(24) | ciphertext | tag(16)
 *   shared    = x-coordinate of ECDH(ephemeralPrivate, recipientPublic)
 *   key       = HKDF-SHA256(ikm = shared, salt = ephemeralPublic || recipientPublic, info = "phala-agent-ecies-v1" || purpose, 32)
 *   AEAD      = XChaCha20-Poly1305(key, nonce), associated data = header(59 bytes) || context
 * `purpose` separates uses, so an agent owner's secrets copied into a request input never decrypt as an
 * input; `context` (never transmitted: both sides derive it) binds a ciphertext to where it may be used,
 * e.g. the agent whose secrets they are, or the worker a cluster key is provisioned to.
 */
export const ENVELOPE_VERSION = 0x01;

export enum Purpose {
  Input = 1,
  AgentSecrets = 2,
  Output = 3,
  ClusterKeyProvisioning = 4,
}

const PUBLIC_KEY_BYTES = 33;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_BYTES = 2 + PUBLIC_KEY_BYTES + NONCE_BYTES;
const INFO_PREFIX = toUtf8Bytes("phala-agent-ecies-v1");
const EMPTY = new Uint8Array(0);

export type BytesLike = Uint8Array | string;

/** A ciphertext could not be opened: malformed, wrong version or purpose, wrong key or context, or tampered. */
export class EnvelopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnvelopeError";
  }
}

const bytesOf = (value: BytesLike): Uint8Array => (typeof value === "string" ? getBytes(value) : value);

/** Accepts a compressed (33), uncompressed (65) or raw (64, no prefix) secp256k1 public key; returns it compressed. */
export function compressPublicKey(publicKey: BytesLike): Uint8Array {
  let raw = bytesOf(publicKey);
  if (raw.length === 64) raw = Uint8Array.from([0x04, ...raw]);
  try {
    return secp256k1.ProjectivePoint.fromHex(raw).toRawBytes(true);
  } catch (error) {
    throw new EnvelopeError("invalid secp256k1 public key", { cause: error });
  }
}

/** The compressed public key of a secp256k1 private key. */
export function publicKeyOf(privateKey: BytesLike): Uint8Array {
  return secp256k1.getPublicKey(bytesOf(privateKey), true);
}

function deriveKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array, purpose: Purpose): Uint8Array {
  const salt = new Uint8Array(ephemeral.length + recipient.length);
  salt.set(ephemeral);
  salt.set(recipient, ephemeral.length);
  const info = new Uint8Array(INFO_PREFIX.length + 1);
  info.set(INFO_PREFIX);
  info[INFO_PREFIX.length] = purpose;
  return hkdf(sha256, shared, salt, info, KEY_BYTES);
}

function aad(header: Uint8Array, context: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + context.length);
  out.set(header);
  out.set(context, header.length);
  return out;
}

/** Encrypts `plaintext` to `recipientPublicKey` for `purpose`, bound to `context`. */
export function seal(recipientPublicKey: BytesLike, plaintext: BytesLike, purpose: Purpose, context: BytesLike = EMPTY): Uint8Array {
  const recipient = compressPublicKey(recipientPublicKey);
  const ephemeralPrivate = secp256k1.utils.randomPrivateKey();
  const ephemeral = secp256k1.getPublicKey(ephemeralPrivate, true);
  const shared = secp256k1.getSharedSecret(ephemeralPrivate, recipient, true).subarray(1);
  const nonce = randomBytes(NONCE_BYTES);
  const header = new Uint8Array(HEADER_BYTES);
  header[0] = ENVELOPE_VERSION;
  header[1] = purpose;
  header.set(ephemeral, 2);
  header.set(nonce, 2 + PUBLIC_KEY_BYTES);
  const key = deriveKey(shared, ephemeral, recipient, purpose);
  const body = xchacha20poly1305(key, nonce, aad(header, bytesOf(context))).encrypt(bytesOf(plaintext));
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** Reads the purpose of an envelope without decrypting it (to route or refuse it early). */
export function envelopePurpose(envelope: BytesLike): Purpose {
  const bytes = bytesOf(envelope);
  if (bytes.length < HEADER_BYTES + TAG_BYTES) throw new EnvelopeError("ciphertext too short");
  if (bytes[0] !== ENVELOPE_VERSION) throw new EnvelopeError(`unsupported envelope version ${bytes[0]}`);
  return bytes[1] as Purpose;
}

/** Decrypts an envelope sealed to `privateKey`'s public key for `purpose` and `context`. */
export function open(privateKey: BytesLike, envelope: BytesLike, purpose: Purpose, context: BytesLike = EMPTY): Uint8Array {
  const bytes = bytesOf(envelope);
  const actualPurpose = envelopePurpose(bytes);
  if (actualPurpose !== purpose) {
    throw new EnvelopeError(`envelope purpose ${Purpose[actualPurpose] ?? actualPurpose} where ${Purpose[purpose]} was expected`);
  }
  const header = bytes.subarray(0, HEADER_BYTES);
  const ephemeral = header.subarray(2, 2 + PUBLIC_KEY_BYTES);
  const nonce = header.subarray(2 + PUBLIC_KEY_BYTES);
  let shared: Uint8Array;
  try {
    shared = secp256k1.getSharedSecret(bytesOf(privateKey), ephemeral, true).subarray(1);
  } catch (error) {
    throw new EnvelopeError("invalid ephemeral key or private key", { cause: error });
  }
  const key = deriveKey(shared, ephemeral, publicKeyOf(privateKey), purpose);
  try {
    return xchacha20poly1305(key, nonce, aad(header, bytesOf(context))).decrypt(bytes.subarray(HEADER_BYTES));
  } catch (error) {
    throw new EnvelopeError("authentication failed (wrong key, wrong context or tampered ciphertext)", { cause: error });
  }
}

// ------------------------------------------------------------------ inputs (consumer -> worker)

/** Optional binding of an input to the consumer contract and agent it is meant for. */
export interface InputBinding {
  chainId: bigint | number;
  consumer: string;
  agentId: bigint | number;
  /**
   * Optional: the agent code (AgentRegistry code hash of the version the consumer accepts). A pinned
   * input opens only in a request for that exact code, so no other version (a debug build that
   * echoes its input, say) ever sees it.
   */
  codeHash?: string;
  /**
   * Only for a forwarded input (see {@link sealForwardedInput}): the consumer's own client it was
   * sealed for. Bound inputs with and without a client never open as each other.
   */
  client?: string;
}

const INPUT_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_CONFIDENTIAL_INPUT_V1"));
const PINNED_INPUT_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_CONFIDENTIAL_INPUT_CODE_V1"));
const FORWARDED_INPUT_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_FORWARDED_INPUT_V1"));

/** Context binding an input to (chain, consumer, agent[, code][, client]): a copy submitted by anyone else fails to decrypt. */
export function inputContext(binding: InputBinding): Uint8Array {
  const coder = AbiCoder.defaultAbiCoder();
  if (binding.client !== undefined) {
    // A code hash is never zero (the registry refuses it): zero stands for "any version".
    return getBytes(
      coder.encode(
        ["bytes32", "uint256", "address", "uint256", "address", "bytes32"],
        [FORWARDED_INPUT_TAG, binding.chainId, binding.consumer, binding.agentId, binding.client, binding.codeHash ?? ZeroHash],
      ),
    );
  }
  return getBytes(
    binding.codeHash === undefined
      ? coder.encode(["bytes32", "uint256", "address", "uint256"], [INPUT_TAG, binding.chainId, binding.consumer, binding.agentId])
      : coder.encode(
          ["bytes32", "uint256", "address", "uint256", "bytes32"],
          [PINNED_INPUT_TAG, binding.chainId, binding.consumer, binding.agentId, binding.codeHash],
        ),
  );
}

/**
 * Consumer side: encrypts a request input to the cluster public key of the current epoch (read
 * KeyRegistry.currentEpoch() and publicKeyOf(epoch)); the request carries the result and that epoch.
 */
export function encryptToClusterKey(clusterPublicKey: BytesLike, plaintext: BytesLike, binding?: InputBinding): Uint8Array {
  return seal(clusterPublicKey, plaintext, Purpose.Input, binding ? inputContext(binding) : EMPTY);
}

/** Worker side (normally through ClusterKeyring): decrypts an input sealed to a cluster key. */
export function decryptClusterInput(clusterPrivateKey: BytesLike, ciphertext: BytesLike, binding?: InputBinding): Uint8Array {
  return open(clusterPrivateKey, ciphertext, Purpose.Input, binding ? inputContext(binding) : EMPTY);
}

// ------------------------------------------------------------------ forwarded inputs (a consumer's client -> worker sandbox)

/** Where a forwarded input opens: requests of `consumer` (the forwarder) to `agentId`, for its client `client`. */
export type ForwardedInputBinding = InputBinding & { client: string };

const EPOCH_BYTES = 4;

/**
 * Client side: seals data that a forwarding consumer (a contract relaying requests for its own
 * clients, such as the Chainlink Functions adapter) carries inside its request input. The agent
 * opens it with `ctx.openForwardedInput(sealed, client)`, naming the client the forwarder wrote
 * into the input; it opens only in a request from `consumer` to `agentId` on `chainId`, for that
 * client, in the requested agent itself (never a sub-agent) and, with `codeHash`, only for that code.
 * Wire format: keyEpoch (uint32, big-endian) || envelope (Purpose.Input).
 */
export function sealForwardedInput(clusterPublicKey: BytesLike, keyEpoch: number, plaintext: BytesLike, binding: ForwardedInputBinding): Uint8Array {
  if (!Number.isInteger(keyEpoch) || keyEpoch <= 0 || keyEpoch > 0xffffffff) throw new RangeError(`invalid key epoch ${keyEpoch}`);
  const envelope = seal(clusterPublicKey, plaintext, Purpose.Input, inputContext(binding));
  const out = new Uint8Array(EPOCH_BYTES + envelope.length);
  new DataView(out.buffer).setUint32(0, keyEpoch);
  out.set(envelope, EPOCH_BYTES);
  return out;
}

/** Worker side: the key epoch and envelope of a sealed forwarded input (EnvelopeError if it is none). */
export function splitForwardedInput(sealed: BytesLike): { keyEpoch: number; ciphertext: Uint8Array } {
  const bytes = bytesOf(sealed);
  if (bytes.length < EPOCH_BYTES) throw new EnvelopeError("forwarded input too short");
  const keyEpoch = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const ciphertext = bytes.subarray(EPOCH_BYTES);
  envelopePurpose(ciphertext);
  if (keyEpoch === 0) throw new EnvelopeError("forwarded input names key epoch 0");
  return { keyEpoch, ciphertext };
}

// ------------------------------------------------------------------ outputs (worker -> consumer)

/** Worker side: encrypts an output to a key the consumer supplied with its request. */
export function encryptOutputTo(consumerPublicKey: BytesLike, output: BytesLike, context: BytesLike = EMPTY): Uint8Array {
  return seal(consumerPublicKey, output, Purpose.Output, context);
}

/** Consumer side: decrypts an output encrypted with encryptOutputTo. */
export function decryptOutput(consumerPrivateKey: BytesLike, ciphertext: BytesLike, context: BytesLike = EMPTY): Uint8Array {
  return open(consumerPrivateKey, ciphertext, Purpose.Output, context);
}

// ------------------------------------------------------------------ agent secrets (owner -> worker sandbox)

/** Where agent secrets may be opened: only for this agent of this AgentRegistry on this chain. */
export interface AgentSecretsBinding {
  chainId: bigint | number;
  agentRegistry: string;
  agentId: bigint | number;
}

const SECRETS_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_SECRETS_V1"));
const SecretsJson = z.record(z.string(), z.string());
export type AgentSecrets = z.infer<typeof SecretsJson>;

export function agentSecretsContext(binding: AgentSecretsBinding): Uint8Array {
  return getBytes(
    AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256", "address", "uint256"], [SECRETS_TAG, binding.chainId, binding.agentRegistry, binding.agentId]),
  );
}

/** Agent owner side: encrypts a JSON object of strings (e.g. { OPENAI_API_KEY: "..." }) to the cluster key. */
export function encryptAgentSecrets(clusterPublicKey: BytesLike, secrets: AgentSecrets, binding: AgentSecretsBinding): Uint8Array {
  const json = JSON.stringify(SecretsJson.parse(secrets));
  return seal(clusterPublicKey, toUtf8Bytes(json), Purpose.AgentSecrets, agentSecretsContext(binding));
}

/** Worker side (normally through ClusterKeyring): decrypts and validates an agent's secrets. */
export function decryptAgentSecrets(clusterPrivateKey: BytesLike, ciphertext: BytesLike, binding: AgentSecretsBinding): AgentSecrets {
  const plaintext = open(clusterPrivateKey, ciphertext, Purpose.AgentSecrets, agentSecretsContext(binding));
  const parsed = SecretsJson.safeParse(safeJson(toUtf8String(plaintext)));
  if (!parsed.success) throw new EnvelopeError("agent secrets are not a JSON object of strings");
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ cluster key provisioning (gatekeeper -> worker)

/** Binds a provisioned cluster key to one worker of one deployment and its epoch. */
export interface ProvisioningBinding {
  chainId: bigint | number;
  workerRegistry: string;
  worker: string;
  epoch: number;
}

const PROVISIONING_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_CLUSTER_KEY_PROVISIONING_V1"));

export function provisioningContext(binding: ProvisioningBinding): Uint8Array {
  return getBytes(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "address", "address", "uint32"],
      [PROVISIONING_TAG, binding.chainId, binding.workerRegistry, binding.worker, binding.epoch],
    ),
  );
}

/** Gatekeeper side: seals a cluster private key to the worker's enclave public key. */
export function sealClusterKey(workerPublicKey: BytesLike, clusterPrivateKey: BytesLike, binding: ProvisioningBinding): string {
  return hexlify(seal(workerPublicKey, clusterPrivateKey, Purpose.ClusterKeyProvisioning, provisioningContext(binding)));
}

/** Worker side: opens a provisioned cluster private key with the enclave private key. */
export function openClusterKey(enclavePrivateKey: BytesLike, sealed: BytesLike, binding: ProvisioningBinding): Uint8Array {
  const key = open(enclavePrivateKey, sealed, Purpose.ClusterKeyProvisioning, provisioningContext(binding));
  if (key.length !== KEY_BYTES || !secp256k1.utils.isValidPrivateKey(key)) {
    throw new EnvelopeError("provisioned cluster key is not a valid secp256k1 private key");
  }
  return key;
}
