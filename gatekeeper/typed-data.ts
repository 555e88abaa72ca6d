import { AbiCoder, getAddress, TypedDataEncoder, verifyTypedData, type Signer, type TypedDataDomain } from "ethers";

/** EIP-712 types signed by gatekeepers (must match GatekeeperQuorumVerifier and KeyRegistry). */
export const WORKER_ATTESTATION_TYPES = {
  WorkerAttestation: [
    { name: "reportData", type: "bytes32" },
    { name: "measurement", type: "bytes32" },
    { name: "tcbStatus", type: "uint8" },
    { name: "expiresAt", type: "uint64" },
  ],
};

export const KEY_ROTATION_TYPES = {
  KeyRotation: [
    { name: "epoch", type: "uint32" },
    { name: "publicKey", type: "bytes" },
    { name: "deadline", type: "uint64" },
  ],
};

export interface WorkerAttestation {
  reportData: string;
  measurement: string;
  tcbStatus: number;
  expiresAt: bigint;
}

export interface KeyRotation {
  epoch: number;
  publicKey: string;
  /** Unix seconds (chain time) after which KeyRegistry refuses the signatures. */
  deadline: bigint;
}

export const verifierDomain = (chainId: bigint, verifyingContract: string): TypedDataDomain => ({
  name: "GatekeeperQuorumVerifier",
  version: "1",
  chainId,
  verifyingContract,
});

export const keyRegistryDomain = (chainId: bigint, verifyingContract: string): TypedDataDomain => ({
  name: "KeyRegistry",
  version: "1",
  chainId,
  verifyingContract,
});

export const signWorkerAttestation = (signer: Signer, domain: TypedDataDomain, value: WorkerAttestation) =>
  signer.signTypedData(domain, WORKER_ATTESTATION_TYPES, value);

export const signKeyRotation = (signer: Signer, domain: TypedDataDomain, value: KeyRotation) => signer.signTypedData(domain, KEY_ROTATION_TYPES, value);

export const recoverWorkerAttestationSigner = (domain: TypedDataDomain, value: WorkerAttestation, signature: string) =>
  verifyTypedData(domain, WORKER_ATTESTATION_TYPES, value, signature);

export const recoverKeyRotationSigner = (domain: TypedDataDomain, value: KeyRotation, signature: string) =>
  verifyTypedData(domain, KEY_ROTATION_TYPES, value, signature);

export const workerAttestationDigest = (domain: TypedDataDomain, value: WorkerAttestation) => TypedDataEncoder.hash(domain, WORKER_ATTESTATION_TYPES, value);

export interface SignerSignature {
  signer: string;
  signature: string;
}

/** Signatures in the order the contracts require: strictly ascending signer address, no duplicates. */
export function sortBySigner(signatures: readonly SignerSignature[]): string[] {
  const unique = new Map<string, SignerSignature>();
  for (const s of signatures) unique.set(getAddress(s.signer), s);
  return [...unique.values()].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1)).map((s) => s.signature);
}

/** GatekeeperQuorumVerifier evidence: abi.encode(bytes32 measurement, uint8 tcbStatus, uint64 expiresAt, bytes[] signatures). */
export function encodeQuorumEvidence(attestation: Omit<WorkerAttestation, "reportData">, signatures: readonly SignerSignature[]): string {
  return AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint8", "uint64", "bytes[]"],
    [attestation.measurement, attestation.tcbStatus, attestation.expiresAt, sortBySigner(signatures)],
  );
}
