/**
 * The request the FunctionsRouterAdapter forwards: `client (20 bytes) || maxResponseBytes (uint32,
 * big-endian) || data`, where `client` is the contract that called `sendRequest` and
 * `maxResponseBytes` the adapter's response limit (both written by the adapter, so the agent can
 * trust them) and `data` the CBOR the client built with Chainlink's FunctionsRequest library
 * (REQUEST_DATA_VERSION 1).
 */
import { bytesToHex } from "../../worker/sdk/abi.js";
import { CborError, decodeKeyValueSequence, type CborValue } from "./cbor.js";

/** FunctionsRequest.Location */
export const Location = { Inline: 0, Remote: 1, DONHosted: 2 } as const;
/** FunctionsRequest.CodeLanguage */
export const CodeLanguage = { JavaScript: 0 } as const;

const CLIENT_BYTES = 20;
const HEADER_BYTES = CLIENT_BYTES + 4;

export interface FunctionsRequestData {
  /** The contract that sent the request (lower-case 0x-hex). */
  client: string;
  /** Longest response (and error text) the adapter delivers: the runtime answers no more. */
  maxResponseBytes: number;
  source: string;
  args: string[];
  /** 0x-hex, as Chainlink's nodes give them to the source. */
  bytesArgs: string[];
  /** Present when the request carries secrets: Location.Remote or DONHosted, and the reference bytes. */
  secrets?: { location: number; reference: Uint8Array };
}

/** The request cannot be run; `message` is what the client's `err` receives. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestError";
  }
}

const LOCATION_NAMES = ["Inline", "Remote", "DONHosted"];

export function parseFunctionsRequest(input: Uint8Array): FunctionsRequestData {
  if (input.length <= HEADER_BYTES) throw new RequestError("invalid request: no request data after the client address and response limit");
  const client = bytesToHex(input.subarray(0, CLIENT_BYTES));
  const maxResponseBytes = new DataView(input.buffer, input.byteOffset + CLIENT_BYTES, 4).getUint32(0);
  let fields: Map<string, CborValue>;
  try {
    fields = decodeKeyValueSequence(input.subarray(HEADER_BYTES));
  } catch (error) {
    if (error instanceof CborError) throw new RequestError(`invalid request data: ${error.message}`);
    throw error;
  }

  const codeLocation = small(fields.get("codeLocation"), "codeLocation");
  if (codeLocation !== Location.Inline) {
    const name = LOCATION_NAMES[codeLocation] ?? String(codeLocation);
    throw new RequestError(`code location ${name} is not supported: send the source inline (initializeRequestForInlineJavaScript)`);
  }
  const language = small(fields.get("language"), "language");
  if (language !== CodeLanguage.JavaScript) throw new RequestError(`code language ${language} is not supported: only JavaScript`);
  const source = fields.get("source");
  if (typeof source !== "string" || source.length === 0) throw new RequestError("invalid request data: source is missing or not a text string");

  const args = list(fields.get("args"), "args", (item) => (typeof item === "string" ? item : undefined));
  const bytesArgs = list(fields.get("bytesArgs"), "bytesArgs", (item) => (item instanceof Uint8Array ? bytesToHex(item) : undefined));

  const request: FunctionsRequestData = { client, maxResponseBytes, source, args, bytesArgs };
  const reference = fields.get("secrets");
  if (reference !== undefined) {
    if (!(reference instanceof Uint8Array)) throw new RequestError("invalid request data: secrets is not a byte string");
    request.secrets = { location: small(fields.get("secretsLocation"), "secretsLocation"), reference };
  }
  return request;
}

/** A location or language: an unsigned integer (FunctionsRequest writes a bignum) that fits a byte. */
function small(value: CborValue | undefined, name: string): number {
  if (typeof value === "bigint" && value < 256n) return Number(value);
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 256) return value;
  throw new RequestError(`invalid request data: ${name} is missing or not a small unsigned integer`);
}

function list<T>(value: CborValue | undefined, name: string, item: (v: CborValue) => T | undefined): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new RequestError(`invalid request data: ${name} is not an array`);
  return value.map((v, i) => {
    const converted = item(v);
    if (converted === undefined) throw new RequestError(`invalid request data: ${name}[${i}] has the wrong type`);
    return converted;
  });
}
