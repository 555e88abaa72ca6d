import { fetch as guardedFetch, type Agent } from "undici";
import { AgentStatus } from "../../protocol/status.js";
import { BodyTooLarge, readLimited } from "./bundle/fetcher.js";
import { PrivateAddressError, checkHost, guardedDispatcher } from "./net-guard.js";
import { HostCallFailure, type FetchArgs, type FetchReply } from "./sandbox/host-api.js";

/**
 * Which hosts agents may reach. Patterns: "api.example.com" (any port), "api.example.com:8443",
 * "*.example.com" (subdomains, not the apex), "*" (anything). Only http and https. Host names are
 * only half of it: `*` must not reach the worker's own API, the enclave's guest agent or cloud
 * metadata, so private, loopback and link-local addresses are refused at connection time (after
 * DNS) unless the host is listed exactly (`127.0.0.1:8080`, `db.internal`).
 */
export class EgressPolicy {
  readonly #patterns: { host: string; port?: string; wildcard: boolean }[];
  /** Hosts listed exactly: the operator's own choice, so they may be private addresses. */
  readonly explicitHosts: ReadonlySet<string>;

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((pattern) => {
      const lower = pattern.toLowerCase();
      if (lower === "*") return { host: "*", wildcard: true };
      const match = /^(\*\.)?([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(lower);
      if (match === null) throw new Error(`invalid egress pattern ${pattern}`);
      return { host: match[2] as string, port: match[3], wildcard: match[1] !== undefined };
    });
    this.explicitHosts = new Set(this.#patterns.filter((p) => !p.wildcard).map((p) => p.host));
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

/** ctx.fetch for agents: egress policy, no private addresses, no redirects followed, bounded response size. */
export class AgentFetcher {
  readonly #dispatcher: Agent;

  constructor(
    private readonly policy: EgressPolicy,
    private readonly maxResponseBytes: number,
  ) {
    this.#dispatcher = guardedDispatcher(policy.explicitHosts);
  }

  async fetch(args: FetchArgs, signal: AbortSignal): Promise<FetchReply> {
    let url: URL;
    try {
      url = new URL(args.url);
    } catch {
      throw new TypeError(`fetch: invalid URL`);
    }
    this.policy.check(url);
    const denied = () => new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `fetch denied: ${url.hostname} is a private or loopback address`);
    try {
      checkHost(url.hostname, this.policy.explicitHosts);
    } catch {
      throw denied();
    }
    const timeout = args.timeoutMs === undefined ? undefined : AbortSignal.timeout(args.timeoutMs);
    const timedOut = (error: unknown) => (timeout?.aborted ? new Error(`fetch timed out after ${args.timeoutMs} ms`) : error);
    // Redirects are returned to the agent, never followed here, so they cannot leave the allowlist.
    let response: Awaited<ReturnType<typeof guardedFetch>>;
    try {
      response = await guardedFetch(url, {
        method: args.method,
        headers: args.headers,
        body: args.body,
        redirect: "manual",
        signal: timeout === undefined ? signal : AbortSignal.any([signal, timeout]),
        dispatcher: this.#dispatcher,
      });
    } catch (error) {
      if ((error as { cause?: unknown }).cause instanceof PrivateAddressError) throw denied();
      throw timedOut(error);
    }
    let body: Uint8Array;
    try {
      body = await readLimited(response as unknown as Response, this.maxResponseBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `fetch denied: response exceeds ${this.maxResponseBytes} bytes`);
      }
      throw timedOut(error);
    }
    return {
      url: url.toString(),
      status: response.status,
      statusText: response.statusText,
      headers: Object.fromEntries(response.headers),
      body: new TextDecoder().decode(body),
    };
  }
}
