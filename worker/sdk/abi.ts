/**
 * Solidity ABI encoding for agents: `encode(types, values)` gives the bytes `abi.decode(output, (...))`
 * reads on-chain; `decode(types, bytes)` reads what a contract built with `abi.encode(...)`.
 *
 *   return abi.encode(["int256", "string"], [742n, "positive"]);       // agent output
 *   const [text, limit] = abi.decode(["string", "uint256"], ctx.inputBytes);
 *
 * Types are Solidity's canonical names: uint<M>, int<M>, address, bool, bytes<M>, bytes, string,
 * arrays T[] and T[k], tuples (T1,T2) or tuple(T1,T2); a component may carry a name, ignored
 * ("(uint256 score, string label)"). Values: integers as bigint (number and decimal or 0x strings
 * accepted), address and bytes as 0x-hex (bytes also as Uint8Array), tuples and arrays as JS arrays.
 * Decoding returns bigint integers, lower-case 0x addresses and 0x-hex bytes.
 *
 * Written for the sandbox: plain ECMAScript, no TextEncoder, no Node APIs, no dependencies, so a
 * bundle carries ~8 KB (minified) of it.
 */

/** A value of some ABI type, as `encode` takes it and `decode` returns it. */
export type AbiValue = bigint | number | string | boolean | Uint8Array | readonly AbiValue[];

/** Bad types, values out of range, or bytes that are not a valid encoding of the types. */
export class AbiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AbiError";
  }
}

type AbiType =
  | { kind: "uint" | "int"; bits: number; name: string }
  | { kind: "address" | "bool" | "bytes" | "string"; name: string }
  | { kind: "fixedBytes"; size: number; name: string }
  | { kind: "array"; element: AbiType; length: number | undefined; name: string }
  | { kind: "tuple"; components: AbiType[]; name: string };

const WORD = 32;
const TWO_256 = 1n << 256n;

/** abi.encode(values...) for the given types. */
export function encode(types: readonly string[], values: readonly AbiValue[]): Uint8Array {
  const parsed = types.map(parseType);
  if (!Array.isArray(values) || values.length !== parsed.length) {
    throw new AbiError(`abi.encode: ${parsed.length} types but ${Array.isArray(values) ? values.length : "no array of"} values`);
  }
  return concat(encodeSequence(parsed, values, "value"));
}

/** abi.decode(data, (types...)): refuses truncated data, out-of-range offsets and values that do not fit their type. */
export function decode(types: readonly string[], data: Uint8Array | string): AbiValue[] {
  const parsed = types.map(parseType);
  const bytes = typeof data === "string" ? hexToBytes(data, "data") : data;
  if (!(bytes instanceof Uint8Array)) throw new AbiError("abi.decode: data must be a Uint8Array or 0x-hex string");
  // A valid encoding decodes every word at most once; aliased offsets could otherwise make a few
  // hundred bytes decode into millions of values.
  const budget = { left: bytes.length / WORD + 64 };
  return decodeSequence(parsed, bytes, 0, budget, "value");
}

// ---------------------------------------------------------------- type parsing

function parseType(text: string): AbiType {
  if (typeof text !== "string") throw new AbiError("abi: a type must be a string");
  const parser = { text, pos: 0 };
  const type = parseComponent(parser);
  skipSpaces(parser);
  if (parser.pos !== text.length) throw new AbiError(`abi: cannot parse type "${text}" at position ${parser.pos}`);
  return type;
}

function parseComponent(p: { text: string; pos: number }): AbiType {
  skipSpaces(p);
  let type: AbiType;
  if (p.text.startsWith("tuple(", p.pos) || p.text[p.pos] === "(") {
    p.pos = p.text.indexOf("(", p.pos) + 1;
    const components: AbiType[] = [];
    skipSpaces(p);
    while (p.text[p.pos] !== ")") {
      components.push(parseComponent(p));
      skipIdentifier(p);
      skipSpaces(p);
      if (p.text[p.pos] === ",") p.pos++;
      else if (p.text[p.pos] !== ")") throw new AbiError(`abi: expected "," or ")" in "${p.text}" at position ${p.pos}`);
    }
    p.pos++;
    // Solidity has no empty tuple; an array of them would take no bytes per element.
    if (components.length === 0) throw new AbiError(`abi: empty tuple in "${p.text}"`);
    type = { kind: "tuple", components, name: `(${components.map((c) => c.name).join(",")})` };
  } else {
    const match = /^[a-z]+[0-9]*/.exec(p.text.slice(p.pos));
    if (match === null) throw new AbiError(`abi: cannot parse type "${p.text}" at position ${p.pos}`);
    p.pos += match[0].length;
    type = elementary(match[0]);
  }
  for (;;) {
    const suffix = /^\[([0-9]*)\]/.exec(p.text.slice(p.pos));
    if (suffix === null) return type;
    p.pos += suffix[0].length;
    const length = suffix[1] === "" ? undefined : Number(suffix[1]);
    if (length === 0 || (length !== undefined && !Number.isSafeInteger(length))) throw new AbiError(`abi: bad array length in "${p.text}"`);
    type = { kind: "array", element: type, length, name: `${type.name}[${suffix[1]}]` };
  }
}

function elementary(name: string): AbiType {
  if (name === "address" || name === "bool" || name === "bytes" || name === "string") return { kind: name, name };
  const sized = /^(uint|int|bytes)([0-9]+)?$/.exec(name);
  if (sized !== null) {
    const [, base, digits] = sized;
    if (base === "bytes") {
      const size = Number(digits);
      if (size >= 1 && size <= 32 && String(size) === digits) return { kind: "fixedBytes", size, name };
    } else {
      const bits = digits === undefined ? 256 : Number(digits);
      if (bits >= 8 && bits <= 256 && bits % 8 === 0 && (digits === undefined || String(bits) === digits)) {
        return { kind: base as "uint" | "int", bits, name: `${base}${bits}` };
      }
    }
  }
  throw new AbiError(`abi: unknown type "${name}"`);
}

function skipSpaces(p: { text: string; pos: number }): void {
  while (p.text[p.pos] === " ") p.pos++;
}

/** Component names ("uint256 score") document the type and are ignored. */
function skipIdentifier(p: { text: string; pos: number }): void {
  skipSpaces(p);
  const name = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(p.text.slice(p.pos));
  if (name !== null) p.pos += name[0].length;
}

function isDynamic(type: AbiType): boolean {
  switch (type.kind) {
    case "bytes":
    case "string":
      return true;
    case "array":
      return type.length === undefined || isDynamic(type.element);
    case "tuple":
      return type.components.some(isDynamic);
    default:
      return false;
  }
}

/** Bytes a value of the type takes in its parent's head. */
function headSize(type: AbiType): number {
  if (isDynamic(type)) return WORD;
  if (type.kind === "array") return (type.length as number) * headSize(type.element);
  if (type.kind === "tuple") return type.components.reduce((sum, c) => sum + headSize(c), 0);
  return WORD;
}

// ---------------------------------------------------------------- encoding

function encodeSequence(types: AbiType[], values: readonly AbiValue[], path: string): Uint8Array[] {
  const heads: Uint8Array[] = [];
  const tails: Uint8Array[] = [];
  let tailOffset = types.reduce((sum, t) => sum + headSize(t), 0);
  types.forEach((type, i) => {
    const encoded = concat(encodeValue(type, values[i] as AbiValue, `${path}[${i}]`));
    if (isDynamic(type)) {
      heads.push(uintWord(BigInt(tailOffset)));
      tails.push(encoded);
      tailOffset += encoded.length;
    } else {
      heads.push(encoded);
    }
  });
  return [...heads, ...tails];
}

function encodeValue(type: AbiType, value: AbiValue, path: string): Uint8Array[] {
  switch (type.kind) {
    case "uint": {
      const n = toBigInt(value, type, path);
      if (n < 0n || n >= 1n << BigInt(type.bits)) throw outOfRange(type, value, path);
      return [uintWord(n)];
    }
    case "int": {
      const n = toBigInt(value, type, path);
      const half = 1n << BigInt(type.bits - 1);
      if (n < -half || n >= half) throw outOfRange(type, value, path);
      return [uintWord(n < 0n ? TWO_256 + n : n)];
    }
    case "address": {
      if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw wrongValue(type, value, path);
      return [padLeft(hexToBytes(value, path))];
    }
    case "bool":
      if (typeof value !== "boolean") throw wrongValue(type, value, path);
      return [uintWord(value ? 1n : 0n)];
    case "fixedBytes": {
      const bytes = toBytes(value, type, path);
      if (bytes.length !== type.size) throw new AbiError(`abi.encode: ${path} (${type.name}) has ${bytes.length} bytes`);
      return [padRight(bytes)];
    }
    case "bytes":
    case "string": {
      const bytes = type.kind === "string" ? utf8Encode(value, path) : toBytes(value, type, path);
      return [uintWord(BigInt(bytes.length)), padRight(bytes)];
    }
    case "array": {
      if (!Array.isArray(value)) throw wrongValue(type, value, path);
      if (type.length !== undefined && value.length !== type.length) {
        throw new AbiError(`abi.encode: ${path} (${type.name}) has ${value.length} elements`);
      }
      const body = encodeSequence(
        value.map(() => type.element),
        value,
        path,
      );
      return type.length === undefined ? [uintWord(BigInt(value.length)), ...body] : body;
    }
    case "tuple":
      if (!Array.isArray(value) || value.length !== type.components.length) {
        throw new AbiError(`abi.encode: ${path} (${type.name}) must be an array of ${type.components.length} values`);
      }
      return encodeSequence(type.components, value, path);
  }
}

function toBigInt(value: AbiValue, type: AbiType, path: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^(-?[0-9]+|0x[0-9a-fA-F]+)$/.test(value)) return BigInt(value);
  throw wrongValue(type, value, path);
}

function toBytes(value: AbiValue, type: AbiType, path: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return hexToBytes(value, path);
  throw wrongValue(type, value, path);
}

function wrongValue(type: AbiType, value: unknown, path: string): AbiError {
  return new AbiError(`abi.encode: ${path} is not a ${type.name}: ${describe(value)}`);
}

function outOfRange(type: AbiType, value: unknown, path: string): AbiError {
  return new AbiError(`abi.encode: ${path} is out of range for ${type.name}: ${describe(value)}`);
}

function describe(value: unknown): string {
  const text = typeof value === "bigint" ? `${value}n` : typeof value === "string" ? JSON.stringify(value) : Array.isArray(value) ? "an array" : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------- decoding

function decodeSequence(types: AbiType[], data: Uint8Array, start: number, budget: { left: number }, path: string): AbiValue[] {
  const values: AbiValue[] = [];
  let pos = start;
  types.forEach((type, i) => {
    const at = isDynamic(type) ? start + readOffset(data, pos, `${path}[${i}]`) : pos;
    values.push(decodeValue(type, data, at, budget, `${path}[${i}]`));
    pos += headSize(type);
  });
  return values;
}

function decodeValue(type: AbiType, data: Uint8Array, at: number, budget: { left: number }, path: string): AbiValue {
  if (--budget.left < 0) throw new AbiError(`abi.decode: ${path}: the data decodes to more values than it holds words (aliased offsets)`);
  switch (type.kind) {
    case "uint": {
      const n = readWord(data, at, path);
      if (n >= 1n << BigInt(type.bits)) throw badData(type, path);
      return n;
    }
    case "int": {
      const word = readWord(data, at, path);
      const n = word >= TWO_256 / 2n ? word - TWO_256 : word;
      const half = 1n << BigInt(type.bits - 1);
      if (n < -half || n >= half) throw badData(type, path);
      return n;
    }
    case "address": {
      const n = readWord(data, at, path);
      if (n >> 160n !== 0n) throw badData(type, path);
      return `0x${n.toString(16).padStart(40, "0")}`;
    }
    case "bool": {
      const n = readWord(data, at, path);
      if (n > 1n) throw badData(type, path);
      return n === 1n;
    }
    case "fixedBytes": {
      const word = slice(data, at, WORD, path);
      if (word.subarray(type.size).some((b) => b !== 0)) throw badData(type, path);
      return bytesToHex(word.subarray(0, type.size));
    }
    case "bytes":
    case "string": {
      const length = readOffset(data, at, path);
      const bytes = slice(data, at + WORD, length, path);
      return type.kind === "string" ? utf8Decode(bytes) : bytesToHex(bytes);
    }
    case "array": {
      let start = at;
      let length = type.length;
      if (length === undefined) {
        length = readOffset(data, at, path);
        start = at + WORD;
        // Every element takes at least one head word: a larger count cannot be valid.
        if (length * headSize(type.element) > data.length - start)
          throw new AbiError(`abi.decode: ${path} (${type.name}) claims ${length} elements, more than the data holds`);
      }
      return decodeSequence(
        Array.from({ length }, () => type.element),
        data,
        start,
        budget,
        path,
      );
    }
    case "tuple":
      return decodeSequence(type.components, data, at, budget, path);
  }
}

function readWord(data: Uint8Array, at: number, path: string): bigint {
  return BigInt(bytesToHex(slice(data, at, WORD, path)));
}

/** An offset or length: must point inside the data. */
function readOffset(data: Uint8Array, at: number, path: string): number {
  const n = readWord(data, at, path);
  if (n > BigInt(data.length)) throw new AbiError(`abi.decode: ${path}: offset or length ${n} points past the ${data.length}-byte data`);
  return Number(n);
}

function slice(data: Uint8Array, at: number, length: number, path: string): Uint8Array {
  if (at + length > data.length) throw new AbiError(`abi.decode: ${path}: data too short (needs ${at + length} bytes, has ${data.length})`);
  return data.subarray(at, at + length);
}

function badData(type: AbiType, path: string): AbiError {
  return new AbiError(`abi.decode: ${path} is not a valid ${type.name}`);
}

// ---------------------------------------------------------------- bytes

function uintWord(n: bigint): Uint8Array {
  return hexToBytes(`0x${n.toString(16).padStart(64, "0")}`, "word");
}

function padLeft(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(WORD);
  out.set(bytes, WORD - bytes.length);
  return out;
}

function padRight(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / WORD) * WORD);
  out.set(bytes);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** 0x-prefixed hex (even length) to bytes. */
export function hexToBytes(hex: string, what = "value"): Uint8Array {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new AbiError(`abi: ${what} is not 0x-prefixed even-length hex`);
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 + i * 2, 4 + i * 2), 16);
  return out;
}

/** Bytes to 0x-prefixed lower-case hex. */
export function bytesToHex(bytes: Uint8Array): string {
  let hex = "0x";
  for (const b of bytes) hex += (b < 16 ? "0" : "") + b.toString(16);
  return hex;
}

/** UTF-8 bytes of a string; lone surrogates become U+FFFD, as with TextEncoder (absent in the sandbox). */
export function utf8Encode(value: unknown, what = "value"): Uint8Array {
  if (typeof value !== "string") throw new AbiError(`abi: ${what} is not a string: ${describe(value)}`);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** A string from UTF-8 bytes, decoded as the WHATWG Encoding standard (non-fatal TextDecoder) does. */
export function utf8Decode(bytes: Uint8Array): string {
  let out = "";
  let needed = 0;
  let seen = 0;
  let codePoint = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (needed === 0) {
      if (b <= 0x7f) out += String.fromCharCode(b);
      else if (b >= 0xc2 && b <= 0xdf) [needed, codePoint] = [1, b & 0x1f];
      else if (b >= 0xe0 && b <= 0xef) {
        // E0 would start an overlong form below A0; ED would start a surrogate from A0.
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        [needed, codePoint] = [2, b & 0x0f];
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        [needed, codePoint] = [3, b & 0x07];
      } else out += "\ufffd";
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one error; the byte that broke it starts over.
      out += "\ufffd";
      [needed, seen, codePoint, lower, upper] = [0, 0, 0, 0x80, 0xbf];
      i--;
      continue;
    }
    [lower, upper] = [0x80, 0xbf];
    codePoint = (codePoint << 6) | (b & 0x3f);
    if (++seen === needed) {
      out += String.fromCodePoint(codePoint);
      [needed, seen, codePoint] = [0, 0, 0];
    }
  }
  return needed === 0 ? out : `${out}\ufffd`;
}
