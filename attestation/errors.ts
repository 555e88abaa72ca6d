/** Base class of every refusal of a worker's attestation evidence. */
export class AttestationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The quote failed DCAP verification (signature, certificate chain, collateral window, parsing ...). */
export class QuoteVerificationError extends AttestationError {}

/** The quote verified, but its platform's TCB status is not accepted by the policy. */
export class TcbStatusRejectedError extends AttestationError {
  constructor(
    readonly status: string,
    readonly advisoryIds: readonly string[],
  ) {
    super(`TCB status ${status} is not accepted${advisoryIds.length ? ` (advisories: ${advisoryIds.join(", ")})` : ""}`);
  }
}

/** The quote's report data does not bind the claimed enclave key, chain id and WorkerRegistry. */
export class KeyBindingError extends AttestationError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`quote report data does not bind this worker key, chain and registry (expected ${expected}, got ${actual})`);
  }
}

/** Simulated evidence was offered to a gatekeeper serving a non-development chain, or is invalid. */
export class SimulatedEvidenceError extends AttestationError {}
