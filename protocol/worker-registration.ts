import { TypedDataEncoder, type TypedDataDomain, type TypedDataField } from "ethers";

/**
 * The enclave key's consent to be registered by one operator (WorkerRegistry.registerWorker).
 * Attestation evidence binds the key, chain and registry but not the operator, and it is public
 * once it is in the mempool; this EIP-712 signature by the enclave key itself names the operator,
 * so nobody else can register (squat) the key with the same evidence.
 */

/** EIP-712 domain of the WorkerRegistry (name/version fixed in the contract). */
export function workerRegistryDomain(chainId: bigint | number, workerRegistry: string): TypedDataDomain {
  return { name: "WorkerRegistry", version: "1", chainId, verifyingContract: workerRegistry };
}

/** Must match WorkerRegistry.WORKER_REGISTRATION_TYPEHASH. */
export const WORKER_REGISTRATION_TYPES = {
  WorkerRegistration: [
    { name: "worker", type: "address" },
    { name: "operator", type: "address" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** How long a worker's registration signature stays usable: long enough for a multisig operator. */
export const REGISTRATION_SIGNATURE_LIFETIME_SECONDS = 24 * 3600;

/** What registerWorker takes besides the attestation: the operator the key consents to and its signature. */
export interface WorkerRegistration {
  operator: string;
  /** Unix seconds; the registry refuses the signature after it. */
  deadline: bigint;
  signature: string;
}

/** Anything holding the enclave key: the worker's Enclave, or a Wallet in development scripts. */
export interface RegistrationSigner {
  readonly address: string;
  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string>;
}

export function registrationDigest(chainId: bigint | number, workerRegistry: string, worker: string, operator: string, deadline: bigint): string {
  return TypedDataEncoder.hash(workerRegistryDomain(chainId, workerRegistry), copyTypes(), { worker, operator, deadline });
}

/** Signs the key's consent to be registered by `operator` on (chainId, workerRegistry) until `deadline`. */
export async function signWorkerRegistration(
  key: RegistrationSigner,
  chainId: bigint | number,
  workerRegistry: string,
  operator: string,
  deadline: bigint,
): Promise<WorkerRegistration> {
  const signature = await key.signTypedData(workerRegistryDomain(chainId, workerRegistry), copyTypes(), {
    worker: key.address,
    operator,
    deadline,
  });
  return { operator, deadline, signature };
}

function copyTypes(): Record<string, TypedDataField[]> {
  return { WorkerRegistration: [...WORKER_REGISTRATION_TYPES.WorkerRegistration] };
}
