import { stateBlock, type ChainClient, type RouterEvents } from "./chain/chain-client.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BlockRef, BridgeStore } from "./store/store.js";

export interface ReconcilerOptions {
  startBlock: number;
  maxLogRange: number;
}

export interface ReconcileResult {
  /** Pending requests the store did not know, found by their id and added (as `seen`). */
  recovered: number;
  /** Requests the store held as open although the router had settled them, settled from their events. */
  settled: number;
}

/** Ids (or open requests) looked at per page: one JSON-RPC batch of isPending each. */
const PAGE = 500;
/** How far to look for a known neighbour's block, to narrow the search for a missing request's event. */
const NEIGHBOURS = 16;

/**
 * Makes the store agree with the router, whatever a scan missed (a lagging or faulty RPC):
 * - every id up to requestCount() at the cursor's block is known, or settled: a pending one the
 *   store never saw is looked up by its id (AgentRequested's indexed topic) and added, after which
 *   it is dispatched, or, past its deadline, swept;
 * - every request the store holds as open is still pending on the router: one that is not (its
 *   settlement event was missed) is settled from its RequestFulfilled / RequestTimedOut event.
 * The first part keeps a watermark, so each id is checked once; the second pages through the open
 * requests, one page per run.
 */
export class Reconciler {
  /** Where the next page of open requests starts (string order of ids). */
  private openCursor = "";

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly options: ReconcilerOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  async run(): Promise<ReconcileResult> {
    const cursor = await this.store.cursor();
    if (!cursor || cursor.hash === "") return { recovered: 0, settled: 0 };
    const recovered = await this.recoverUnseen(cursor);
    const settled = await this.recoverSettlements(cursor);
    if (recovered > 0) this.metrics.reconciled.inc({ kind: "unseen_request" }, recovered);
    if (settled > 0) this.metrics.reconciled.inc({ kind: "missed_settlement" }, settled);
    if (recovered + settled > 0) this.log.warn({ event: "reconciled", recovered, settled }, "the store missed what the router holds; recovered");
    return { recovered, settled };
  }

  private async recoverUnseen(cursor: BlockRef): Promise<number> {
    const count = await this.chain.requestCount(cursor);
    let recovered = 0;
    for (let from = (await this.store.reconciledThrough()) + 1n; from <= count;) {
      const to = from + BigInt(PAGE) - 1n < count ? from + BigInt(PAGE) - 1n : count;
      const ids = Array.from({ length: Number(to - from) + 1 }, (_, i) => from + BigInt(i));
      const known = await this.store.knownIds(ids);
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        // As of the cursor, where requestCount was read: a lagging node cannot skip requests it has not seen.
        const pending = await this.chain.isPending(unknown, cursor.number);
        if (pending.some((p) => p instanceof Error)) return recovered; // next run
        const missing = unknown.filter((_, i) => pending[i] === true);
        if (missing.length > 0) {
          const events = await this.search(missing, await this.lowerBound(missing[0]!), cursor.number);
          const found = new Set(events.requests.map((r) => r.request.id));
          recovered += (
            await this.store.observe(
              events.requests.filter((r) => missing.includes(r.request.id)),
              [],
            )
          ).added;
          const lost = missing.filter((id) => !found.has(id));
          if (lost.length > 0) {
            // The answering node may lack them (behind, or a reorg): keep the watermark, look again next run.
            this.log.warn({ event: "reconcile_unfound", ids: lost.map(String) }, "pending requests not found by id yet");
            return recovered;
          }
        }
      }
      await this.store.setReconciledThrough(to);
      from = to + 1n;
    }
    return recovered;
  }

  /** The block of the nearest known request below `id` (events are in id order), else the start block. */
  private async lowerBound(id: bigint): Promise<number> {
    for (let below = id - 1n; below > 0n && below >= id - BigInt(NEIGHBOURS); below--) {
      const block = await this.store.blockOf(below);
      if (block !== undefined) return block;
    }
    return this.options.startBlock;
  }

  private async recoverSettlements(cursor: BlockRef): Promise<number> {
    const page = await this.store.unsettledPage(this.openCursor, PAGE);
    this.openCursor = page.length < PAGE ? "" : page.at(-1)!.id.toString();
    if (page.length === 0) return 0;
    const pending = await this.chain.isPending(
      page.map((r) => r.id),
      await stateBlock(
        this.chain,
        page.map((r) => r.blockNumber),
      ),
    );
    // Answers parked as "settled elsewhere" on a node's word while the router still holds their
    // request go back to the submitter (it checks isPending again before sending).
    const requeued = await this.store.requeueParked(page.filter((_, i) => pending[i] === true).map((r) => r.id));
    if (requeued > 0) {
      this.metrics.reconciled.inc({ kind: "parked_answer" }, requeued);
      this.log.warn({ event: "parked_answers_requeued", requeued }, "answers parked as settled are still pending on-chain; queued again");
    }
    const gone = page.filter((_, i) => pending[i] === false);
    if (gone.length === 0) return 0;
    const from = Math.min(...gone.map((r) => r.blockNumber));
    const events = await this.search(
      gone.map((r) => r.id),
      from,
      cursor.number,
    );
    return (await this.store.observe([], events.settlements)).settled;
  }

  /** The router's events of these ids in [from, to], in ranges of at most maxLogRange blocks. */
  private async search(ids: bigint[], from: number, to: number): Promise<RouterEvents> {
    const found: RouterEvents = { requests: [], settlements: [] };
    for (let start = from; start <= to; start += this.options.maxLogRange) {
      const end = Math.min(to, start + this.options.maxLogRange - 1);
      try {
        const events = await this.chain.requestEvents(ids, start, end);
        found.requests.push(...events.requests);
        found.settlements.push(...events.settlements);
      } catch (error) {
        this.log.debug({ event: "reconcile_search_failed", from: start, to: end, err: errorMessage(error) }, "event search failed; retried next run");
        throw error;
      }
    }
    return found;
  }
}
