import { getAddress, keccak256, verifyTypedData } from "ethers";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";
import { InvalidWorkerAnswerError } from "./errors.js";
import type { RequestRecord } from "./store/store.js";

const TYPES = { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] };

/**
 * Checks a worker's answer the way the router will: same request, output hash of the output,
 * and an EIP-712 signature by the request's assigned worker. Only answers that pass are stored
 * as `signed`, so no gas is ever spent on one the router would reject for its signature.
 */
export class AnswerVerifier {
  private readonly domain;

  constructor(chainId: bigint, router: string) {
    this.domain = routerDomain(chainId, router);
  }

  verify(record: RequestRecord, answer: ExecuteResponse, endpoint: string): void {
    const fail = (why: string) => {
      throw new InvalidWorkerAnswerError(`answer for request ${record.id} from ${endpoint} rejected: ${why}`, endpoint);
    };
    if (BigInt(answer.requestId) !== record.id) fail(`answers request ${answer.requestId}`);
    if (answer.requestHash.toLowerCase() !== record.requestHash.toLowerCase()) fail("request hash differs from the on-chain request");
    if (keccak256(answer.output).toLowerCase() !== answer.outputHash.toLowerCase()) fail("outputHash is not keccak256(output)");
    const worker = getAddress(record.request.worker);
    let signer: string;
    try {
      signer = verifyTypedData(
        this.domain,
        TYPES,
        {
          requestId: record.id,
          requestHash: record.requestHash,
          outputHash: answer.outputHash,
          status: answer.status,
          subAgentIds: answer.subAgentIds.map(BigInt),
          worker,
        },
        answer.signature,
      );
    } catch (error) {
      return fail(`malformed signature (${(error as Error).message})`);
    }
    if (signer !== worker) fail(`signed by ${signer}, but the request is assigned to ${worker}`);
  }
}
