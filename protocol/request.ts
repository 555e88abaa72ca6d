import { WORD_HEX, keccakHex, uintWord } from "./abi-words.js";

/** The on-chain AgentRequest struct (contracts/interfaces/IAgentRouter.sol), with bigint numbers. */
export interface AgentRequest {
  id: bigint;
  agentId: bigint;
  consumer: string;
  accountId: bigint;
  worker: string;
  agentVersion: bigint;
  keyEpoch: bigint;
  callbackGasLimit: bigint;
  agentOwner: string;
  agentPrice: bigint;
  maxFee: bigint;
  deadline: bigint;
  codeHash: string;
  inputHash: string;
  /** The router config version whose fee terms the request settles on. */
  configVersion: bigint;
  /** Relay capacity fee priced at request time, part of maxFee: paid with the answer, refunded on a timeout. */
  capacityFee: bigint;
}

/** AgentRequest's fields in struct (ABI) order. */
export const AGENT_REQUEST_FIELDS: readonly (keyof AgentRequest)[] = [
  "id",
  "agentId",
  "consumer",
  "accountId",
  "worker",
  "agentVersion",
  "keyEpoch",
  "callbackGasLimit",
  "agentOwner",
  "agentPrice",
  "maxFee",
  "deadline",
  "codeHash",
  "inputHash",
  "configVersion",
  "capacityFee",
];

/**
 * abi.encode(request) as hex without 0x: the struct is static, so its encoding is its 16 fields as
 * 32-byte words. Built by hand because the bridge and the worker encode every request they handle.
 */
export function encodeAgentRequest(request: AgentRequest): string {
  return AGENT_REQUEST_FIELDS.map((field) => {
    const value = request[field];
    if (typeof value === "bigint") return uintWord(value);
    if (!/^0x[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$/.test(value)) throw new TypeError(`request.${field} is not an address or bytes32`);
    return value.slice(2).toLowerCase().padStart(WORD_HEX, "0");
  }).join("");
}

/** keccak256(abi.encode(request)): the commitment the router stores and the worker signs. */
export function requestHash(request: AgentRequest): string {
  return `0x${keccakHex(encodeAgentRequest(request))}`;
}

/** Converts an ethers Result / plain object (numbers as bigint, number or decimal string) into an AgentRequest. */
export function toAgentRequest(value: Record<string, unknown>): AgentRequest {
  // A missing field would hash to another request; say which (a request of an older router format, say).
  const missing = AGENT_REQUEST_FIELDS.find((f) => value[f] === undefined || value[f] === null);
  if (missing !== undefined) throw new TypeError(`request.${missing} is missing`);
  const big = (k: keyof AgentRequest) => BigInt(value[k] as bigint | number | string);
  const str = (k: keyof AgentRequest) => String(value[k]);
  return {
    id: big("id"),
    agentId: big("agentId"),
    consumer: str("consumer"),
    accountId: big("accountId"),
    worker: str("worker"),
    agentVersion: big("agentVersion"),
    keyEpoch: big("keyEpoch"),
    callbackGasLimit: big("callbackGasLimit"),
    agentOwner: str("agentOwner"),
    agentPrice: big("agentPrice"),
    maxFee: big("maxFee"),
    deadline: big("deadline"),
    codeHash: str("codeHash"),
    inputHash: str("inputHash"),
    configVersion: big("configVersion"),
    capacityFee: big("capacityFee"),
  };
}

/** JSON form (numbers as decimal strings) for HTTP between bridge and worker. */
export function agentRequestToJson(request: AgentRequest): Record<keyof AgentRequest, string> {
  return Object.fromEntries(AGENT_REQUEST_FIELDS.map((f) => [f, String(request[f])])) as Record<keyof AgentRequest, string>;
}

/**
 * Gas to add to `eth_estimateGas` when sending AgentRouter.request, directly or through a consumer.
 * The estimate runs under the pending block's prevrandao, the transaction under its own, and the
 * worker draw follows prevrandao: execution may need up to 7 more draws (an ineligible worker each)
 * than the estimate did, ~18,700 gas apiece (the staking hub's draw also reads the worker's record to
 * skip an expired attestation), plus slack for the sampling walk (docs/ARCHITECTURE.md,
 * "Gas limit of request").
 */
export const REQUEST_GAS_MARGIN = 140_000n;
