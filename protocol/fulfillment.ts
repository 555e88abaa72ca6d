import { TypedDataEncoder, id, type TypedDataDomain } from "ethers";
import { WORD_HEX, keccakHex, uintWord } from "./abi-words.js";

/** EIP-712 domain of the AgentRouter (name/version are fixed in the contract). */
export function routerDomain(chainId: bigint | number, router: string): TypedDataDomain {
  return { name: "AgentRouter", version: "1", chainId, verifyingContract: router };
}

/** The struct a worker's enclave key signs; must match AgentRouter.FULFILLMENT_TYPEHASH. */
export const FULFILLMENT_TYPES = {
  Fulfillment: [
    { name: "requestId", type: "uint256" },
    { name: "requestHash", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "status", type: "uint16" },
    { name: "subAgentIds", type: "uint256[]" },
    { name: "subAgentPrices", type: "uint96[]" },
    { name: "worker", type: "address" },
  ],
} as const;

export interface FulfillmentMessage {
  requestId: bigint;
  requestHash: string;
  outputHash: string;
  status: number;
  subAgentIds: bigint[];
  /** The price the worker budgeted for each call in `subAgentIds`: the most the router pays the callee. */
  subAgentPrices: bigint[];
  worker: string;
}

export function fulfillmentDigest(domain: TypedDataDomain, message: FulfillmentMessage): string {
  return TypedDataEncoder.hash(domain, { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message);
}

const FULFILLMENT_TYPEHASH = id(
  "Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker)",
).slice(2);
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const MAX_UINT96 = (1n << 96n) - 1n;

function uint96Word(value: bigint): string {
  if (value > MAX_UINT96) throw new RangeError(`sub-agent price ${value} is not a uint96`);
  return uintWord(value);
}

function bytes32Word(value: string, name: string): string {
  if (!BYTES32.test(value)) throw new TypeError(`${name} is not a 0x-prefixed bytes32`);
  return value.slice(2);
}

/**
 * The EIP-712 digest of Fulfillment messages under one router domain, hashed by hand: same result
 * as {@link fulfillmentDigest} (tested), ~50x faster, because the bridge hashes every answer it
 * relays and ethers' generic TypedDataEncoder re-parses the types each time.
 */
export class FulfillmentDigester {
  private readonly prefix: string;

  constructor(domain: TypedDataDomain) {
    this.prefix = `1901${TypedDataEncoder.hashDomain(domain).slice(2)}`;
  }

  digest(message: FulfillmentMessage): Uint8Array {
    if (!ADDRESS.test(message.worker)) throw new TypeError("worker is not a 0x-prefixed address");
    if (!Number.isInteger(message.status) || message.status < 0 || message.status > 0xffff) throw new RangeError(`status ${message.status} is not a uint16`);
    const subAgents = keccakHex(message.subAgentIds.map(uintWord).join(""));
    const subAgentPrices = keccakHex(message.subAgentPrices.map(uint96Word).join(""));
    const struct = keccakHex(
      FULFILLMENT_TYPEHASH +
        uintWord(message.requestId) +
        bytes32Word(message.requestHash, "requestHash") +
        bytes32Word(message.outputHash, "outputHash") +
        uintWord(message.status) +
        subAgents +
        subAgentPrices +
        message.worker.slice(2).toLowerCase().padStart(WORD_HEX, "0"),
    );
    return Buffer.from(keccakHex(this.prefix + struct), "hex");
  }
}
