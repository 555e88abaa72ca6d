/** What a deliberate error carries besides its short message. */
export interface BaseErrorOptions {
  /**
   * What the short message leaves out (values, the failing input, a node's own words). Defaults to
   * the cause's message, so a wrapped error's message still tells the whole story on one line.
   */
  details?: string;
  cause?: unknown;
}

/**
 * Base of every error a part of this project raises on purpose (the bridge's today; the worker's and
 * gatekeeper's can extend it too). Three layers, as viem's errors have them:
 * - `shortMessage`: one stable sentence for people ("eth_call reverted"),
 * - `code`: a stable identifier for machines, logs and exit messages ("SIMULATION_REVERTED"),
 * - `details` and the `cause` chain: what varies, kept intact (`walk` finds a cause by type).
 * `message` is `shortMessage: details`, so code that only logs `error.message` loses nothing.
 */
export class BaseError extends Error {
  readonly shortMessage: string;
  readonly details?: string;

  constructor(
    shortMessage: string,
    readonly code: string,
    options: BaseErrorOptions = {},
  ) {
    const details = options.details ?? (options.cause === undefined ? undefined : errorMessage(options.cause));
    super(details ? `${shortMessage}: ${details}` : shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.shortMessage = shortMessage;
    this.details = details;
  }

  /** This error or the first error in its cause chain that `predicate` accepts. */
  walk(predicate: (error: unknown) => boolean): unknown {
    return findCause(this, predicate);
  }
}

/** `error` or the first error in its `cause` chain that `predicate` accepts (cycles are cut). */
export function findCause(error: unknown, predicate: (error: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  for (let cursor = error; cursor !== undefined && cursor !== null && !seen.has(cursor); cursor = (cursor as { cause?: unknown }).cause) {
    if (predicate(cursor)) return cursor;
    seen.add(cursor);
    if (typeof cursor !== "object") break;
  }
  return undefined;
}

/** The first error of class `type` in `error`'s cause chain (itself included). */
export function causeOfType<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  return findCause(error, (e) => e instanceof type) as T | undefined;
}

/** A one-line description of anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
