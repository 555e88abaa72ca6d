import { Wallet, hexlify, randomBytes, type TypedDataDomain, type TypedDataField } from "ethers";
import { provisionFromGatekeepers, type Provisioned } from "../../../gatekeeper/client.js";
import { SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../../../protocol/attestation.js";
import type { Attestation, Enclave, GatekeeperProvisioning } from "./enclave.js";

/**
 * Development enclave: no hardware protects its key and its quotes are signed by the publicly known
 * development attestation key, so only SimulatedTeeVerifier (development chains) accepts them.
 * Every answer carries `simulated: true`.
 */
export class SimulatorEnclave implements Enclave {
  readonly simulated = true;
  readonly #wallet: Wallet;
  readonly #clock: () => number;

  /** @param seed 32-byte hex private key seed; random when omitted. @param clock unix ms. */
  constructor(seed?: string, clock: () => number = Date.now) {
    this.#wallet = new Wallet(seed ?? hexlify(randomBytes(32)));
    this.#clock = clock;
  }

  get address(): string {
    return this.#wallet.address;
  }

  get publicKey(): string {
    return this.#wallet.signingKey.publicKey;
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.#wallet.signTypedData(domain, types, value);
  }

  async provisionFromGatekeepers(request: GatekeeperProvisioning): Promise<Provisioned> {
    const { simulated, evidence } = await this.attest(request.chainId, request.workerRegistry);
    return provisionFromGatekeepers({ ...request, enclavePrivateKey: this.#wallet.privateKey, attestation: { simulated, evidence } });
  }

  async attest(chainId: bigint, workerRegistry: string): Promise<Attestation> {
    const reportData = reportDataFor(this.address, chainId, workerRegistry);
    const issuedAt = BigInt(Math.floor(this.#clock() / 1000));
    return {
      simulated: true,
      worker: this.address,
      publicKey: this.publicKey,
      measurement: SIMULATED_MEASUREMENT,
      reportData,
      evidence: encodeSimulatedEvidence(reportData, SIMULATED_MEASUREMENT, issuedAt),
    };
  }
}
