import { copyFile, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { keccak256 } from "ethers";
import { buildAgent } from "../worker/cli/build-agent.js";
import type { AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** An agent bundle ready to register: its bytes' hash, and where development workers read it. */
export interface AgentBundle {
  bundlePath: string;
  codeHash: string;
  bytes: number;
  /** `<store>/<codeHash>.js` when copied into a bundle store. */
  storedAt?: string;
}

/**
 * The URI registered for a bundle that only development workers' stores hold: `.invalid` never
 * resolves (RFC 2606), so a worker without the bundle in its store fails clearly
 * (BUNDLE_UNAVAILABLE) instead of fetching something else.
 */
export function devBundleUri(codeHash: string): string {
  return `https://bundles.invalid/${codeHash}.js`;
}

/**
 * Bundles an agent's entry (TypeScript or JavaScript, see worker/sdk) with esbuild; a file already
 * named `*.agent.js` is taken as a built bundle. The code hash is keccak256 of the bundle's bytes.
 * With `store`, the bundle is also copied to `<store>/<codeHash>.js`: the content-addressed store
 * development workers read before any URI (workers fetch only http(s)).
 */
export async function bundleAgent(entry: string, options: { store?: string } = {}): Promise<AgentBundle> {
  try {
    await stat(entry);
  } catch {
    throw new DevkitError(`agent entry ${entry} does not exist`);
  }
  let bundle: AgentBundle;
  if (entry.endsWith(".agent.js")) {
    const bytes = await readFile(entry);
    bundle = { bundlePath: path.resolve(entry), codeHash: keccak256(bytes), bytes: bytes.byteLength };
  } else {
    try {
      bundle = await buildAgent(entry);
    } catch (error) {
      throw new DevkitError(`cannot bundle ${entry}: ${(error as Error).message}`, error as Error);
    }
  }
  if (options.store === undefined) return bundle;
  await mkdir(options.store, { recursive: true });
  const storedAt = path.join(options.store, `${bundle.codeHash}.js`);
  await copyFile(bundle.bundlePath, storedAt);
  return { ...bundle, storedAt };
}

export interface RegisterOptions {
  /** PHA wei paid to the owner per successful request. */
  price?: bigint;
  /** Where workers fetch the bundle (http(s)); default devBundleUri, for workers reading `bundleStore`. */
  uri?: string;
  /** Development workers' bundle store the bundle is copied into. */
  bundleStore?: string;
  /** Whether any contract may call it (default true); otherwise the owner allows callers one by one. */
  openToAllCallers?: boolean;
}

export interface RegisteredAgent extends AgentBundle {
  agentId: bigint;
  version: bigint;
  uri: string;
  price: bigint;
  txHash: string;
}

/** Where the bundle is registered: the given URI, or the development placeholder when a store holds it. */
function registeredUri(bundle: AgentBundle, uri: string | undefined): string {
  if (uri !== undefined) return uri;
  if (bundle.storedAt !== undefined) return devBundleUri(bundle.codeHash);
  throw new DevkitError(
    `where do workers fetch ${bundle.bundlePath}? Host it and give its https:// URI (--uri), or register against a local network whose workers read a bundle store (npm run local, --bundles <dir>)`,
  );
}

/** Bundles `entry` and registers it, owned by the network's signer, at code version 1. */
export async function registerAgent(net: AgentNetwork, entry: string, options: RegisterOptions = {}): Promise<RegisteredAgent> {
  const bundle = await bundleAgent(entry, { store: options.bundleStore });
  const uri = registeredUri(bundle, options.uri);
  const price = options.price ?? 0n;
  const receipt = await sendTx("agentRegistry.registerAgent", () =>
    net.agentRegistry.registerAgent(bundle.codeHash, uri, price, [], options.openToAllCallers ?? true),
  );
  const agentId = eventIn(receipt, net.agentRegistry, "AgentRegistered").args.agentId as bigint;
  return { ...bundle, agentId, version: 1n, uri, price, txHash: receipt.hash };
}

/** Bundles `entry` and publishes it as agent `agentId`'s next code version (new requests run it). */
export async function updateAgent(
  net: AgentNetwork,
  agentId: bigint,
  entry: string,
  options: Pick<RegisterOptions, "uri" | "bundleStore"> = {},
): Promise<RegisteredAgent> {
  const bundle = await bundleAgent(entry, { store: options.bundleStore });
  const uri = registeredUri(bundle, options.uri);
  const receipt = await sendTx(`agentRegistry.updateCode(${agentId})`, () => net.agentRegistry.updateCode(agentId, bundle.codeHash, uri));
  const version = eventIn(receipt, net.agentRegistry, "AgentCodeUpdated").args.version as bigint;
  const [, price] = await net.agentRegistry.ownerAndPrice(agentId);
  return { ...bundle, agentId, version, uri, price, txHash: receipt.hash };
}
