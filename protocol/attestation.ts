import { AbiCoder, getBytes, keccak256, SigningKey, toUtf8Bytes, concat, zeroPadValue } from "ethers";

/** Domain tag of the report data a worker's enclave attests (see WorkerRegistry.reportDataFor). */
export const REPORT_DATA_TAG = keccak256(toUtf8Bytes("PHALA_AGENT_WORKER_V1"));

/**
 * The 32 bytes a worker's quote must carry in its report data: binds the enclave key (as an
 * address), the chain id and the WorkerRegistry address so a quote cannot be replayed elsewhere.
 * In a 64-byte TDX/SGX report data field it is followed by 32 zero bytes.
 */
export function reportDataFor(enclaveKey: string, chainId: bigint | number, workerRegistry: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address", "uint256", "address"], [REPORT_DATA_TAG, enclaveKey, chainId, workerRegistry]));
}

/** The 64-byte report data field of a real quote for `reportData`. */
export function reportDataField(reportData: string): Uint8Array {
  return getBytes(concat([reportData, zeroPadValue("0x", 32)]));
}

/** Tag of the simulated quote signed by the development attestation key (SimulatedTeeVerifier). */
export const SIMULATED_QUOTE_TAG = keccak256(toUtf8Bytes("PHALA_SIMULATED_TEE_QUOTE_V1"));

/**
 * The publicly known development attestation key. It proves nothing: it exists so local chains
 * can run the whole lifecycle. SimulatedTeeVerifier refuses chain ids outside its development list.
 */
export const DEV_ATTESTATION_PRIVATE_KEY = keccak256(toUtf8Bytes("phala-agent-contracts insecure development attestation key"));

/** Measurement reported by the simulator (no hardware measured anything). */
export const SIMULATED_MEASUREMENT = keccak256(toUtf8Bytes("phala-agent-worker/simulated-runtime"));

/** Digest the development key signs: keccak256(abi.encode(tag, reportData, measurement, issuedAt)). */
export function simulatedQuoteDigest(reportData: string, measurement: string, issuedAt: bigint | number): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32", "bytes32", "uint64"], [SIMULATED_QUOTE_TAG, reportData, measurement, issuedAt]));
}

/** Evidence for SimulatedTeeVerifier: abi.encode(bytes32 measurement, uint64 issuedAt, bytes signature). */
export function encodeSimulatedEvidence(
  reportData: string,
  measurement: string,
  issuedAt: bigint | number,
  devKey: string = DEV_ATTESTATION_PRIVATE_KEY,
): string {
  const signature = new SigningKey(devKey).sign(simulatedQuoteDigest(reportData, measurement, issuedAt)).serialized;
  return AbiCoder.defaultAbiCoder().encode(["bytes32", "uint64", "bytes"], [measurement, issuedAt, signature]);
}
