import { secp256k1 } from "@noble/curves/secp256k1";
import { mapHashToField } from "@noble/curves/abstract/modular";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { AbiCoder, getBytes, hexlify, toUtf8Bytes } from "ethers";

/** The deployment a cluster key belongs to: one master key can serve several without key reuse. */
export interface Deployment {
  chainId: bigint;
  keyRegistry: string;
}

/**
 * The gatekeeper's enclave abstraction for its master key. In a TEE it is derived from the enclave's
 * sealing key (e.g. dstack's getKey); in development it comes from configuration. Every gatekeeper of a
 * cluster holds the same master key, so all derive the same cluster key for an epoch.
 */
export interface ClusterKeyDeriver {
  /** The cluster private key of `epoch` (32 bytes). Callers must not log or persist it. */
  privateKey(epoch: number): Uint8Array;
  /** The compressed cluster public key of `epoch` (0x-hex, as published in KeyRegistry). */
  publicKey(epoch: number): string;
}

const SALT = toUtf8Bytes("phala-agent-cluster-key-v1");
// 48 bytes reduced modulo n: bias below 2^-128 (FIPS 186-5 A.2.1).
const DERIVED_BYTES = 48;

/** clusterKey(epoch) = HKDF-SHA256(master, salt, abi.encode(chainId, keyRegistry, epoch)) mapped into [1, n-1]. */
export class MasterKeyDeriver implements ClusterKeyDeriver {
  private readonly master: Uint8Array;

  constructor(
    masterKey: Uint8Array | string,
    private readonly deployment: Deployment,
  ) {
    this.master = Uint8Array.from(getBytes(masterKey));
    if (this.master.length < 32) throw new RangeError("master key must be at least 32 bytes");
  }

  privateKey(epoch: number): Uint8Array {
    if (!Number.isInteger(epoch) || epoch <= 0) throw new RangeError(`invalid epoch ${epoch}`);
    const info = getBytes(AbiCoder.defaultAbiCoder().encode(["uint256", "address", "uint32"], [this.deployment.chainId, this.deployment.keyRegistry, epoch]));
    return mapHashToField(hkdf(sha256, this.master, SALT, info, DERIVED_BYTES), secp256k1.CURVE.n);
  }

  publicKey(epoch: number): string {
    return hexlify(secp256k1.getPublicKey(this.privateKey(epoch), true));
  }
}
