import type { TypedDataDomain, TypedDataField } from "ethers";
import type { ProvisionOptions, Provisioned } from "../../../gatekeeper/client.js";

/** What GET /attestation answers: evidence that `worker` is an enclave key of an approved runtime. */
export interface Attestation {
  simulated: boolean;
  /** Address of the enclave key. */
  worker: string;
  /** Uncompressed secp256k1 public key of the enclave key. */
  publicKey: string;
  /** Runtime measurement the evidence reports (informational; verifiers compute their own). */
  measurement: string;
  /** reportDataFor(worker, chainId, workerRegistry). */
  reportData: string;
  /** Simulator: abi-encoded SimulatedTeeVerifier evidence. dstack: the raw TDX quote. */
  evidence: string;
}

/** What the worker asks of the gatekeepers; the enclave adds its own key and attestation. */
export type GatekeeperProvisioning = Omit<ProvisionOptions, "enclavePrivateKey" | "attestation">;

/**
 * The trusted part of the worker. The enclave key is created inside an implementation and never
 * leaves it: callers get the address and signatures, never the private key.
 */
export interface Enclave {
  readonly simulated: boolean;
  readonly address: string;
  readonly publicKey: string;
  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string>;
  attest(chainId: bigint, workerRegistry: string): Promise<Attestation>;
  /**
   * Attests this enclave to the gatekeepers (evidence for `request.chainId`/`workerRegistry`) and
   * opens the cluster keys they seal to the enclave key, which is used here and never returned.
   */
  provisionFromGatekeepers(request: GatekeeperProvisioning): Promise<Provisioned>;
}
