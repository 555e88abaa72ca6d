import { TypedDataEncoder, type TypedDataDomain } from "ethers";

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
    { name: "worker", type: "address" },
  ],
} as const;

export interface FulfillmentMessage {
  requestId: bigint;
  requestHash: string;
  outputHash: string;
  status: number;
  subAgentIds: bigint[];
  worker: string;
}

export function fulfillmentDigest(domain: TypedDataDomain, message: FulfillmentMessage): string {
  return TypedDataEncoder.hash(domain, { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message);
}
