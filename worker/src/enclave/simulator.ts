import { Wallet, hexlify, randomBytes } from "ethers";
import { SIMULATED_MEASUREMENT, encodeSimulatedEvidence, reportDataFor } from "../../../protocol/attestation.js";
import type { Attestation } from "./enclave.js";
import { KeyHoldingEnclave } from "./key-holder.js";

/**
 * Development enclave: no hardware protects its key and its quotes are signed by the publicly known
 * development attestation key, so only SimulatedTeeVerifier (development chains) accepts them.
 * Every answer carries `simulated: true`.
 */
export class SimulatorEnclave extends KeyHoldingEnclave {
  readonly simulated = true;
  readonly #clock: () => number;

  /** @param seed 32-byte hex private key seed; random when omitted. @param clock unix ms. */
  constructor(seed?: string, clock: () => number = Date.now) {
    super(new Wallet(seed ?? hexlify(randomBytes(32))));
    this.#clock = clock;
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
