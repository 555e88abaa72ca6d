import { AbiCoder, computeAddress, recoverAddress } from "ethers";
import { SimulatedEvidenceError } from "../attestation/errors.js";
import { DEV_ATTESTATION_PRIVATE_KEY, simulatedQuoteDigest } from "../protocol/attestation.js";

/** Chains on which simulated (development-key) evidence may be accepted. */
export const DEVELOPMENT_CHAIN_IDS: readonly bigint[] = [31337n, 1337n];

const DEV_ATTESTER = computeAddress(DEV_ATTESTATION_PRIVATE_KEY);
/** Tolerated clock skew between the simulated worker and the gatekeeper, in seconds. */
const CLOCK_SKEW_SECONDS = 60;

export interface SimulatedCheck {
  chainId: bigint;
  reportData: string;
  evidence: string;
  nowSeconds: number;
  maxAgeSeconds: number;
}

/**
 * Verifies evidence from the TEE simulator (protocol/attestation.ts: abi.encode(measurement, issuedAt,
 * devKeySignature)). Refused outright on chains outside DEVELOPMENT_CHAIN_IDS.
 * @returns the measurement the simulator reported.
 */
export function verifySimulatedEvidence(check: SimulatedCheck): string {
  if (!DEVELOPMENT_CHAIN_IDS.includes(check.chainId)) {
    throw new SimulatedEvidenceError(
      `simulated evidence is refused on chain ${check.chainId}: only development chains (${DEVELOPMENT_CHAIN_IDS.join(", ")}) accept it`,
    );
  }
  let measurement: string, issuedAt: bigint, signature: string;
  try {
    [measurement, issuedAt, signature] = AbiCoder.defaultAbiCoder().decode(["bytes32", "uint64", "bytes"], check.evidence) as unknown as [
      string,
      bigint,
      string,
    ];
  } catch (error) {
    throw new SimulatedEvidenceError("malformed simulated evidence", { cause: error });
  }
  let signer: string;
  try {
    signer = recoverAddress(simulatedQuoteDigest(check.reportData, measurement, issuedAt), signature);
  } catch (error) {
    throw new SimulatedEvidenceError("malformed simulated quote signature", { cause: error });
  }
  if (signer !== DEV_ATTESTER) {
    throw new SimulatedEvidenceError("simulated quote is not signed by the development attestation key for this report data");
  }
  const issued = Number(issuedAt);
  if (issued > check.nowSeconds + CLOCK_SKEW_SECONDS) throw new SimulatedEvidenceError("simulated quote issued in the future");
  if (check.nowSeconds - issued > check.maxAgeSeconds) throw new SimulatedEvidenceError("simulated quote too old");
  if (/^0x0{64}$/.test(measurement)) throw new SimulatedEvidenceError("zero measurement");
  return measurement;
}
