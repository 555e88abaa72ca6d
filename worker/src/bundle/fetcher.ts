import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";

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

/** Fetches agent bundles from file:// and http(s):// URIs with a size and time limit. */
export class UriBundleFetcher implements BundleFetcher {
  constructor(
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
  ) {}

  async fetch(uri: string): Promise<Uint8Array> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new BundleFetchError(`bundle URI is not a URL: ${truncate(uri)}`);
    }
    switch (url.protocol) {
      case "file:":
        return this.#fetchFile(url);
      case "http:":
      case "https:":
        return this.#fetchHttp(url);
      default:
        throw new BundleFetchError(`unsupported bundle URI scheme ${url.protocol}`);
    }
  }

  async #fetchFile(url: URL): Promise<Uint8Array> {
    const path = fileURLToPath(url);
    try {
      const info = await stat(path);
      if (info.size > this.maxBytes) throw new BundleFetchError(`bundle is ${info.size} bytes, limit ${this.maxBytes}`);
      return new Uint8Array(await readFile(path));
    } catch (error) {
      if (error instanceof BundleFetchError) throw error;
      throw new BundleFetchError(`cannot read bundle file: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }

  async #fetchHttp(url: URL): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: "follow" });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError" ? "timed out" : "connection failed";
      throw new BundleFetchError(`bundle fetch ${reason}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new BundleFetchError(`bundle fetch answered HTTP ${response.status}`);
    }
    try {
      return await readLimited(response, this.maxBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new BundleFetchError(`bundle exceeds ${this.maxBytes} bytes`);
      throw new BundleFetchError("bundle download failed");
    }
  }
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

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
