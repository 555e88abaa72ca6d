import type { AgentSecrets, AgentSecretsBinding, InputBinding } from "./confidential.js";

/**
 * Seam between the worker and the confidentiality layer (gatekeeper/cluster key). The worker calls
 * it for requests whose keyEpoch is non-zero and for agents' encrypted secrets. Both calls take the
 * context the ciphertext must be bound to, so a ciphertext copied out of a public AgentRequested
 * event into another consumer's request (or one agent's secrets set on another agent) does not open.
 */
export interface InputDecryptor {
  /**
   * Decrypts a request input sealed to the cluster key of `epoch` for (chainId, consumer, agentId);
   * throws DecryptionError when it cannot (no key, retired epoch, other binding, tampered, unbound).
   */
  decryptInput(epoch: number, ciphertext: Uint8Array, binding: InputBinding): Promise<Uint8Array>;
  /**
   * Decrypts an agent owner's secrets sealed to the cluster key of `epoch` for (chainId,
   * agentRegistry, agentId); throws DecryptionError when it cannot or they are not a string map.
   */
  decryptAgentSecrets(epoch: number, ciphertext: Uint8Array, binding: AgentSecretsBinding): Promise<AgentSecrets>;
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
  async decryptInput(epoch) {
    throw new DecryptionError(`no cluster key provisioned for epoch ${epoch}`, epoch);
  },
  async decryptAgentSecrets(epoch) {
    throw new DecryptionError(`no cluster key provisioned for epoch ${epoch}`, epoch);
  },
};
