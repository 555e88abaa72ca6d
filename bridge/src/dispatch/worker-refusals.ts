/**
 * What a worker's refusal of POST /v1/execute means for the request:
 * - final: the worker will never sign an answer to it (CONFLICTING_REQUEST: it answered another
 *   request under this id; REQUEST_NOT_PENDING: settled on-chain; a malformed request): the request
 *   is marked failed at once, no retries, and the sweep times it out after its deadline;
 * - retry: the worker or its chain view is not ready (5xx, REQUEST_NOT_VISIBLE while its RPC lags,
 *   rate limits): retried with backoff until the deadline;
 * - misrouted: this endpoint does not serve the request (another worker, chain or router: a
 *   directory mistake): the next endpoint is tried, and the request is retried with backoff.
 */
export type RefusalDisposition = "final" | "retry" | "misrouted";

/**
 * Codes of the worker API's error bodies ({ error: CODE, message }); a code not listed falls back to
 * the HTTP status. A new worker code is one line here.
 */
const BY_CODE: Readonly<Record<string, RefusalDisposition>> = {
  CONFLICTING_REQUEST: "final",
  REQUEST_NOT_PENDING: "final",
  INPUT_HASH_MISMATCH: "final",
  INVALID_REQUEST: "final",
  INVALID_JSON: "final",
  BODY_TOO_LARGE: "final",
  REQUEST_NOT_VISIBLE: "retry",
  CHAIN_UNAVAILABLE: "retry",
  ENCLAVE_UNAVAILABLE: "retry",
  INTERNAL: "retry",
  WRONG_WORKER: "misrouted",
  WRONG_CHAIN: "misrouted",
  WRONG_ROUTER: "misrouted",
};

/** Statuses that say "not now" rather than "never". */
const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);
const MISDIRECTED = 421;

export function classifyRefusal(httpStatus: number, code: string | undefined): RefusalDisposition {
  const known = code === undefined ? undefined : BY_CODE[code];
  if (known) return known;
  if (httpStatus === MISDIRECTED) return "misrouted";
  if (httpStatus >= 500 || RETRY_STATUSES.has(httpStatus)) return "retry";
  if (httpStatus >= 400) return "final";
  return "retry";
}

/** The `error` code of a worker's JSON error body, if it has one. */
export function refusalCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
