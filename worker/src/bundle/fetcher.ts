import { fetch as guardedFetch, type Agent } from "undici";
import { PrivateAddressError, checkHost, guardedDispatcher } from "../net-guard.js";

/** The bundle at a URI could not be fetched (maps to BUNDLE_UNAVAILABLE). */
export class BundleFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleFetchError";
  }
}

export interface BundleFetcher {
  fetch(uri: string): Promise<Uint8Array>;
}

export interface UriBundleFetcherOptions {
  maxBytes: number;
  /** For the whole download (connection, redirects and body). */
  timeoutMs: number;
  /** Hosts (exact names or IP literals) that may resolve to private or loopback addresses (development). */
  allowPrivateHosts?: readonly string[];
}

/** Redirect hops followed (each one checked like the first URI). */
const MAX_REDIRECTS = 3;

/**
 * Fetches agent bundles from http(s) URIs with a size and time limit. The URI is the agent
 * owner's choice, so it is treated as hostile: no local files (a `file:` URI read /dev/zero or
 * hung on a named pipe, and its errors told which local files exist), no private or loopback
 * addresses (the worker's own API, the guest agent, cloud metadata) unless the operator listed
 * the host, every redirect re-checked, and errors that name only the failure class, never a path,
 * an address or a local hash. Local bundles for development go in the content-addressed store
 * (BundleStore's directory, `<codeHash>.js`).
 */
export class UriBundleFetcher implements BundleFetcher {
  readonly #dispatcher: Agent;
  readonly #allowPrivate: ReadonlySet<string>;

  constructor(private readonly options: UriBundleFetcherOptions) {
    this.#allowPrivate = new Set((options.allowPrivateHosts ?? []).map((h) => h.toLowerCase()));
    this.#dispatcher = guardedDispatcher(this.#allowPrivate);
  }

  async fetch(uri: string): Promise<Uint8Array> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new BundleFetchError("bundle URI is not a URL");
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    for (let hop = 0; ; hop++) {
      this.#check(url);
      let response: Awaited<ReturnType<typeof guardedFetch>>;
      try {
        response = await guardedFetch(url, { signal, redirect: "manual", dispatcher: this.#dispatcher });
      } catch (error) {
        throw new BundleFetchError(`bundle fetch ${reason(error, signal)}`);
      }
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new BundleFetchError(`bundle fetch: more than ${MAX_REDIRECTS} redirects`);
        try {
          url = new URL(location, url);
        } catch {
          throw new BundleFetchError("bundle fetch: invalid redirect");
        }
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new BundleFetchError(`bundle fetch answered HTTP ${response.status}`);
      }
      try {
        return await readLimited(response as unknown as Response, this.options.maxBytes);
      } catch (error) {
        if (error instanceof BodyTooLarge) throw new BundleFetchError(`bundle exceeds ${this.options.maxBytes} bytes`);
        throw new BundleFetchError(`bundle download ${reason(error, signal)}`);
      }
    }
  }

  #check(url: URL): void {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new BundleFetchError(`unsupported bundle URI scheme ${url.protocol} (http and https only)`);
    }
    if (url.username !== "" || url.password !== "") throw new BundleFetchError("credentials in bundle URIs are not allowed");
    try {
      checkHost(url.hostname, this.#allowPrivate);
    } catch {
      throw new BundleFetchError("bundle host is a private or loopback address");
    }
  }
}

function reason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof PrivateAddressError) return "refused: the host resolves to a private or loopback address";
  return "failed";
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** Reads a response body, stopping (and cancelling the stream) as soon as it passes `limit` bytes. */
export async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw new BodyTooLarge(limit);
  }
  if (response.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
