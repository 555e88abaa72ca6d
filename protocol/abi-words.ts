import { keccak_256 } from "@noble/hashes/sha3";

/** Hex digits of one 32-byte ABI word. */
export const WORD_HEX = 64;
const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * A uint256 as one ABI word (hex, no 0x). The hand-built encodings in protocol/ and bridge/ use
 * these helpers instead of ethers' generic coder, which cost the bridge ~1 ms per relayed answer.
 */
export function uintWord(value: bigint | number): string {
  const big = BigInt(value);
  if (big < 0n || big > MAX_UINT256) throw new RangeError(`${value} is not a uint256`);
  return big.toString(16).padStart(WORD_HEX, "0");
}

/** keccak256 of hex bytes (with or without 0x), as hex without 0x. */
export function keccakHex(hex: string): string {
  return Buffer.from(keccak_256(Buffer.from(hex.startsWith("0x") ? hex.slice(2) : hex, "hex"))).toString("hex");
}
