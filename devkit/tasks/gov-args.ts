import { DevkitError } from "../errors.js";

/** A proposal id: the governor's uint256, in decimal (as the tasks print it) or 0x-hex. */
export function parseProposalId(text: string | undefined): bigint {
  const trimmed = (text ?? "").trim();
  if (!/^(\d+|0x[0-9a-fA-F]+)$/.test(trimmed) || BigInt(trimmed) === 0n) {
    throw new DevkitError(`proposal id must be the governor's proposal id (decimal or 0x-hex, from gov:propose or gov:status), not "${text ?? ""}"`);
  }
  return BigInt(trimmed);
}
