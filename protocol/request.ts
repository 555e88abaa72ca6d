import { AbiCoder, keccak256 } from "ethers";

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
}

export const AGENT_REQUEST_TUPLE =
  "tuple(uint256 id,uint256 agentId,address consumer,uint64 accountId,address worker,uint32 agentVersion,uint32 keyEpoch,uint32 callbackGasLimit,address agentOwner,uint96 agentPrice,uint96 maxFee,uint64 deadline,bytes32 codeHash,bytes32 inputHash)";

const FIELDS: (keyof AgentRequest)[] = [
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
];

/** keccak256(abi.encode(request)): the commitment the router stores and the worker signs. */
export function requestHash(request: AgentRequest): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode([AGENT_REQUEST_TUPLE], [FIELDS.map((f) => request[f])]));
}

/** Converts an ethers Result / plain object (numbers as bigint, number or decimal string) into an AgentRequest. */
export function toAgentRequest(value: Record<string, unknown>): AgentRequest {
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
  };
}

/** JSON form (numbers as decimal strings) for HTTP between bridge and worker. */
export function agentRequestToJson(request: AgentRequest): Record<keyof AgentRequest, string> {
  return Object.fromEntries(FIELDS.map((f) => [f, String(request[f])])) as Record<keyof AgentRequest, string>;
}
