import type { RequestState } from "./store.js";

/**
 * SQL literals built from the TypeScript state lists (store.ts), so a state is spelled once and a
 * misspelt one fails the typecheck instead of matching no row.
 */
export function state(value: RequestState): string {
  return `'${value}'`;
}

/** `('a', 'b')` for `state IN ...`. */
export function states(values: readonly RequestState[]): string {
  return `(${values.map(state).join(", ")})`;
}

/** Same for any closed set of string constants (transaction and attempt states). */
export function literal<T extends string>(value: T): string {
  if (!/^[a-z_]+$/.test(value)) throw new TypeError(`not a state literal: ${value}`);
  return `'${value}'`;
}

export function literals<T extends string>(values: readonly T[]): string {
  return `(${values.map(literal).join(", ")})`;
}
