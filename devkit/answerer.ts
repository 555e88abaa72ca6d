import { getBytes, hexlify, type Signer } from "ethers";
import { agentRequestToJson, toAgentRequest } from "../protocol/request.js";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunningWorker } from "../worker/src/app.js";
import { RequestRejected } from "../worker/src/errors.js";
import type { AgentNetwork } from "./contracts.js";
import { DevkitError, sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** One request answered and settled on-chain. */
export interface Answer {
  requestId: bigint;
  agentId: bigint;
  consumer: string;
  status: number;
  statusName: string;
  /** The agent's output (status 0) or the error message, 0x-hex. */
  output: string;
  /** The output as UTF-8 text (error messages, text answers). */
  text: string;
  callbackSucceeded: boolean;
  txHash: string;
}

/**
 * Does what the bridge does, in-process and on demand: finds the router's pending requests since
 * `fromBlock`, has the assigned worker (one of `workers`) execute and sign each, and settles the
 * answers with `fulfill` from `relayer`. Requests past their deadline are left for
 * {@link timeOutExpired}; a request assigned to a worker not in `workers` is an error.
 */
export async function answerPending(net: AgentNetwork, workers: RunningWorker[], relayer: Signer, fromBlock: number): Promise<Answer[]> {
  const router = net.router.connect(relayer);
  const provider = net.router.runner!.provider!;
  const { chainId } = await provider.getNetwork();
  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  const answers: Answer[] = [];
  for (const log of await net.router.queryFilter(net.router.filters.AgentRequested(), fromBlock)) {
    const { request: raw, input } = net.router.interface.parseLog(log)!.args;
    const request = toAgentRequest(raw.toObject());
    if (!(await net.router.isPending(request.id)) || request.deadline <= now) continue;
    const worker = workers.find((w) => w.enclave.address.toLowerCase() === request.worker.toLowerCase());
    if (worker === undefined) {
      throw new DevkitError(`request ${request.id} is assigned to worker ${request.worker}, whose enclave key this test kit does not hold`);
    }
    const signed = await executeWhenVisible(worker, {
      chainId: chainId.toString(),
      router: String(net.router.target),
      request: agentRequestToJson(request),
      input: input as string,
    });
    // The struct goes back as the event carried it, so the kit follows the router's format.
    const receipt = await sendTx(`router.fulfill(${request.id})`, () =>
      router.fulfill({
        request: raw.toObject(),
        status: signed.status,
        output: signed.output,
        subAgentIds: signed.subAgentIds,
        subAgentPrices: signed.subAgentPrices,
        signature: signed.signature,
      }),
    );
    const settled = eventIn(receipt, net.router, "RequestFulfilled").args;
    answers.push({
      requestId: request.id,
      agentId: request.agentId,
      consumer: request.consumer,
      status: signed.status,
      statusName: signed.statusName,
      output: hexlify(signed.output),
      text: new TextDecoder().decode(getBytes(signed.output)),
      callbackSucceeded: settled.callbackSucceeded as boolean,
      txHash: receipt.hash,
    });
  }
  return answers;
}

/**
 * The worker refuses, as retryable (503), a request it cannot see on the chain yet: it caches the
 * router's request count for 100 ms so made-up future ids cannot flood its RPC, and a test answers
 * right after requesting. Retried as the bridge retries, for up to ~2 s.
 */
async function executeWhenVisible(worker: RunningWorker, body: Parameters<RunningWorker["service"]["execute"]>[0]) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await worker.service.execute(body);
    } catch (error) {
      if (!(error instanceof RequestRejected) || error.httpStatus !== 503 || attempt >= 20) throw error;
      await sleep(100);
    }
  }
}

/** Calls `timeout` (refund + slash) for every pending request past its deadline, as the bridge's sweep does. */
export async function timeOutExpired(net: AgentNetwork, caller: Signer, fromBlock: number): Promise<bigint[]> {
  const router = net.router.connect(caller);
  const now = BigInt((await net.router.runner!.provider!.getBlock("latest"))!.timestamp);
  const timedOut: bigint[] = [];
  for (const log of await net.router.queryFilter(net.router.filters.AgentRequested(), fromBlock)) {
    const raw = net.router.interface.parseLog(log)!.args.request;
    const request = toAgentRequest(raw.toObject());
    if (request.deadline >= now || !(await net.router.isPending(request.id))) continue;
    await sendTx(`router.timeout(${request.id})`, () => router.timeout(raw.toObject()));
    timedOut.push(request.id);
  }
  return timedOut;
}
