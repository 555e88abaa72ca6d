import { createRequire } from "node:module";
import type * as DcapQvl from "@phala/dcap-qvl";
import { QuoteVerificationError, TcbStatusRejectedError } from "./errors.js";
import { measurementOf, toHex, type QuoteRegisters } from "./measurement.js";
import { declaredQuoteLength } from "./quote-length.js";
import { isTcbStatusAccepted, STRICT_TCB_POLICY, tcbStatusCode, type TcbPolicy, type TcbStatus } from "./tcb.js";

// dcap-qvl is CommonJS; load it through require so named exports work under ESM.
const require = createRequire(import.meta.url);
const dcap = require("@phala/dcap-qvl") as typeof DcapQvl;

export type Collateral = DcapQvl.Collateral;

export interface VerifyQuoteOptions {
  /** Raw quote bytes. */
  quote: Uint8Array;
  /** Intel collateral for the quote (from a PCCS, fetched by the caller: this module never uses the network). */
  collateral: Collateral;
  /** Verification time, unix seconds. Collateral must be valid at this time. */
  nowSeconds: number;
  /** TCB statuses accepted; defaults to UpToDate only. */
  policy?: TcbPolicy;
  /** DER root CA to trust instead of Intel's production root (tests of custom chains only). */
  rootCaDer?: Uint8Array;
}

export interface VerifiedQuote {
  tee: "sgx" | "tdx";
  tcbStatus: TcbStatus;
  /** Code of `tcbStatus` as signed in WorkerAttestation. */
  tcbStatusCode: number;
  advisoryIds: string[];
  registers: QuoteRegisters;
  /** See measurementOf. */
  measurement: string;
  /** The 64-byte report data field. */
  reportData: Uint8Array;
}

/**
 * Verifies a DCAP quote against GIVEN collateral at a GIVEN time (certificate chain to Intel's root,
 * CRLs, QE identity, TCB info, quote signature, debug attributes) and applies the TCB policy.
 * The quote must be exactly as long as it declares (see declaredQuoteLength), and the time a
 * non-negative integer: dcap-qvl skips every validity window for NaN, so a NaN or undefined time
 * would pass expired collateral as valid.
 * @throws QuoteVerificationError when the quote does not verify; TcbStatusRejectedError when the policy refuses it.
 */
export function verifyDcapQuote(options: VerifyQuoteOptions): VerifiedQuote {
  const policy = options.policy ?? STRICT_TCB_POLICY;
  const now: unknown = options.nowSeconds;
  if (typeof now !== "number" || !Number.isSafeInteger(now) || now < 0) {
    throw new QuoteVerificationError(`verification time must be a non-negative integer of unix seconds, not ${String(now)}`);
  }
  const declared = declaredQuoteLength(options.quote);
  if (declared !== options.quote.byteLength) {
    throw new QuoteVerificationError(`quote is ${options.quote.byteLength} bytes but declares ${declared}`);
  }
  let verified: DcapQvl.VerifiedReport;
  try {
    const verifier = options.rootCaDer ? dcap.QuoteVerifier.newWithRootCa(Buffer.from(options.rootCaDer)) : dcap.QuoteVerifier.newProd();
    verified = verifier.verify(options.quote, options.collateral, options.nowSeconds);
  } catch (error) {
    throw new QuoteVerificationError(`DCAP quote verification failed: ${(error as Error).message}`, { cause: error });
  }
  if (!isTcbStatusAccepted(verified.status, policy)) {
    throw new TcbStatusRejectedError(verified.status, verified.advisory_ids);
  }
  const registers = registersOf(verified.report);
  return {
    tee: registers.tee,
    tcbStatus: verified.status,
    tcbStatusCode: tcbStatusCode(verified.status),
    advisoryIds: [...verified.advisory_ids],
    registers,
    measurement: measurementOf(registers),
    reportData: Uint8Array.from(reportDataOf(verified.report)),
  };
}

function registersOf(report: DcapQvl.Report): QuoteRegisters {
  const sgx = report.asSgx();
  if (sgx) return { tee: "sgx", mrEnclave: toHex(sgx.mrEnclave), mrSigner: toHex(sgx.mrSigner) };
  const td = report.asTd10() ?? report.asTd15()?.base;
  if (!td) throw new QuoteVerificationError(`unsupported report type ${report.type}`);
  return {
    tee: "tdx",
    mrTd: toHex(td.mrTd),
    rtmr0: toHex(td.rtMr0),
    rtmr1: toHex(td.rtMr1),
    rtmr2: toHex(td.rtMr2),
    rtmr3: toHex(td.rtMr3),
  };
}

function reportDataOf(report: DcapQvl.Report): Uint8Array {
  const sgx = report.asSgx();
  if (sgx) return sgx.reportData;
  const td = report.asTd10() ?? report.asTd15()?.base;
  if (!td) throw new QuoteVerificationError(`unsupported report type ${report.type}`);
  return td.reportData;
}
