/**
 * A small, strict CBOR (RFC 8949) decoder for what Chainlink's `FunctionsRequest.encodeCBOR` and
 * its vendored `CBOR.sol` write: unsigned and negative integers, bignums (tags 2 and 3, which
 * `writeUInt256` always uses), byte and text strings, arrays and maps of definite or indefinite
 * length, booleans, null. Floats and other tags are refused: no request contains them. Every length
 * is checked against the bytes left, and nesting is bounded, so hostile data costs at most one pass.
 */
import { utf8Decode } from "../../worker/sdk/abi.js";

export type CborValue = number | bigint | string | Uint8Array | boolean | null | CborValue[] | Map<CborValue, CborValue>;

export class CborError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CborError";
  }
}

const MAX_DEPTH = 16;
const BREAK = Symbol("break");

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw new CborError("unexpected end of data");
    return this.bytes[this.pos++] as number;
  }

  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.pos) throw new CborError("a length runs past the end of the data");
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** The argument of a head with additional info `info` (0-27); lengths and integers. */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return (this.byte() << 8) | this.byte();
    if (info === 26) return ((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte());
    if (info === 27) {
      let value = 0n;
      for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(this.byte());
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    throw new CborError(`reserved additional information ${info}`);
  }

  length(info: number): number {
    const value = this.argument(info);
    if (typeof value !== "number" || value > this.bytes.length - this.pos) throw new CborError("a length runs past the end of the data");
    return value;
  }
}

function decodeItem(r: Reader, depth: number): CborValue | typeof BREAK {
  if (depth > MAX_DEPTH) throw new CborError(`nesting deeper than ${MAX_DEPTH}`);
  const head = r.byte();
  const major = head >> 5;
  const info = head & 31;
  switch (major) {
    case 0:
      return r.argument(info);
    case 1: {
      const n = r.argument(info);
      return typeof n === "number" ? -1 - n : -1n - n;
    }
    case 2:
    case 3: {
      const bytes = info === 31 ? chunks(r, major) : r.take(r.length(info));
      return major === 2 ? bytes : utf8Decode(bytes);
    }
    case 4: {
      const items: CborValue[] = [];
      if (info === 31) {
        for (let item = decodeItem(r, depth + 1); item !== BREAK; item = decodeItem(r, depth + 1)) items.push(item);
      } else {
        // Every item takes at least one byte: a count beyond the bytes left is refused up front.
        for (let n = r.length(info); n > 0; n--) items.push(definite(r, depth + 1));
      }
      return items;
    }
    case 5: {
      const map = new Map<CborValue, CborValue>();
      const put = (key: CborValue) => {
        if (map.has(key)) throw new CborError(`duplicate map key ${String(key)}`);
        map.set(key, definite(r, depth + 1));
      };
      if (info === 31) {
        for (let key = decodeItem(r, depth + 1); key !== BREAK; key = decodeItem(r, depth + 1)) put(key);
      } else {
        for (let n = r.length(info); n > 0; n--) put(definite(r, depth + 1));
      }
      return map;
    }
    case 6: {
      const tag = r.argument(info);
      if (tag !== 2 && tag !== 3) throw new CborError(`unsupported tag ${tag}`);
      const content = definite(r, depth + 1);
      if (!(content instanceof Uint8Array)) throw new CborError("a bignum is not a byte string");
      let value = 0n;
      for (const b of content) value = (value << 8n) | BigInt(b);
      return tag === 2 ? value : -1n - value;
    }
    default:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 31) return BREAK;
      throw new CborError(`unsupported simple value or float (0x${head.toString(16)})`);
  }
}

function definite(r: Reader, depth: number): CborValue {
  const item = decodeItem(r, depth);
  if (item === BREAK) throw new CborError("unexpected break");
  return item;
}

/** An indefinite-length byte or text string: definite chunks of the same major type up to a break. */
function chunks(r: Reader, major: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const head = r.byte();
    if (head === 0xff) break;
    if (head >> 5 !== major || (head & 31) === 31) throw new CborError("malformed indefinite-length string");
    const part = r.take(r.length(head & 31));
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Decodes one CBOR item that must span `bytes` exactly. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const item = definite(r, 0);
  if (!r.done) throw new CborError("trailing bytes after the item");
  return item;
}

/**
 * Decodes a CBOR sequence of alternating text keys and values with no map header, as
 * FunctionsRequest writes the request (Chainlink's nodes read it as the body of a map).
 */
export function decodeKeyValueSequence(bytes: Uint8Array): Map<string, CborValue> {
  const r = new Reader(bytes);
  const out = new Map<string, CborValue>();
  while (!r.done) {
    const key = definite(r, 0);
    if (typeof key !== "string") throw new CborError("a key is not a text string");
    if (out.has(key)) throw new CborError(`duplicate key "${key}"`);
    if (r.done) throw new CborError(`key "${key}" has no value`);
    out.set(key, definite(r, 0));
  }
  return out;
}
