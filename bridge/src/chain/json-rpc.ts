import { isHex, type Hex } from "../../../protocol/hex.js";
import { RpcError, errorMessage } from "../errors.js";

interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

interface RpcAnswer {
  id: number;
  result?: unknown;
  error?: RpcErrorObject;
}

/** JSON-RPC error codes a node answers a reverted eth_call / eth_estimateGas with. */
const REVERT_CODES: ReadonlySet<number> = new Set([
  3, // EIP-1474 "execution reverted" with the revert data: geth, anvil, Hardhat, Erigon, Besu
  -32015, // "VM execution error", data "Reverted 0x...": Nethermind, OpenEthereum
]);
const PREVIEW_CHARS = 200;
/** JSON-RPC codes that mean "not processed this time" (internal error, limit exceeded, resource unavailable): asked once more. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([-32603, -32005, -32002]);
const MAX_TRIES = 3;

/**
 * JSON-RPC over native fetch, one HTTP request per call or batch. Not ethers' provider: its
 * byte-by-byte body decoding allocated ~25 KB per log in large eth_getLogs answers. Every failure is
 * an RpcError that says whether the node answered (`rpcCode`, `data`) or not (`transport`).
 *
 * Every call is hedged: a call without an answer after `hedgeMs` is sent again, and every try that
 * fails without an answer (gateway error, dropped connection) is replaced at once, up to
 * MAX_TRIES; the first answer wins. A call answered with a transient JSON-RPC error is asked once
 * more. One hung or dropped connection then costs a loop `hedgeMs`, not `timeoutMs`. Everything
 * the bridge sends is safe to repeat: reads, and signed transactions (a node that has one answers
 * "already known").
 */
export class JsonRpc {
  private nextId = 0;
  /** The URL's origin, named in every RpcError: its path, query and credentials may hold an API key. */
  readonly endpoint: string;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly hedgeMs: number = timeoutMs,
  ) {
    this.endpoint = new URL(url).origin;
  }

  private post(method: string, body: unknown): Promise<unknown> {
    const text = JSON.stringify(body);
    if (this.hedgeMs >= this.timeoutMs) return this.once(method, text, new AbortController().signal);
    return new Promise((resolve, reject) => {
      const controllers: AbortController[] = [];
      let done = false;
      let failed = 0;
      const hedge = setTimeout(() => launch(), this.hedgeMs);
      const finish = () => {
        done = true;
        clearTimeout(hedge);
        for (const c of controllers) c.abort();
      };
      const launch = () => {
        if (done || controllers.length >= MAX_TRIES) return;
        const controller = new AbortController();
        controllers.push(controller);
        this.once(method, text, controller.signal).then(
          (value) => {
            if (done) return;
            finish();
            resolve(value);
          },
          (error: unknown) => {
            if (done) return;
            failed++;
            if (controllers.length < MAX_TRIES) launch();
            else if (failed === controllers.length) {
              finish();
              reject(error);
            }
          },
        );
      };
      launch();
    });
  }

  private async once(method: string, body: string, abort: AbortSignal): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.any([abort, AbortSignal.timeout(this.timeoutMs)]),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      throw new RpcError(
        method,
        { transport: true, endpoint: this.endpoint },
        { details: timedOut ? `no answer within ${this.timeoutMs} ms` : errorMessage(error), cause: error },
      );
    }
    if (!response.ok)
      throw new RpcError(method, { transport: true, endpoint: this.endpoint }, { details: `HTTP ${response.status}: ${text.slice(0, PREVIEW_CHARS)}` });
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new RpcError(
        method,
        { transport: true, endpoint: this.endpoint },
        { details: `answer is not JSON: ${text.slice(0, PREVIEW_CHARS)}`, cause: error },
      );
    }
  }

  private static failure(method: string, error: RpcErrorObject, endpoint: string): RpcError {
    return new RpcError(method, { transport: false, rpcCode: error.code, data: error.data, endpoint }, { details: error.message });
  }

  async call<T>(method: string, params: unknown[]): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const answer = (await this.post(method, { jsonrpc: "2.0", id: ++this.nextId, method, params })) as RpcAnswer;
      if (typeof answer !== "object" || answer === null)
        throw new RpcError(method, { transport: true, endpoint: this.endpoint }, { details: "answer is not a JSON-RPC object" });
      if (!answer.error) return answer.result as T;
      if (attempt > 1 || !TRANSIENT_CODES.has(answer.error.code)) throw JsonRpc.failure(method, answer.error, this.endpoint);
    }
  }

  /**
   * Several calls in one HTTP request (a load balancer serves them from one node, so their answers
   * describe one view of the chain). A per-call failure is an RpcError entry; a failure of the whole
   * request throws.
   */
  async batch(calls: { method: string; params: unknown[] }[]): Promise<(unknown | RpcError)[]> {
    if (calls.length === 0) return [];
    const first = this.nextId + 1;
    this.nextId += calls.length;
    const label = calls.length === 1 ? calls[0]!.method : `batch of ${calls.length} (${calls[0]!.method}, ...)`;
    const body = (await this.post(
      label,
      calls.map((call, i) => ({ jsonrpc: "2.0", id: first + i, ...call })),
    )) as RpcAnswer[];
    if (!Array.isArray(body)) throw new RpcError(label, { transport: true, endpoint: this.endpoint }, { details: "node does not support JSON-RPC batches" });
    const byId = new Map(body.map((entry) => [entry.id, entry]));
    return calls.map((call, i) => {
      const entry = byId.get(first + i);
      if (!entry) return new RpcError(call.method, { transport: true, endpoint: this.endpoint }, { details: "missing answer in batch" });
      return entry.error ? JsonRpc.failure(call.method, entry.error, this.endpoint) : entry.result;
    });
  }
}

/**
 * The revert data of a failed call, or undefined when the failure is not a revert. Decided by the
 * node's JSON-RPC error code, never by its message text, which differs between clients.
 */
export function revertData(error: unknown): Hex | undefined {
  if (!(error instanceof RpcError) || error.rpcCode === undefined || !REVERT_CODES.has(error.rpcCode)) return undefined;
  const data = error.failure.data;
  if (isHex(data)) return data;
  // Nethermind / OpenEthereum: "Reverted 0x..."; a revert whose data the node did not return at all: "0x".
  const embedded = typeof data === "string" ? /0x(?:[0-9a-fA-F]{2})*/.exec(data)?.[0] : undefined;
  return isHex(embedded) ? embedded : "0x";
}
