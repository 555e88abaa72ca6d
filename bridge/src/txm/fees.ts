const PERCENT = 100n;

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Fees within the operator's cap (the tip never above the fee cap). */
export function capFees(fees: Fees, cap: bigint): Fees {
  const maxFeePerGas = fees.maxFeePerGas > cap ? cap : fees.maxFeePerGas;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas > maxFeePerGas ? maxFeePerGas : fees.maxPriorityFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/**
 * Fees for a replacement of `previous`: both fields raised by `percent` (nodes require >= 10% on
 * both), at least the network's `current` fees, within `cap`. `atCap` when no raise was possible.
 */
export function bumpFees(previous: Fees, current: Fees, percent: number, cap: bigint): Fees & { atCap: boolean } {
  const factor = PERCENT + BigInt(percent);
  const raise = (value: bigint) => (value * factor + PERCENT - 1n) / PERCENT;
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  const wanted = {
    maxFeePerGas: max(raise(previous.maxFeePerGas), current.maxFeePerGas),
    maxPriorityFeePerGas: max(raise(previous.maxPriorityFeePerGas), current.maxPriorityFeePerGas),
  };
  const capped = capFees(wanted, cap);
  return { ...capped, atCap: capped.maxFeePerGas <= previous.maxFeePerGas };
}
