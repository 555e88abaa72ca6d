import { AgentStatus } from "../../protocol/status.js";
import { BodyTooLarge, readLimited } from "./bundle/fetcher.js";
import { HostCallFailure, type FetchArgs, type FetchReply } from "./sandbox/host-api.js";

/**
 * Which hosts agents may reach. Patterns: "api.example.com" (any port), "api.example.com:8443",
 * "*.example.com" (subdomains, not the apex), "*" (anything). Only http and https.
 */
export class EgressPolicy {
  readonly #patterns: { host: string; port?: string; wildcard: boolean }[];

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((pattern) => {
      const lower = pattern.toLowerCase();
      if (lower === "*") return { host: "*", wildcard: true };
      const match = /^(\*\.)?([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(lower);
      if (match === null) throw new Error(`invalid egress pattern ${pattern}`);
      return { host: match[2] as string, port: match[3], wildcard: match[1] !== undefined };
    });
  }

  /** Throws HostCallFailure(HOST_CALL_DENIED) unless `url` may be fetched. */
  check(url: URL): void {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `fetch denied: scheme ${url.protocol} is not allowed`);
    }
    if (url.username !== "" || url.password !== "") {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "fetch denied: credentials in URLs are not allowed");
    }
    const host = url.hostname.toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const allowed = this.#patterns.some((p) => {
      if (p.host === "*") return true;
      if (p.port !== undefined && p.port !== port) return false;
      return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
    });
    if (!allowed) throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `fetch denied by egress policy: ${host}:${port}`);
  }
}

/** ctx.fetch for agents: egress policy, no redirects followed, bounded response size. */
export class AgentFetcher {
  constructor(
    private readonly policy: EgressPolicy,
    private readonly maxResponseBytes: number,
  ) {}

  async fetch(args: FetchArgs, signal: AbortSignal): Promise<FetchReply> {
    let url: URL;
    try {
      url = new URL(args.url);
    } catch {
      throw new TypeError(`fetch: invalid URL`);
    }
    this.policy.check(url);
    // Redirects are returned to the agent, never followed here, so they cannot leave the allowlist.
    const response = await fetch(url, {
      method: args.method,
      headers: args.headers,
      body: args.body,
      redirect: "manual",
      signal,
    });
    let body: Uint8Array;
    try {
      body = await readLimited(response, this.maxResponseBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `fetch denied: response exceeds ${this.maxResponseBytes} bytes`);
      }
      throw error;
    }
    return {
      url: url.toString(),
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: new TextDecoder().decode(body),
    };
  }
}
