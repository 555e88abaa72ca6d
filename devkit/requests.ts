import { getBytes, hexlify, type Log } from "ethers";
import { REQUEST_GAS_MARGIN, toAgentRequest, type AgentRequest } from "../protocol/request.js";
import { statusName } from "../protocol/status.js";
import { decode as abiDecode, encode as abiEncode, utf8Decode, type AbiValue } from "../worker/sdk/abi.js";
import type { AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

export interface RequestOptions {
  accountId: bigint;
  agentId: bigint;
  input: Uint8Array;
  /** Gas the router gives the consumer's callback (an EOA consumer needs none; default 100,000). */
  callbackGasLimit?: bigint;
  /** Most PHA wei the request may cost; default the router's estimateFee (the least it accepts now plus headroom for requests landing first; the unused part is refunded). */
  maxFee?: bigint;
}

export interface SentRequest {
  request: AgentRequest;
  txHash: string;
  blockNumber: number;
}

/** Sends a request from the network's signer (which must be a consumer of the account). */
export async function sendRequest(net: AgentNetwork, options: RequestOptions): Promise<SentRequest> {
  const callbackGasLimit = options.callbackGasLimit ?? 100_000n;
  const maxFee = options.maxFee ?? (await estimateFee(net, options.agentId, callbackGasLimit));
  const args = [options.accountId, options.agentId, options.input, 0, callbackGasLimit, maxFee] as const;
  const receipt = await sendTx("router.request", async () => {
    // The worker draw follows prevrandao, which differs between the estimate and the transaction.
    const gasLimit = (await net.router.request.estimateGas(...args)) + REQUEST_GAS_MARGIN;
    return net.router.request(...args, { gasLimit });
  });
  const event = eventIn(receipt, net.router, "AgentRequested");
  return { request: toAgentRequest(event.args.request.toObject()), txHash: receipt.hash, blockNumber: receipt.blockNumber };
}

async function estimateFee(net: AgentNetwork, agentId: bigint, callbackGasLimit: bigint): Promise<bigint> {
  try {
    return await net.router.estimateFee(agentId, callbackGasLimit);
  } catch (error) {
    const reverted = (error as { revert?: { name: string } }).revert?.name;
    if (reverted === "UnknownAgent") throw new DevkitError(`agent ${agentId} is not registered: \`npx hardhat agent:register <entry.ts>\``);
    throw error;
  }
}

export type RequestPhase = "pending" | "expired" | "fulfilled" | "timed out";

/** Everything known about one request, read from the chain. */
export interface RequestState {
  requestId: bigint;
  phase: RequestPhase;
  request: AgentRequest;
  input: string;
  requestedIn: { block: number; tx: string };
  /** Whether the consumer is a contract (an account sending requests itself gets no callback). */
  consumerIsContract: boolean;
  /** Chain time (unix s) of the latest block: `expired` means it passed the deadline unanswered. */
  chainTime: bigint;
  settledIn?: { block: number; tx: string };
  /** fulfilled: the signed status (0 = OK), its name, whether the consumer's callback succeeded. */
  status?: number;
  statusName?: string;
  callbackSucceeded?: boolean;
  /** fulfilled: the answer's bytes, when the settling transaction called the router directly. */
  output?: string;
  outputHash?: string;
  totalFee?: bigint;
  refund?: bigint;
}

/**
 * A request's state from the router's events and views: pending (before the deadline), expired
 * (past it, awaiting timeout), fulfilled (with the answer), or timed out (refunded).
 */
export async function requestState(net: AgentNetwork, requestId: bigint, fromBlock = 0): Promise<RequestState> {
  const router = net.router;
  const [requested] = await router.queryFilter(router.filters.AgentRequested(requestId), fromBlock);
  if (requested === undefined) {
    const count = await router.requestCount();
    throw new DevkitError(
      requestId > count || requestId === 0n
        ? `request ${requestId} does not exist (the router has made ${count})`
        : `request ${requestId}'s AgentRequested event is not in blocks ${fromBlock}..latest`,
    );
  }
  const provider = router.runner!.provider!;
  const latest = await provider.getBlock("latest");
  const event = router.interface.parseLog(requested)!;
  const request = toAgentRequest(event.args.request.toObject());
  const state: RequestState = {
    requestId,
    phase: "pending",
    request,
    consumerIsContract: (await provider.getCode(request.consumer)) !== "0x",
    input: event.args.input as string,
    requestedIn: { block: requested.blockNumber, tx: requested.transactionHash },
    chainTime: BigInt(latest!.timestamp),
  };
  if (await router.isPending(requestId)) {
    if (state.chainTime > state.request.deadline) state.phase = "expired";
    return state;
  }
  const [fulfilled] = await router.queryFilter(router.filters.RequestFulfilled(requestId), requested.blockNumber);
  if (fulfilled !== undefined) {
    const args = router.interface.parseLog(fulfilled)!.args;
    Object.assign(state, {
      phase: "fulfilled",
      settledIn: { block: fulfilled.blockNumber, tx: fulfilled.transactionHash },
      status: Number(args.status),
      statusName: statusName(Number(args.status)),
      callbackSucceeded: args.callbackSucceeded as boolean,
      outputHash: args.outputHash as string,
      totalFee: args.totalFee as bigint,
      refund: args.refund as bigint,
      output: await outputOf(net, requestId, fulfilled),
    });
    return state;
  }
  const [timedOut] = await router.queryFilter(router.filters.RequestTimedOut(requestId), requested.blockNumber);
  if (timedOut !== undefined) {
    const args = router.interface.parseLog(timedOut)!.args;
    Object.assign(state, { phase: "timed out", settledIn: { block: timedOut.blockNumber, tx: timedOut.transactionHash }, refund: args.refund as bigint });
  }
  return state;
}

/** The answer's bytes, from the calldata of the fulfil / fulfilBatch transaction that settled it. */
async function outputOf(net: AgentNetwork, requestId: bigint, settled: Log): Promise<string | undefined> {
  const tx = await net.router.runner!.provider!.getTransaction(settled.transactionHash);
  if (tx === null || tx.to?.toLowerCase() !== String(net.router.target).toLowerCase()) return undefined;
  const call = net.router.interface.parseTransaction({ data: tx.data });
  const entries = call?.name === "fulfill" ? [call.args[0]] : call?.name === "fulfillBatch" ? [...call.args[0]] : [];
  const entry = entries.find((f: { request: { id: bigint } }) => f.request.id === requestId) as { output: string } | undefined;
  return entry?.output;
}

/** Polls until the request is fulfilled or timed out; `onWait` hears why it still waits. */
export async function waitForSettlement(
  net: AgentNetwork,
  requestId: bigint,
  options: { timeoutMs: number; pollMs?: number; fromBlock?: number; onWait?: (state: RequestState) => void },
): Promise<RequestState> {
  const started = Date.now();
  for (;;) {
    const state = await requestState(net, requestId, options.fromBlock ?? 0);
    if (state.phase === "fulfilled" || state.phase === "timed out") return state;
    options.onWait?.(state);
    if (Date.now() - started > options.timeoutMs) {
      throw new DevkitError(
        `request ${requestId} is still ${state.phase} after ${Math.round(options.timeoutMs / 1000)} s ` +
          `(worker ${state.request.worker}). Is a bridge relaying to it? \`npx hardhat request:status ${requestId}\` shows it later.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

/**
 * An agent's output for people: ABI-decoded when `abiTypes` ("int256,string") is given, UTF-8 text
 * when it is printable text, else hex.
 */
export function formatOutput(output: string | Uint8Array, abiTypes?: string): string {
  const bytes = typeof output === "string" ? getBytes(output) : output;
  if (abiTypes !== undefined && abiTypes.trim() !== "") {
    const types = splitTypes(abiTypes);
    try {
      const values = abiDecode(types, bytes);
      return JSON.stringify(values, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
    } catch (error) {
      throw new DevkitError(`the output does not decode as (${types.join(",")}): ${(error as Error).message}; raw ${hexlify(bytes)}`);
    }
  }
  const text = utf8Decode(bytes);
  // Printable: no replacement characters and no control characters other than tab and newlines.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return bytes.length > 0 && !/[\ufffd\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text) ? text : hexlify(bytes);
}

/** "uint256, (string,bool)[]" -> ["uint256", "(string,bool)[]"]: splits at top-level commas. */
export function splitTypes(list: string): string[] {
  const types: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of list) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      types.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (current.trim() !== "") types.push(current.trim());
  return types;
}

/** A unix deadline for people: ISO time and how far it is from chain time. */
export function formatDeadline(deadline: bigint, chainTime: bigint): string {
  const delta = Number(deadline - chainTime);
  const relative = delta >= 0 ? `in ${delta} s` : `${-delta} s ago`;
  return `${new Date(Number(deadline) * 1000).toISOString()} (${relative}, chain time)`;
}

/** The input options of the CLI tasks: text, 0x-hex bytes, or ABI types with a JSON array of values. */
export interface InputArgs {
  input?: string;
  inputHex?: string;
  inputTypes?: string;
  inputValues?: string;
}

/** Reads and validates the input options: exactly one form, or none for an empty input. */
export function inputBytes(args: InputArgs): Uint8Array {
  const given = [args.input, args.inputHex, args.inputTypes].filter((v) => v !== undefined).length;
  if (given > 1) throw new DevkitError("give one of --input, --input-hex or --input-types/--input-values");
  if (args.inputHex !== undefined) {
    if (!/^0x([0-9a-fA-F]{2})*$/.test(args.inputHex)) throw new DevkitError("--input-hex must be 0x-prefixed even-length hex");
    return getBytes(args.inputHex);
  }
  if (args.inputTypes !== undefined) {
    let values: unknown;
    try {
      values = JSON.parse(args.inputValues ?? "");
    } catch {
      throw new DevkitError(`--input-values must be a JSON array of values for (${args.inputTypes}), e.g. '["some text", "42"]'`);
    }
    try {
      return abiEncode(splitTypes(args.inputTypes), values as AbiValue[]);
    } catch (error) {
      throw new DevkitError(`--input-types/--input-values: ${(error as Error).message}`);
    }
  }
  if (args.inputValues !== undefined) throw new DevkitError("--input-values needs --input-types");
  return new TextEncoder().encode(args.input ?? "");
}
