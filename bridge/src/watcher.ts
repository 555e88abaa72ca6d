import type { BlockHeader, ChainClient } from "./chain/chain-client.js";
import { RpcError, StaleNodeError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BlockRef, BridgeStore } from "./store/store.js";

/** Blocks confirmed per store query. */
const CONFIRM_PAGE = 100;
/** Events per eth_getLogs the adaptive range aims at: bounds memory when blocks are full of requests. */
const TARGET_EVENTS_PER_SCAN = 500;
const INITIAL_RANGE = 16;
/**
 * A scan this far behind the head may be verified against state a full node has pruned: when the
 * requestCount check cannot be answered there, the range is taken unverified (the reconciler still
 * compares the store with the router later).
 */
const PRUNED_STATE_DEPTH = 64;
/** A head that has not moved this long while requests wait for depth is logged (a chain that mines on its own). */
const STALLED_HEAD_MS = 30_000;

export interface WatcherOptions {
  confirmations: number;
  /**
   * The chain mines a block only when a transaction arrives (Hardhat's or anvil's automine): once
   * its head has not moved for `idleConfirmMs`, requests are confirmed at the head instead of
   * waiting for blocks that nobody will mine.
   */
  automine?: boolean;
  idleConfirmMs?: number;
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
  /** The node answered from behind what the store already holds: nothing was concluded from it. */
  stale: boolean;
}

/**
 * Follows the router's events into the store. Scans up to the chain head (new requests are `seen`),
 * confirms requests once `confirmations` blocks bury them and their block is still canonical, and
 * detects reorgs by comparing stored block hashes with the chain's, rewinding to the common ancestor.
 * A node behind what the store holds (a lagging backend) proves nothing: its missing blocks are not
 * a reorg, and a scanned range counts only with the header of its last block from the same answer,
 * so a node that silently clamps eth_getLogs cannot move the cursor past events it did not return.
 */
export class Watcher {
  /** Current eth_getLogs block range: halves after a crowded range, doubles after a sparse one. */
  private range: number;
  /** The head and when it was first seen (how long the chain has been idle); whether its wait was logged. */
  private idle?: { hash: string; since: number; logged: boolean };
  private automineExplained = false;

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
    try {
      return await this.pollOnce();
    } catch (error) {
      if (error instanceof StaleNodeError) this.metrics.staleAnswers.inc();
      throw error;
    }
  }

  private async pollOnce(): Promise<PollResult> {
    const head = await this.chain.block("latest");
    if (!head) throw new StaleNodeError("node returned no latest block");
    this.metrics.head.set(head.number);
    const orphaned: bigint[] = [];
    // In a fleet one instance scans and confirms (the store's scanning lease); the others follow the head only.
    if (!(await this.store.renewLeases()).scanner) return { head, added: 0, settled: 0, confirmed: 0, orphaned, stale: false };

    let cursor = (await this.store.cursor()) ?? this.genesisCursor();
    if (cursor.hash !== "") {
      const reorged = await this.cursorReorged(cursor, head);
      if (reorged === undefined) {
        this.metrics.staleAnswers.inc();
        this.log.debug({ event: "stale_head", head: head.number, cursor: cursor.number }, "node is behind the scanned cursor; waiting for it");
        return { head, added: 0, settled: 0, confirmed: 0, orphaned, stale: true };
      }
      if (reorged) {
        orphaned.push(...(await this.rewindBelow(cursor.number + 1, head.number)));
        cursor = (await this.store.cursor()) ?? this.genesisCursor();
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
      const end = events.end;
      const requestCount = await this.verifyComplete(cursor, end, events.requests.length, head.number);
      const blocks = new Map<number, string>([[end.number, end.hash]]);
      for (const e of [...events.requests, ...events.settlements]) blocks.set(e.block.number, e.block.hash);
      const cursorRef = { number: end.number, hash: end.hash };
      const result = await this.store.applyScan(
        { ...events, blocks: [...blocks].map(([number, hash]) => ({ number, hash })), cursor: cursorRef, requestCount },
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
    return { head, added, settled, confirmed, orphaned, stale: false };
  }

  /** requestCount() as of a scanned block: 0 before the first block, else read by the block's hash. */
  private async requestCountAt(ref: BlockRef): Promise<bigint> {
    if (ref.number < 0) return 0n;
    const recorded = await this.store.cursorRequestCount();
    if (recorded && ref.hash !== "" && recorded.hash === ref.hash) return recorded.count;
    const hash = ref.hash !== "" ? ref.hash : (await this.chain.block(ref.number))?.hash;
    if (!hash) throw new StaleNodeError("node does not have the block before the start block", { details: `block ${ref.number}` });
    return this.chain.requestCount({ hash });
  }

  /**
   * The scan of (cursor, end] found `found` requests: the router issued requestCount(end) -
   * requestCount(cursor) in that range, each with one AgentRequested. Fewer found means the logs
   * were cut short (a node whose log index trails, a silently clamped range): the scan is refused
   * and retried. Returns requestCount(end), or undefined when pruned state left it unverified.
   */
  private async verifyComplete(cursor: BlockRef, end: BlockHeader, found: number, head: number): Promise<bigint | undefined> {
    let before: bigint;
    let after: bigint;
    try {
      [before, after] = await Promise.all([this.requestCountAt(cursor), this.chain.requestCount(end)]);
    } catch (error) {
      if (error instanceof RpcError && !error.transport && head - end.number > PRUNED_STATE_DEPTH) {
        this.log.debug({ event: "scan_unverified", to: end.number, err: error.message }, "request count unavailable this far back; scan taken unverified");
        return undefined;
      }
      throw error;
    }
    if (after - before !== BigInt(found)) {
      throw new StaleNodeError("event scan incomplete", {
        details: `blocks ${cursor.number + 1}-${end.number}: ${after - before} requests issued, ${found} returned`,
      });
    }
    return after;
  }

  /**
   * Whether the chain no longer holds the cursor's block: true on evidence (another hash at the
   * cursor, or at a stored block at or below a head that is behind the cursor), undefined when the
   * node simply does not have those blocks (behind, or a shorter chain not yet grown past the cursor:
   * either way nothing to do until it shows a hash).
   */
  private async cursorReorged(cursor: BlockRef, head: BlockHeader): Promise<boolean | undefined> {
    if (head.number >= cursor.number) {
      const canonical = await this.chain.block(cursor.number);
      return canonical === undefined ? undefined : canonical.hash !== cursor.hash;
    }
    const stored = await this.store.blockHash(head.number);
    if (stored === undefined || stored === head.hash) return undefined;
    return true;
  }

  /**
   * Confirms buried `seen` requests block by block, only while their block is still canonical (a
   * changed hash means a reorg below the cursor). Works on block refs, never loads request rows.
   */
  private async confirm(head: BlockHeader, orphaned: bigint[]): Promise<number> {
    const safe = await this.safeBlock(head);
    let confirmed = 0;
    for (;;) {
      const blocks = await this.store.seenBlocks(safe, CONFIRM_PAGE);
      if (blocks.length === 0) return confirmed;
      // Every header of the page in one round trip.
      const headers = this.options.confirmations === 0 ? blocks : await this.chain.headers(blocks.map((b) => b.number));
      // The page's blocks up to the first that cannot be confirmed yet are confirmed in one store call.
      const canonical: BlockRef[] = [];
      for (const [i, block] of blocks.entries()) {
        const header = headers[i];
        if (header instanceof Error) {
          // The canonical blocks before the failed header are confirmed all the same.
          await this.store.confirmBlocks(canonical, Date.now());
          throw header;
        }
        const hash = header?.hash;
        // A node without the block is behind, not proof of a reorg: confirm on a later pass.
        if (hash === undefined) return confirmed + (await this.store.confirmBlocks(canonical, Date.now()));
        if (hash !== block.hash) {
          confirmed += await this.store.confirmBlocks(canonical, Date.now());
          orphaned.push(...(await this.rewindBelow(block.number, head.number)));
          return confirmed;
        }
        canonical.push(block);
      }
      confirmed += await this.store.confirmBlocks(canonical, Date.now());
    }
  }

  /**
   * The newest block whose `seen` requests may be confirmed: `confirmations` below the head. On an
   * automining chain depth comes only from later transactions, so once the head has been idle for
   * `idleConfirmMs` the head itself is safe: its only reorgs are snapshot reverts, which the hash
   * checks above catch at any depth. Mining blocks to make depth is not the bridge's to do (it
   * would change the user's chain under their scripts and tests). A wait on an idle head is
   * logged once per head, saying why.
   */
  private async safeBlock(head: BlockHeader): Promise<number> {
    const now = Date.now();
    if (this.idle?.hash !== head.hash) this.idle = { hash: head.hash, since: now, logged: false };
    const { confirmations, automine = false, idleConfirmMs = 0 } = this.options;
    const byDepth = head.number - confirmations;
    if (confirmations === 0) return byDepth;
    const idleMs = now - this.idle.since;
    const atHead = automine && idleMs >= idleConfirmMs;
    if (!this.idle.logged && idleMs >= (automine ? idleConfirmMs : STALLED_HEAD_MS)) {
      const oldest = (await this.store.seenBlocks(head.number, 1))[0];
      if (oldest !== undefined && oldest.number > byDepth) {
        this.idle.logged = true;
        const context = { event: "confirm_wait", head: head.number, block: oldest.number, confirmations, idleMs };
        if (atHead) {
          // Said once at info; afterwards each idle head is routine on such a chain.
          const level = this.automineExplained ? "debug" : "info";
          this.automineExplained = true;
          this.log[level](
            context,
            `no block for ${idleMs} ms on a chain that mines only on transactions (automine): confirming requests at the head instead of waiting for ${confirmations} more block(s)`,
          );
        } else {
          this.log.warn(
            context,
            `requests wait for ${oldest.number + confirmations - head.number} more block(s), but the head has not moved for ${Math.round(idleMs / 1000)} s`,
          );
        }
      }
    }
    return atHead ? head.number : byDepth;
  }

  /** Rewinds the cursor to the newest stored block below `below` that is still canonical. */
  private async rewindBelow(below: number, headNumber: number): Promise<bigint[]> {
    let ancestor = this.genesisCursor();
    for (const block of await this.store.recentBlocks(Math.min(below - 1, headNumber), this.options.reorgHistory)) {
      const canonical = await this.chain.block(block.number);
      if (canonical === undefined) throw new StaleNodeError("node lost a block during the reorg walk", { details: `block ${block.number}` });
      if (canonical.hash === block.hash) {
        ancestor = block;
        break;
      }
    }
    const orphaned = await this.store.rewind(ancestor);
    this.metrics.reorgs.inc();
    this.metrics.orphaned.inc(orphaned.length);
    this.log.warn({ event: "reorg", ancestor: ancestor.number, orphaned: orphaned.map(String) }, "chain reorganisation: rewound to common ancestor");
    return orphaned;
  }
}
