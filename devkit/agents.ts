import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { keccak256 } from "ethers";
import { buildAgent } from "../worker/cli/build-agent.js";
import type { AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** An agent bundle ready to register: its bytes' hash and where workers fetch it. */
export interface AgentBundle {
  bundlePath: string;
  codeHash: string;
  bytes: number;
  /** file:// URI of the bundle (what a worker on this machine fetches). */
  fileUri: string;
}

/**
 * Bundles an agent's entry (TypeScript or JavaScript, see worker/sdk) with esbuild; a file already
 * named `*.agent.js` is taken as a built bundle. The code hash is keccak256 of the bundle's bytes.
 */
export async function bundleAgent(entry: string, outFile?: string): Promise<AgentBundle> {
  try {
    await stat(entry);
  } catch {
    throw new DevkitError(`agent entry ${entry} does not exist`);
  }
  if (entry.endsWith(".agent.js")) {
    const bytes = await readFile(entry);
    const bundlePath = path.resolve(entry);
    return { bundlePath, codeHash: keccak256(bytes), bytes: bytes.byteLength, fileUri: pathToFileURL(bundlePath).href };
  }
  try {
    const built = await buildAgent(entry, outFile);
    return { ...built, fileUri: pathToFileURL(built.bundlePath).href };
  } catch (error) {
    throw new DevkitError(`cannot bundle ${entry}: ${(error as Error).message}`, error as Error);
  }
}

export interface RegisterOptions {
  /** PHA wei paid to the owner per successful request. */
  price?: bigint;
  /** Where workers fetch the bundle; default its file:// URI (workers on this machine). */
  uri?: string;
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

/** Bundles `entry` and registers it, owned by the network's signer, at code version 1. */
export async function registerAgent(net: AgentNetwork, entry: string, options: RegisterOptions = {}): Promise<RegisteredAgent> {
  const bundle = await bundleAgent(entry);
  const uri = options.uri ?? bundle.fileUri;
  const price = options.price ?? 0n;
  const receipt = await sendTx("agentRegistry.registerAgent", () =>
    net.agentRegistry.registerAgent(bundle.codeHash, uri, price, [], options.openToAllCallers ?? true),
  );
  const agentId = eventIn(receipt, net.agentRegistry, "AgentRegistered").args.agentId as bigint;
  return { ...bundle, agentId, version: 1n, uri, price, txHash: receipt.hash };
}

/** Bundles `entry` and publishes it as agent `agentId`'s next code version (new requests run it). */
export async function updateAgent(net: AgentNetwork, agentId: bigint, entry: string, options: { uri?: string } = {}): Promise<RegisteredAgent> {
  const bundle = await bundleAgent(entry);
  const uri = options.uri ?? bundle.fileUri;
  const receipt = await sendTx(`agentRegistry.updateCode(${agentId})`, () => net.agentRegistry.updateCode(agentId, bundle.codeHash, uri));
  const version = eventIn(receipt, net.agentRegistry, "AgentCodeUpdated").args.version as bigint;
  const [, price] = await net.agentRegistry.ownerAndPrice(agentId);
  return { ...bundle, agentId, version, uri, price, txHash: receipt.hash };
}
