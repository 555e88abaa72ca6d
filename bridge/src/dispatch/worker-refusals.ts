import { WORKER_ERRORS } from "../../../protocol/worker-api.js";

/**
 * What a worker's refusal of POST /v1/execute means for the request:
 * - final: the worker will never sign an answer to it (REQUEST_NOT_PENDING: settled on-chain or not
 *   the router's request; a malformed request): the request is marked failed at once, no retries,
 *   and the sweep times it out after its deadline;
 * - retry: the worker or its chain view is not ready (REQUEST_NOT_VISIBLE while its RPC lags,
 *   CHAIN_UNAVAILABLE, 5xx, rate limits): retried with backoff until the deadline;
 * - misrouted: this endpoint serves another worker key, chain or router (421: final for that
 *   endpoint, a directory mistake, not the request's): the next endpoint is tried, and the request
 *   is retried with backoff (the directory is refreshed on its schedule).
 */
export type RefusalDisposition = "final" | "retry" | "misrouted";

const MISDIRECTED = 421;

/** The worker API's own table (protocol/worker-api.ts WORKER_ERRORS) decides; a code not in it falls back to the HTTP status. */
function byCode(code: string): RefusalDisposition | undefined {
  if (!Object.hasOwn(WORKER_ERRORS, code)) return undefined;
  const known = WORKER_ERRORS[code as keyof typeof WORKER_ERRORS];
  if (known.http === MISDIRECTED) return "misrouted";
  return known.retryable ? "retry" : "final";
}

/** Statuses that say "not now" rather than "never". */
const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

export function classifyRefusal(httpStatus: number, code: string | undefined): RefusalDisposition {
  const known = code === undefined ? undefined : byCode(code);
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
