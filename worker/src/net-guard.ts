import { lookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent } from "undici";

/**
 * Addresses an agent or an agent owner must not reach from inside the worker: loopback (the
 * worker's own API, the dstack guest agent), private networks, link-local (cloud metadata),
 * carrier-grade NAT, unspecified, multicast and reserved ranges, IPv4-mapped forms of these.
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

/** True for an IP literal in a range no agent may reach (see PRIVATE). */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, "ipv4");
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped !== null) return PRIVATE.check(mapped[1]!, "ipv4");
  return PRIVATE.check(bare, "ipv6");
}

/** A connection refused because the host resolved to a private address. */
export class PrivateAddressError extends Error {
  constructor(readonly host: string) {
    super(`${host} resolves to a private or loopback address`);
    this.name = "PrivateAddressError";
  }
}

/**
 * An HTTP dispatcher whose connections go only to public addresses, unless the host is one of
 * `allowPrivate` (exact host names or IP literals the operator listed). The check runs on the
 * addresses actually connected to (the resolver hook of every connection), so a name that
 * resolves publicly once and privately later (DNS rebinding) is refused too. IP-literal URLs skip
 * the resolver: callers check them with `checkHost` first.
 */
export function guardedDispatcher(allowPrivate: ReadonlySet<string>): Agent {
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const list = addresses as unknown as { address: string; family: number }[];
      if (!allowPrivate.has(hostname.toLowerCase()) && list.some((a) => isPrivateAddress(a.address))) {
        return callback(new PrivateAddressError(hostname), "", 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0];
      if (first === undefined) return callback(new Error(`${hostname} has no address`), "", 0);
      callback(null, first.address, first.family);
    });
  };
  return new Agent({ connect: { lookup: guardedLookup } });
}

/** Throws PrivateAddressError for an IP-literal host in a private range that is not allowed. */
export function checkHost(hostname: string, allowPrivate: ReadonlySet<string>): void {
  const host = hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, "")) !== 0 && isPrivateAddress(host) && !allowPrivate.has(host)) {
    throw new PrivateAddressError(hostname);
  }
  if (host === "localhost" || host.endsWith(".localhost")) {
    if (!allowPrivate.has(host)) throw new PrivateAddressError(hostname);
  }
}
