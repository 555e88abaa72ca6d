import { Contract, JsonRpcProvider, Network, isCallException, type ContractRunner, type Provider } from "ethers";
import type { AgentRequest } from "../../protocol/request.js";
import { AgentRouter__factory } from "../../types/ethers-contracts/factories/core/AgentRouter__factory.js";
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
  /**
   * Resolves when `router.backupWorker(request, rank)` is `worker` and its window is open at the
   * chain time of the RPC's latest block (call after requirePending); otherwise throws
   * RequestRejected: NOT_BACKUP / REQUEST_NOT_PENDING (409, final), BACKUP_WINDOW_NOT_OPEN (425,
   * retry at the window) or CHAIN_UNAVAILABLE (503).
   */
  requireBackup(request: AgentRequest, requestHash: string, rank: bigint, worker: string): Promise<void>;
  /** Whether the chain answers the worker's reads within `timeoutMs` (for /health); never waits longer. */
  check?(timeoutMs: number): Promise<ChainCheck>;
}

/** One bounded read of the router through the worker's RPC. */
export interface ChainCheck {
  ok: boolean;
  ms: number;
  /** The router's requestCount() when the read succeeded. */
  requestCount?: string;
  error?: string;
}

/** The router's views the worker reads (commitmentOf, requestCount, backupWorker) and its errors, from the compiled artifact. */
export const ROUTER_COMMITMENT_ABI = AgentRouter__factory.abi;

const ZERO = `0x${"00".repeat(32)}`;
/** Verified commitments remembered (by request hash) so retries and duplicates cost no RPC call. */
const CACHE_ENTRIES = 4096;
/**
 * How long the last `requestCount()` read answers "not issued yet" for higher ids without another
 * RPC call: a flood of made-up future ids costs at most one round of reads per window, while a
 * real request (the first of a new block) almost always finds the window over; if not, its
 * refusal is retryable.
 */
const COUNT_TTL_MS = 100;

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
  /** Request hashes refused for good (settled, timed out, or not the committed request). */
  readonly #refused = new Map<string, string>();
  #count: { value: bigint; at: number } | undefined;
  /** `requestHash:rank` of backup dispatches verified for this worker with their window open (it never closes before the deadline). */
  readonly #backups = new Map<string, number>();
  /** The health read in flight: a hung RPC holds one call, however often /health is asked. */
  #probe: Promise<bigint> | undefined;

  constructor(
    rpc: string | ContractRunner,
    readonly router: string,
    private readonly clock: () => number = Date.now,
    /** The chain behind a URL `rpc`: known, ethers does not probe for it (a probe of a dead RPC retries forever and holds the process). */
    chainId?: bigint,
  ) {
    const network = chainId === undefined ? undefined : Network.from(chainId);
    const runner = typeof rpc === "string" ? new JsonRpcProvider(rpc, network, { staticNetwork: network ?? true }) : rpc;
    if (runner.provider === null || runner.provider === undefined) throw new TypeError("commitment reader needs a provider");
    this.#provider = runner.provider;
    this.#router = new Contract(router, ROUTER_COMMITMENT_ABI, runner);
  }

  async requirePending(request: AgentRequest, requestHash: string): Promise<void> {
    const key = requestHash.toLowerCase();
    const known = this.#verified.get(key);
    if (known !== undefined && known * 1000 >= this.clock()) return;
    const refused = this.#refused.get(key);
    if (refused !== undefined) throw new RequestRejected(409, "REQUEST_NOT_PENDING", refused);
    if (this.#count !== undefined && request.id > this.#count.value && this.clock() - this.#count.at < COUNT_TTL_MS) {
      throw notVisible(request.id);
    }
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
    this.#count = { value: count, at: this.clock() };
    if (commitment.toLowerCase() === key) {
      remember(this.#verified, key, Number(request.deadline));
      return;
    }
    if (commitment === ZERO && request.id > count) throw notVisible(request.id);
    // Final: an issued id's commitment only ever goes from this request's hash to zero.
    const reason =
      commitment === ZERO
        ? `request ${request.id} is not pending on the router (settled, timed out or cancelled)`
        : `request ${request.id} differs from the request the router committed to`;
    remember(this.#refused, key, reason);
    throw new RequestRejected(409, "REQUEST_NOT_PENDING", reason);
  }

  async requireBackup(request: AgentRequest, requestHash: string, rank: bigint, worker: string): Promise<void> {
    const key = `${requestHash.toLowerCase()}:${rank}`;
    const known = this.#backups.get(key);
    if (known !== undefined && known * 1000 >= this.clock()) return;
    let drawn: string;
    let opensAt: bigint;
    let now: bigint;
    try {
      // The draw and the clock at one block: the window is open at a time the chain has reached.
      const block = await this.#provider.getBlock("latest");
      if (block === null) throw new Error("no latest block");
      now = BigInt(block.timestamp);
      [drawn, opensAt] = (await this.#router.getFunction("backupWorker").staticCall(request, rank, { blockTag: block.number })) as [string, bigint];
    } catch (error) {
      const revert = this.#revertName(error);
      if (revert === "NoBackup") throw new RequestRejected(409, "NOT_BACKUP", `request ${request.id} has no backup of rank ${rank}`);
      if (revert !== undefined) {
        // backupWorker reverts only for a request that is not the pending one (settled, or altered).
        throw new RequestRejected(409, "REQUEST_NOT_PENDING", `request ${request.id} is not pending on the router (${revert})`);
      }
      throw new RequestRejected(503, "CHAIN_UNAVAILABLE", "cannot read the request's backup from the router; retry later");
    }
    if (drawn.toLowerCase() !== worker.toLowerCase()) {
      throw new RequestRejected(409, "NOT_BACKUP", `backup ${rank} of request ${request.id} is ${drawn}, not this worker ${worker}`);
    }
    if (opensAt > now) {
      throw new RequestRejected(425, "BACKUP_WINDOW_NOT_OPEN", `backup ${rank} of request ${request.id} may answer from ${opensAt}; chain time is ${now}`);
    }
    remember(this.#backups, key, Number(request.deadline));
  }

  /** The custom error a reverted call returned, by name (undefined: not a revert, e.g. the RPC failed). */
  #revertName(error: unknown): string | undefined {
    if (!isCallException(error) || error.data === undefined || error.data === null) return undefined;
    try {
      return this.#router.interface.parseError(error.data)?.name ?? "revert";
    } catch {
      return "revert";
    }
  }

  /** Reads requestCount() (the RPC serves the router, not only blocks), giving up after `timeoutMs`. */
  async check(timeoutMs: number): Promise<ChainCheck> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    this.#probe ??= (this.#router.getFunction("requestCount").staticCall() as Promise<bigint>).finally(() => (this.#probe = undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const count = await Promise.race([this.#probe, timeout]);
      return { ok: true, ms: ms(), requestCount: count.toString() };
    } catch (error) {
      return { ok: false, ms: ms(), error: error instanceof Error ? error.message.slice(0, 200) : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function notVisible(id: bigint): RequestRejected {
  return new RequestRejected(503, "REQUEST_NOT_VISIBLE", `request ${id} is not on the chain this worker reads yet; retry later`);
}

/** Insert into a bounded map, dropping the oldest entry when full. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= CACHE_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}
