import type { TypedDataDomain, TypedDataField, Wallet } from "ethers";
import { provisionFromGatekeepers, type Provisioned } from "../../../gatekeeper/client.js";
import type { Attestation, Enclave, GatekeeperProvisioning } from "./enclave.js";

/**
 * What every enclave does with its key: sign, and open the cluster keys the gatekeepers seal to it.
 * The key stays in this private field; implementations differ only in how they attest it.
 */
export abstract class KeyHoldingEnclave implements Enclave {
  abstract readonly simulated: boolean;
  readonly #wallet: Wallet;

  protected constructor(wallet: Wallet) {
    this.#wallet = wallet;
  }

  get address(): string {
    return this.#wallet.address;
  }

  get publicKey(): string {
    return this.#wallet.signingKey.publicKey;
  }

  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string> {
    return this.#wallet.signTypedData(domain, types, value);
  }

  async provisionFromGatekeepers(request: GatekeeperProvisioning): Promise<Provisioned> {
    const { simulated, evidence } = await this.attest(request.chainId, request.workerRegistry);
    return provisionFromGatekeepers({ ...request, enclavePrivateKey: this.#wallet.privateKey, attestation: { simulated, evidence } });
  }

  abstract attest(chainId: bigint, workerRegistry: string): Promise<Attestation>;
}
