import type { Hex } from "../../../protocol/hex.js";

/** Intrinsic gas of every transaction. */
export const TX_BASE_GAS = 21_000n;
/** Standard calldata cost per token (EIP-2028: 16 per non-zero byte = 4 tokens, 4 per zero byte = 1 token). */
const STANDARD_GAS_PER_TOKEN = 4n;
/** EIP-7623 (Prague): a transaction pays at least 21,000 + 10 per calldata token. */
const PRAGUE_FLOOR_GAS_PER_TOKEN = 10n;
/** Calldata of the probe: non-zero bytes, enough to tell 16 from 40 gas per byte apart. */
const PROBE_BYTES = 1_000;

/**
 * How the chain's active fork prices calldata: the standard cost per token and, since EIP-7623,
 * the floor per token that a transaction with little execution and much calldata pays instead.
 * Probed from the node (eth_estimateGas of a self-transfer carrying known calldata) rather than
 * assumed, so a chain before or after Prague is priced as it is.
 */
export interface GasSchedule {
  floorGasPerToken: bigint;
}

export const PRE_PRAGUE: GasSchedule = { floorGasPerToken: 0n };
export const PRAGUE: GasSchedule = { floorGasPerToken: PRAGUE_FLOOR_GAS_PER_TOKEN };

/** Calldata tokens: one per zero byte, four per non-zero byte. */
export function calldataTokens(data: Hex): bigint {
  let zero = 0;
  const bytes = (data.length - 2) / 2;
  for (let i = 2; i < data.length; i += 2) if (data.charCodeAt(i) === 48 && data.charCodeAt(i + 1) === 48) zero++;
  return BigInt(zero + 4 * (bytes - zero));
}

/**
 * The gas limit a transaction needs: its execution (`executionGas`, without intrinsic and calldata
 * costs) plus intrinsic and standard calldata gas, or the calldata floor if that is higher.
 */
export function gasLimitFor(data: Hex, executionGas: bigint, schedule: GasSchedule): bigint {
  const tokens = calldataTokens(data);
  const standard = TX_BASE_GAS + STANDARD_GAS_PER_TOKEN * tokens + executionGas;
  const floor = TX_BASE_GAS + schedule.floorGasPerToken * tokens;
  return standard > floor ? standard : floor;
}

/** Upper bound of `gasLimitFor` for `bytes` bytes of calldata of unknown content (all non-zero). */
export function gasLimitBound(bytes: number, executionGas: bigint, schedule: GasSchedule): bigint {
  const tokens = 4n * BigInt(bytes);
  const standard = TX_BASE_GAS + STANDARD_GAS_PER_TOKEN * tokens + executionGas;
  const floor = TX_BASE_GAS + schedule.floorGasPerToken * tokens;
  return standard > floor ? standard : floor;
}

/** Reads the floor from what a self-transfer of PROBE_BYTES non-zero bytes is estimated to cost. */
export async function probeGasSchedule(estimate: (data: Hex) => Promise<bigint>): Promise<GasSchedule> {
  const tokens = 4n * BigInt(PROBE_BYTES);
  const gas = await estimate(`0x${"ff".repeat(PROBE_BYTES)}`);
  const standard = TX_BASE_GAS + STANDARD_GAS_PER_TOKEN * tokens;
  if (gas <= standard) return PRE_PRAGUE;
  return { floorGasPerToken: (gas - TX_BASE_GAS) / tokens };
}
