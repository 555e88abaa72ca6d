/**
 * A 0x-prefixed byte string (calldata, hashes, signatures, raw transactions) at the seams between
 * parts: the type says "bytes", not "any text", and a plain string needs `toHex` (checked) to
 * become one.
 */
export type Hex = `0x${string}`;

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

export function isHex(value: unknown): value is Hex {
  return typeof value === "string" && HEX.test(value);
}

/** `value` as Hex; throws TypeError when it is not 0x-prefixed, even-length hex. */
export function toHex(value: string): Hex {
  if (!isHex(value)) throw new TypeError(`not 0x-prefixed even-length hex: ${value.slice(0, 20)}${value.length > 20 ? "..." : ""}`);
  return value;
}

/** Number of bytes in a Hex string. */
export function byteLength(value: Hex): number {
  return (value.length - 2) / 2;
}
