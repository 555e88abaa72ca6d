/**
 * Seam between the worker and the confidentiality layer (gatekeeper/cluster key). The worker calls
 * it for requests whose keyEpoch is non-zero and for agents' encrypted secrets.
 */
export interface InputDecryptor {
  /** Decrypts `ciphertext` sealed to the cluster key of `epoch`; throws DecryptionError when it cannot. */
  decrypt(epoch: number, ciphertext: Uint8Array): Promise<Uint8Array>;
}

export class DecryptionError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
  ) {
    super(message);
    this.name = "DecryptionError";
  }
}

/** The decryptor of a worker that holds no cluster key: every confidential input fails clearly. */
export const noClusterKey: InputDecryptor = {
  async decrypt(epoch) {
    throw new DecryptionError(`no cluster key provisioned for epoch ${epoch}`, epoch);
  },
};
