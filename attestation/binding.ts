import { hexlify } from "ethers";
import { reportDataField, reportDataFor } from "../protocol/attestation.js";
import { KeyBindingError } from "./errors.js";

/** What the quote's report data must bind: the worker's enclave key (address), chain and WorkerRegistry. */
export interface KeyBinding {
  enclaveKey: string;
  chainId: bigint | number;
  workerRegistry: string;
}

/**
 * Checks that a quote's 64-byte report data equals reportDataField(reportDataFor(key, chain, registry)).
 * @returns the 32-byte reportData the on-chain registry will pass to its verifier.
 * @throws KeyBindingError otherwise.
 */
export function checkKeyBinding(quoteReportData: Uint8Array, binding: KeyBinding): string {
  const reportData = reportDataFor(binding.enclaveKey, binding.chainId, binding.workerRegistry);
  const expected = hexlify(reportDataField(reportData));
  const actual = hexlify(quoteReportData);
  if (expected !== actual) throw new KeyBindingError(expected, actual);
  return reportData;
}
