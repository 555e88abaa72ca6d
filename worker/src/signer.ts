import { hexlify, keccak256 } from "ethers";
import { FULFILLMENT_TYPES, routerDomain, type FulfillmentMessage } from "../../protocol/fulfillment.js";
import type { AgentRequest } from "../../protocol/request.js";
import { statusName } from "../../protocol/status.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";
import type { Enclave } from "./enclave/enclave.js";
import type { ExecutionResult } from "./executor.js";

/** Signs results as the EIP-712 Fulfillment the AgentRouter verifies, with the enclave key. */
export class FulfillmentSigner {
  constructor(private readonly enclave: Enclave) {}

  async sign(chainId: bigint, router: string, request: AgentRequest, requestHash: string, result: ExecutionResult): Promise<ExecuteResponse> {
    const outputHash = keccak256(result.output);
    const message: FulfillmentMessage = {
      requestId: request.id,
      requestHash,
      outputHash,
      status: result.status,
      subAgentIds: result.subAgentIds,
      subAgentPrices: result.subAgentPrices,
      worker: this.enclave.address,
    };
    const signature = await this.enclave.signTypedData(
      routerDomain(chainId, router),
      { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] },
      message as unknown as Record<string, unknown>,
    );
    return {
      simulated: this.enclave.simulated,
      worker: this.enclave.address,
      requestId: request.id.toString(),
      requestHash,
      status: result.status,
      statusName: statusName(result.status),
      output: hexlify(result.output),
      outputHash,
      subAgentIds: result.subAgentIds.map(String),
      subAgentPrices: result.subAgentPrices.map(String),
      signature,
    };
  }
}
