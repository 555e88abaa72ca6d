import { checkKeyBinding, type KeyBinding } from "./binding.js";
import { verifyDcapQuote, type VerifiedQuote, type VerifyQuoteOptions } from "./dcap.js";

export * from "./errors.js";
export * from "./tcb.js";
export * from "./measurement.js";
export * from "./binding.js";
export * from "./dcap.js";
export * from "./quote-length.js";

export interface VerifiedWorkerQuote extends VerifiedQuote {
  /** The 32-byte value WorkerRegistry passes to its verifier for this key, chain and registry. */
  boundReportData: string;
}

/**
 * Everything a gatekeeper checks about a worker's quote: DCAP verification at the given time, TCB
 * policy, then the key binding (report data = reportDataFor(enclaveKey, chainId, workerRegistry)).
 */
export function verifyWorkerQuote(options: VerifyQuoteOptions & { binding: KeyBinding }): VerifiedWorkerQuote {
  const verified = verifyDcapQuote(options);
  return { ...verified, boundReportData: checkKeyBinding(verified.reportData, options.binding) };
}
