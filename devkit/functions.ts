/**
 * Chainlink Functions on the agent network: the functions runtime agent (agents/functions), the
 * FunctionsRouterAdapter that Chainlink clients are constructed with, subscriptions, and secrets
 * sealed for one client contract. README "Coming from Chainlink Functions" walks through them.
 */
import { AbiCoder, encodeBytes32String, hexlify, toUtf8Bytes, type Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { sealForwardedInput } from "../protocol/confidential.js";
import type { FunctionsRouterAdapter } from "../types/ethers-contracts/index.js";
import { registerAgent, type RegisteredAgent } from "./agents.js";
import type { AgentNetwork } from "./contracts.js";
import { DevkitError, decodeErrorsWith, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** The functions runtime's entry: the agent a DON id routes Chainlink requests to. */
export const FUNCTIONS_AGENT_ENTRY = "agents/functions/index.ts";
/** The DON id `npm run local` and the test kit route to their functions agent. */
export const LOCAL_DON_NAME = "fun-phala-local-1";
/** Longest response delivered (Chainlink's is 256 bytes). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8_192;

export interface FunctionsSetup {
  adapter: FunctionsRouterAdapter;
  agent: RegisteredAgent;
  /** The DON id as bytes32, what clients pass to `_sendRequest`. */
  donId: string;
  donName: string;
}

export interface FunctionsSetupOptions {
  /** The functions runtime agent, when already registered (else it is registered here). */
  agent?: RegisteredAgent;
  /** Development workers' bundle store the runtime's bundle is copied into. */
  bundleStore?: string;
  /** Where workers fetch the bundle (https), when not from a store. */
  uri?: string;
  donName?: string;
  maxResponseBytes?: number;
  /** PHA wei paid to the runtime agent's owner per answered request (default 0). */
  price?: bigint;
}

/**
 * Registers the functions runtime agent (owned by the network's signer) unless given, deploys a
 * FunctionsRouterAdapter owned by the signer and routes `donName` to the agent.
 */
export async function setUpFunctions(connection: NetworkConnection, net: AgentNetwork, options: FunctionsSetupOptions = {}): Promise<FunctionsSetup> {
  const agent =
    options.agent ?? (await registerAgent(net, FUNCTIONS_AGENT_ENTRY, { bundleStore: options.bundleStore, uri: options.uri, price: options.price }));
  const owner = await net.signer.getAddress();
  const adapter = (await connection.ethers.deployContract(
    "FunctionsRouterAdapter",
    [await net.router.getAddress(), options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, owner],
    net.signer,
  )) as unknown as FunctionsRouterAdapter;
  await adapter.waitForDeployment();
  decodeErrorsWith(adapter.interface);
  const donName = options.donName ?? LOCAL_DON_NAME;
  const donId = encodeBytes32String(donName);
  await sendTx(`adapter.setDonAgent(${donName})`, () => adapter.setDonAgent(donId, agent.agentId));
  return { adapter, agent, donId, donName };
}

/** A FunctionsRouterAdapter handle bound to `signer`. */
export async function attachFunctionsAdapter(connection: NetworkConnection, address: string, signer: Signer): Promise<FunctionsRouterAdapter> {
  if ((await connection.ethers.provider.getCode(address)) === "0x") throw new DevkitError(`no FunctionsRouterAdapter at ${address}`);
  const adapter = (await connection.ethers.getContractAt("FunctionsRouterAdapter", address, signer)) as unknown as FunctionsRouterAdapter;
  decodeErrorsWith(adapter.interface);
  return adapter;
}

/**
 * Opens a subscription owned by the network's signer, funds it with `funding` PHA wei through
 * `pha.transferAndCall(adapter, amount, abi.encode(subscriptionId))` (LINK's way, with PHA) and adds
 * `consumers`. Returns the subscription id (its billing account id).
 */
export async function createSubscription(
  net: AgentNetwork,
  adapter: FunctionsRouterAdapter,
  options: { funding: bigint; consumers?: string[] },
): Promise<bigint> {
  const bound = adapter.connect(net.signer) as FunctionsRouterAdapter;
  const receipt = await sendTx("adapter.createSubscription", () => bound.createSubscription());
  const subscriptionId = eventIn(receipt, bound, "SubscriptionCreated").args.subscriptionId as bigint;
  if (options.funding > 0n) {
    const data = AbiCoder.defaultAbiCoder().encode(["uint64"], [subscriptionId]);
    await sendTx(`pha.transferAndCall(adapter, subscription ${subscriptionId})`, () =>
      net.pha.getFunction("transferAndCall(address,uint256,bytes)")(bound.target, options.funding, data),
    );
  }
  for (const consumer of options.consumers ?? []) {
    await sendTx(`adapter.addConsumer(${subscriptionId}, ${consumer})`, () => bound.addConsumer(subscriptionId, consumer));
  }
  return subscriptionId;
}

export interface FunctionsSecretsTarget {
  /** KeyRegistry's current epoch and its public key (`keyRegistry.currentEpoch()`, `publicKeyOf(epoch)`). */
  keyEpoch: number;
  clusterPublicKey: string;
  chainId: bigint | number;
  /** The FunctionsRouterAdapter the client sends through. */
  adapter: string;
  /** The functions agent its DON id routes to (`adapter.donAgent(donId)`). */
  agentId: bigint | number;
  /** The client contract that will send the request: only its requests open the secrets. */
  client: string;
  /** Optional: open only for this code of the functions agent (its registry code hash). */
  codeHash?: string;
}

/**
 * Chainlink's `secrets` object, sealed to the cluster key: the bytes a client passes as
 * `encryptedSecretsReference` (`req.addSecretsReference(...)`, Location.Remote). Only the functions
 * agent opens them, inside the TEE, in a request `client` sent through `adapter`; a copy of these
 * public bytes in anyone else's request does not open.
 */
export function sealFunctionsSecrets(secrets: Record<string, string>, target: FunctionsSecretsTarget): string {
  for (const [name, value] of Object.entries(secrets)) {
    if (typeof value !== "string") throw new DevkitError(`secret ${name} is not a string (Chainlink secrets are strings)`);
  }
  const sealed = sealForwardedInput(target.clusterPublicKey, target.keyEpoch, toUtf8Bytes(JSON.stringify(secrets)), {
    chainId: target.chainId,
    consumer: target.adapter,
    agentId: target.agentId,
    client: target.client.toLowerCase(),
    codeHash: target.codeHash,
  });
  return hexlify(sealed);
}
