import type { BlockHeader, ChainClient } from "./chain/chain-client.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BlockRef, BridgeStore } from "./store/store.js";

/** Blocks confirmed per store query. */
const CONFIRM_PAGE = 100;
/** Events per eth_getLogs the adaptive range aims at: bounds memory when blocks are full of requests. */
const TARGET_EVENTS_PER_SCAN = 500;
const INITIAL_RANGE = 16;

export interface WatcherOptions {
  confirmations: number;
  maxLogRange: number;
  reorgHistory: number;
  startBlock: number;
}

export interface PollResult {
  head: BlockHeader;
  added: number;
  settled: number;
  confirmed: number;
  orphaned: bigint[];
}

/**
 * Follows the router's events into the store. Scans up to the chain head (new requests are `seen`),
 * confirms requests once `confirmations` blocks bury them and their block is still canonical, and
 * detects reorgs by comparing stored block hashes with the chain's, rewinding to the common ancestor.
 */
export class Watcher {
  /** Current eth_getLogs block range: halves after a crowded range, doubles after a sparse one. */
  private range: number;

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly options: WatcherOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {
    this.range = Math.min(INITIAL_RANGE, options.maxLogRange);
  }

  private genesisCursor(): BlockRef {
    return { number: this.options.startBlock - 1, hash: "" };
  }

  async poll(): Promise<PollResult> {
    const head = await this.chain.block("latest");
    if (!head) throw new Error("node returned no latest block");
    this.metrics.head.set(head.number);
    const orphaned: bigint[] = [];

    let cursor = this.store.cursor() ?? this.genesisCursor();
    if (cursor.hash !== "") {
      const canonical = cursor.number <= head.number ? await this.chain.block(cursor.number) : undefined;
      if (canonical?.hash !== cursor.hash) {
        orphaned.push(...(await this.rewindBelow(cursor.number + 1, head.number)));
        cursor = this.store.cursor() ?? this.genesisCursor();
      }
    }

    let added = 0;
    let settled = 0;
    while (cursor.number < head.number) {
      const from = cursor.number + 1;
      const to = Math.min(head.number, from + this.range - 1);
      const events = await this.chain.routerEvents(from, to);
      const found = events.requests.length + events.settlements.length;
      // Size the next range from this one's event density; grow geometrically through empty stretches.
      const next = found === 0 ? this.range * 2 : Math.floor(((to - from + 1) * TARGET_EVENTS_PER_SCAN) / found);
      this.range = Math.max(1, Math.min(this.options.maxLogRange, next));
      const end = to === head.number ? head : await this.chain.block(to);
      if (!end) break;
      const blocks = new Map<number, string>([[end.number, end.hash]]);
      for (const e of [...events.requests, ...events.settlements]) blocks.set(e.block.number, e.block.hash);
      const cursorRef = { number: end.number, hash: end.hash };
      const result = this.store.applyScan(
        { ...events, blocks: [...blocks].map(([number, hash]) => ({ number, hash })), cursor: cursorRef },
        this.options.reorgHistory,
      );
      added += result.added;
      settled += result.settled;
      for (const s of events.settlements) this.metrics.settlements.inc({ outcome: s.outcome });
      cursor = cursorRef;
    }
    if (added > 0) this.metrics.requestsObserved.inc(added);
    this.metrics.cursor.set(cursor.number);

    const confirmed = await this.confirm(head, orphaned);
    return { head, added, settled, confirmed, orphaned };
  }

  /**
   * Confirms buried `seen` requests block by block, only while their block is still canonical (a
   * changed hash means a reorg below the cursor). Works on block refs, never loads request rows.
   */
  private async confirm(head: BlockHeader, orphaned: bigint[]): Promise<number> {
    const safe = head.number - this.options.confirmations;
    let confirmed = 0;
    for (;;) {
      const blocks = this.store.seenBlocks(safe, CONFIRM_PAGE);
      if (blocks.length === 0) return confirmed;
      for (const block of blocks) {
        const canonical = this.options.confirmations === 0 ? block.hash : (await this.chain.block(block.number))?.hash;
        if (canonical !== block.hash) {
          orphaned.push(...(await this.rewindBelow(block.number, head.number)));
          return confirmed;
        }
        confirmed += this.store.confirmBlock(block, Date.now());
      }
    }
  }

  /** Rewinds the cursor to the newest stored block below `below` that is still canonical. */
  private async rewindBelow(below: number, headNumber: number): Promise<bigint[]> {
    let ancestor = this.genesisCursor();
    for (const block of this.store.recentBlocks(Math.min(below - 1, headNumber), this.options.reorgHistory)) {
      const canonical = await this.chain.block(block.number);
      if (canonical?.hash === block.hash) {
        ancestor = block;
        break;
      }
    }
    const orphaned = this.store.rewind(ancestor);
    this.metrics.reorgs.inc();
    this.metrics.orphaned.inc(orphaned.length);
    this.log.warn({ event: "reorg", ancestor: ancestor.number, orphaned: orphaned.map(String) }, "chain reorganisation: rewound to common ancestor");
    return orphaned;
  }
}
