import { Contract, JsonRpcProvider, type ContractRunner, type Provider } from "ethers";
import type { AgentRequest } from "../../protocol/request.js";
import { RequestRejected } from "./errors.js";

/** Whether a request is pending on the router this worker serves, as the chain says. */
export interface RequestCommitments {
  /** The router whose requests this worker executes. */
  readonly router: string;
  /**
   * Resolves when `keccak256(abi.encode(request)) == router.commitmentOf(request.id)`; otherwise
   * throws RequestRejected: REQUEST_NOT_PENDING (409, final) or REQUEST_NOT_VISIBLE /
   * CHAIN_UNAVAILABLE (503, retry later).
   */
  requirePending(request: AgentRequest, requestHash: string): Promise<void>;
}

export const ROUTER_COMMITMENT_ABI = [
  "function commitmentOf(uint256 requestId) view returns (bytes32)",
  "function requestCount() view returns (uint64)",
] as const;

const ZERO = `0x${"00".repeat(32)}`;
/** Verified commitments remembered (by request hash) so retries and duplicates cost no RPC call. */
const CACHE_ENTRIES = 4096;

/**
 * Reads the router's stored commitments through the worker's own RPC. Anyone can POST a request,
 * so the worker executes, signs and stores an answer only for one the chain committed to: made-up
 * requests (junk under future ids, free runs of priced agents, another agent version around a
 * copied ciphertext) are refused before anything runs. A request the RPC does not show yet (id
 * above `requestCount()` at the block read) is "not visible": the RPC lags or the id does not
 * exist yet, so the refusal is retryable. A zero commitment under an id already issued means the
 * request was settled or timed out, and another non-zero commitment means a different request:
 * both final.
 */
export class ChainRequestCommitments implements RequestCommitments {
  readonly #router: Contract;
  readonly #provider: Provider;
  /** requestHash → deadline (unix s) of requests seen pending. */
  readonly #verified = new Map<string, number>();

  constructor(
    rpc: string | ContractRunner,
    readonly router: string,
    private readonly clock: () => number = Date.now,
  ) {
    const runner = typeof rpc === "string" ? new JsonRpcProvider(rpc, undefined, { staticNetwork: true }) : rpc;
    if (runner.provider === null || runner.provider === undefined) throw new TypeError("commitment reader needs a provider");
    this.#provider = runner.provider;
    this.#router = new Contract(router, ROUTER_COMMITMENT_ABI, runner);
  }

  async requirePending(request: AgentRequest, requestHash: string): Promise<void> {
    const key = requestHash.toLowerCase();
    const known = this.#verified.get(key);
    if (known !== undefined && known * 1000 >= this.clock()) return;
    let commitment: string;
    let count: bigint;
    try {
      // Both reads at one block, so "not issued yet" and "no longer pending" cannot be confused.
      const blockTag = await this.#provider.getBlockNumber();
      [commitment, count] = (await Promise.all([
        this.#router.getFunction("commitmentOf").staticCall(request.id, { blockTag }),
        this.#router.getFunction("requestCount").staticCall({ blockTag }),
      ])) as [string, bigint];
    } catch {
      throw new RequestRejected(503, "CHAIN_UNAVAILABLE", "cannot read the router's commitment; retry later");
    }
    if (commitment.toLowerCase() === key) {
      this.#remember(key, Number(request.deadline));
      return;
    }
    if (commitment === ZERO && request.id > count) {
      throw new RequestRejected(503, "REQUEST_NOT_VISIBLE", `request ${request.id} is not on the chain this worker reads yet; retry later`);
    }
    throw new RequestRejected(
      409,
      "REQUEST_NOT_PENDING",
      commitment === ZERO
        ? `request ${request.id} is not pending on the router (settled, timed out or cancelled)`
        : `request ${request.id} differs from the request the router committed to`,
    );
  }

  #remember(key: string, deadline: number): void {
    if (this.#verified.size >= CACHE_ENTRIES) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(key, deadline);
  }
}
