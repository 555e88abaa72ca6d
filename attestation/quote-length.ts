import { QuoteVerificationError } from "./errors.js";

const HEADER = 48;
const SGX_REPORT = 384;
const TD10_REPORT = 584;
const TEE_TDX = 0x81;

/**
 * The length an Intel DCAP quote declares for itself: header, report body (fixed for v3/v4, typed
 * and sized for v5), the signature-data length field and that many bytes. dcap-qvl verifies a
 * prefix and ignores what follows, so without this check one quote has endless encodings (a byte
 * more, a hundred more) that all "verify".
 * @throws QuoteVerificationError when the quote is too short to declare a length or of an unknown version.
 */
export function declaredQuoteLength(quote: Uint8Array): number {
  const view = new DataView(quote.buffer, quote.byteOffset, quote.byteLength);
  const need = (bytes: number) => {
    if (quote.byteLength < bytes) throw new QuoteVerificationError(`quote is truncated (${quote.byteLength} bytes)`);
  };
  need(HEADER);
  const version = view.getUint16(0, true);
  let signatureLengthAt: number;
  if (version === 3) signatureLengthAt = HEADER + SGX_REPORT;
  else if (version === 4) signatureLengthAt = HEADER + (view.getUint32(4, true) === TEE_TDX ? TD10_REPORT : SGX_REPORT);
  else if (version === 5) {
    need(HEADER + 6);
    signatureLengthAt = HEADER + 6 + view.getUint32(HEADER + 2, true);
  } else throw new QuoteVerificationError(`unsupported quote version ${version}`);
  need(signatureLengthAt + 4);
  return signatureLengthAt + 4 + view.getUint32(signatureLengthAt, true);
}

/**
 * The quote without trailing zero padding some quote tools leave after it (a fixed-size buffer);
 * anything else after the declared length is kept, so verification refuses it.
 */
export function trimQuotePadding(quote: Uint8Array): Uint8Array {
  const length = declaredQuoteLength(quote);
  if (quote.byteLength <= length) return quote;
  return quote.subarray(length).every((byte) => byte === 0) ? quote.subarray(0, length) : quote;
}
