import { keccakHex } from "../../protocol/abi-words.js";
import { ecrecover } from "../../protocol/ecrecover.js";
import { FulfillmentDigester, routerDomain } from "../../protocol/fulfillment.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";
import { InvalidWorkerAnswerError } from "./errors.js";
import type { RequestRecord } from "./store/store.js";

/**
 * Checks a worker's answer the way the router will: same request, output hash of the output,
 * and an EIP-712 signature by the worker it was dispatched to (the assigned one, or its backup) under the router's acceptance rules
 * (protocol/ecrecover.ts). Only answers that pass are stored as `signed`, so no gas is ever spent
 * on one the router would reject for its signature.
 */
export class AnswerVerifier {
  private readonly digester;

  constructor(chainId: bigint, router: string) {
    this.digester = new FulfillmentDigester(routerDomain(chainId, router));
  }

  verify(record: RequestRecord, answer: ExecuteResponse, endpoint: string): void {
    const fail = (why: string): never => {
      throw new InvalidWorkerAnswerError(`answer for request ${record.id} from ${endpoint} rejected`, endpoint, { details: why });
    };
    if (BigInt(answer.requestId) !== record.id) fail(`answers request ${answer.requestId}`);
    if (answer.requestHash.toLowerCase() !== record.requestHash.toLowerCase()) fail("request hash differs from the on-chain request");
    const outputHash = `0x${keccakHex(answer.output)}`;
    if (answer.subAgentPrices.length !== answer.subAgentIds.length) fail("subAgentPrices does not match subAgentIds");
    if (outputHash !== answer.outputHash.toLowerCase()) fail("outputHash is not keccak256(output)");
    // The primary, or the backup the request was dispatched to: each signs with `worker` = itself.
    const worker = record.assignee.toLowerCase();
    let digest: Uint8Array;
    try {
      digest = this.digester.digest({
        requestId: record.id,
        requestHash: record.requestHash,
        outputHash,
        status: answer.status,
        subAgentIds: answer.subAgentIds.map(BigInt),
        subAgentPrices: answer.subAgentPrices.map(BigInt),
        worker,
      });
    } catch (error) {
      return fail(`malformed answer (${(error as Error).message})`);
    }
    const recovered = ecrecover(digest, answer.signature);
    if ("error" in recovered) fail(`malformed signature (${recovered.error})`);
    else if (recovered.signer !== worker)
      fail(`signed by ${recovered.signer}, but the request is ${record.rank > 0 ? `handed over to backup ${record.rank},` : "assigned to"} ${worker}`);
  }
}
