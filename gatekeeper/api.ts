import { z } from "zod";

/**
 * HTTP API of a gatekeeper (JSON; big numbers as decimal strings, bytes as 0x-hex).
 *   GET  /health               -> { ok, gatekeeper, chainId }
 *   GET  /metrics              Prometheus text
 *   POST /v1/attest            AttestRequest -> AttestResponse
 *   POST /v1/rotation/sign     RotationSignRequest -> RotationSignResponse (peers, during a rotation)
 *   POST /v1/rotation          (Authorization: Bearer <adminToken>) -> { epoch, publicKey, activatesAt, txHash }
 */
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "0x-prefixed even-length hex");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "0x-prefixed 20-byte address");
const uint = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));

const Collateral = z.object({
  pck_crl_issuer_chain: z.string(),
  root_ca_crl: z.union([z.string(), z.array(z.number())]),
  pck_crl: z.union([z.string(), z.array(z.number())]),
  tcb_info_issuer_chain: z.string(),
  tcb_info: z.string(),
  tcb_info_signature: z.union([z.string(), z.array(z.number())]),
  qe_identity_issuer_chain: z.string(),
  qe_identity: z.string(),
  qe_identity_signature: z.union([z.string(), z.array(z.number())]),
});

export const AttestRequest = z.object({
  chainId: uint,
  workerRegistry: address,
  /** The worker's address = its enclave key's address. */
  worker: address,
  /** The worker's secp256k1 enclave public key (uncompressed, as in its GET /attestation). */
  publicKey: hex,
  /** True for the TEE simulator's evidence; false for a raw DCAP quote. */
  simulated: z.boolean(),
  evidence: hex,
  collateral: Collateral.optional(),
  /** Requested attestation expiry (unix seconds); must be within the gatekeeper's maximum validity. */
  expiresAt: uint.optional(),
});
export type AttestRequest = z.infer<typeof AttestRequest>;
export type AttestRequestJson = z.input<typeof AttestRequest>;

export const ProvisionedKey = z.object({
  epoch: z.number().int().positive(),
  publicKey: hex,
  /** Unix seconds when the epoch stops being usable on-chain; null while current or pending. */
  usableUntil: z.number().int().nullable(),
  /** The cluster private key sealed to the worker's enclave key (protocol/confidential.ts). */
  sealedPrivateKey: hex,
});
export type ProvisionedKey = z.infer<typeof ProvisionedKey>;

export const AttestResponse = z.object({
  gatekeeper: address,
  simulated: z.boolean(),
  reportData: hex,
  measurement: hex,
  tcbStatus: z.number().int(),
  tcbStatusName: z.string(),
  advisoryIds: z.array(z.string()),
  expiresAt: z.string(),
  /** EIP-712 WorkerAttestation signature of this gatekeeper (GatekeeperQuorumVerifier domain). */
  signature: hex,
  keys: z.array(ProvisionedKey),
  /** Why `keys` is empty although the attestation is signed (the worker is not registered and active yet). */
  keysWithheld: z.string().optional(),
});
export type AttestResponse = z.infer<typeof AttestResponse>;

/**
 * A coordinator's request for this gatekeeper's rotation signature. `authorization` is the
 * coordinator's own KeyRotation(epoch, publicKey, deadline) signature over the key this gatekeeper
 * derives itself: it proves a current gatekeeper (on-chain set) asks, and for the same key.
 */
export const RotationSignRequest = z.object({
  chainId: uint,
  keyRegistry: address,
  epoch: z.number().int().positive(),
  deadline: uint,
  authorization: hex,
});
export type RotationSignRequest = z.infer<typeof RotationSignRequest>;
export const RotationSignResponse = z.object({
  gatekeeper: address,
  epoch: z.number().int(),
  publicKey: hex,
  deadline: z.string().regex(/^\d+$/),
  signature: hex,
});
export type RotationSignResponse = z.infer<typeof RotationSignResponse>;
