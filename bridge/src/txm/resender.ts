import type { Hex } from "../../../protocol/hex.js";
import type { ChainClient } from "../chain/chain-client.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { BridgeMetrics } from "../metrics.js";
import type { BridgeStore, TxAttempt, TxRecord } from "../store/store.js";
import type { Broadcaster } from "./broadcaster.js";
import { bumpFees, type Fees } from "./fees.js";
import { classifySendError, type SendErrorKind } from "./send-errors.js";

export interface ResenderOptions {
  /** An unconfirmed transaction is offered to the node again after this long (a node may have dropped it). */
  rebroadcastAfterMs: number;
  /** ...and replaced by an attempt with higher fees after this long. */
  gasBumpAfterMs: number;
  gasBumpPercent: number;
  maxFeePerGas: bigint;
}

const SELF_TRANSFER_GAS = 21_000n;
/**
 * Times a node may be found without an unmined transaction (re-broadcast in between) before it is
 * taken as one no node will ever mine (e.g. priced below the calldata floor: accepted, then dropped).
 */
export const DROPS_BEFORE_ABANDON = 3;

/**
 * Keeps unmined transactions moving: offers an attempt no node has acknowledged again (after a
 * crash or a lost answer), re-broadcasts unconfirmed ones a node may have dropped, replaces stuck
 * ones with bumped fees (each new attempt persisted before it is sent), and when no node will ever
 * take a transaction (fatal) abandons it and takes its nonce over with a self-transfer, so the
 * nonces above it are not held back and its requests are queued again.
 */
export class Resender {
  /** Times each transaction was found dropped (per process: a restart only delays the verdict). */
  private readonly drops = new Map<number, number>();

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly broadcaster: Broadcaster,
    private readonly options: ResenderOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * `full`: also re-broadcasts and bumps by age (the scheduled pass); otherwise only attempts no
   * node has acknowledged are offered again (every submitter pass, cheap when there are none).
   */
  async run(options: { full: boolean }, now = Date.now()): Promise<void> {
    const unfinished = await this.store.unfinishedTxs();
    const due = unfinished.filter((tx) => this.latest(tx).state === "in_progress" || options.full);
    if (due.length === 0) return;
    const mined = await this.chain.nonce("latest");
    if (options.full) await this.fillGaps(mined, unfinished, now);
    for (const id of this.drops.keys()) if (!unfinished.some((tx) => tx.id === id)) this.drops.delete(id);
    for (const tx of due) {
      if (tx.nonce < mined) continue; // the confirmer settles it
      const latest = this.latest(tx);
      try {
        if (latest.state === "in_progress") await this.offer(tx, latest, now);
        else if (now - (latest.broadcastAt ?? latest.createdAt) >= this.options.rebroadcastAfterMs) await this.checkDropped(tx, latest, now);
        else if (now - latest.createdAt >= this.options.gasBumpAfterMs) await this.bump(tx, latest, now);
      } catch (error) {
        // One transaction's failed RPC call must not hold back the others.
        this.log.warn({ event: "resend_error", txId: tx.id, nonce: tx.nonce, err: errorMessage(error) }, "could not resend; next pass");
      }
    }
  }

  /**
   * An unconfirmed transaction a node no longer knows was dropped: offered again; dropped
   * DROPS_BEFORE_ABANDON times, it is abandoned (its requests queued again) and its nonce purged.
   * Known, it is bumped once it has waited gasBumpAfterMs.
   */
  private async checkDropped(tx: TxRecord, latest: TxAttempt, now: number): Promise<void> {
    const known = await Promise.all(tx.attempts.map((attempt) => this.chain.transactionKnown(attempt.hash)));
    if (known.some(Boolean)) {
      this.drops.delete(tx.id);
      if (now - latest.createdAt >= this.options.gasBumpAfterMs) await this.bump(tx, latest, now);
      else await this.store.markBroadcast(latest.hash, now);
      return;
    }
    const drops = (this.drops.get(tx.id) ?? 0) + 1;
    this.drops.set(tx.id, drops);
    this.metrics.txsDropped.inc({ kind: tx.kind });
    if (drops >= DROPS_BEFORE_ABANDON) {
      this.drops.delete(tx.id);
      await this.purge(tx, `dropped by the node ${drops} times`, now);
      return;
    }
    this.log.warn(
      { event: "tx_dropped", txId: tx.id, hash: latest.hash, nonce: tx.nonce, drops },
      "the node no longer knows this transaction; offering it again",
    );
    await this.offer(tx, latest, now);
  }

  /**
   * A nonce between the mined one and a tracked transaction that nothing of ours holds (its
   * transaction was abandoned without a replacement) would hold every later one back: fill it.
   */
  private async fillGaps(mined: number, unfinished: TxRecord[], now: number): Promise<void> {
    if (unfinished.length === 0) return;
    const held = new Set(unfinished.map((tx) => tx.nonce));
    const highest = Math.max(...held);
    for (let nonce = mined; nonce < highest; nonce++) {
      if (held.has(nonce)) continue;
      this.log.warn({ event: "nonce_gap", nonce }, "no transaction holds this nonce; filling it with a self-transfer");
      await this.sendPurge(nonce, await this.broadcaster.fees(), now);
    }
  }

  private latest(tx: TxRecord): TxAttempt {
    return tx.attempts.at(-1)!;
  }

  private async sign(tx: TxRecord, fees: Fees): Promise<{ hash: Hex; raw: Hex }> {
    return this.chain.sign({ to: tx.to, data: tx.data, nonce: tx.nonce, gasLimit: tx.gasLimit, ...fees });
  }

  /** Broadcasts `raw` and acts on the node's answer; returns the error kind, or undefined when accepted. */
  private async broadcast(tx: TxRecord, hash: Hex, raw: Hex, now: number): Promise<SendErrorKind | undefined> {
    try {
      await this.chain.broadcast(raw);
    } catch (error) {
      const kind = classifySendError(error);
      this.metrics.sendErrors.inc({ kind });
      if (kind === "already_known") {
        await this.store.markBroadcast(hash, now);
        return undefined;
      }
      this.log.warn({ event: "resend_failed", kind, txId: tx.id, hash, nonce: tx.nonce, err: errorMessage(error) }, "re-broadcast refused");
      if (kind === "fatal") await this.purge(tx, `no node will take it: ${errorMessage(error)}`, now);
      return kind;
    }
    await this.store.markBroadcast(hash, now);
    return undefined;
  }

  /** The same bytes again: harmless if a node still holds them ("already known"). */
  private async offer(tx: TxRecord, attempt: TxAttempt, now: number): Promise<void> {
    const { hash, raw } = await this.sign(tx, attempt);
    const kind = await this.broadcast(tx, hash, raw, now);
    if (kind === "underpriced") await this.bump(tx, attempt, now);
  }

  private async bump(tx: TxRecord, attempt: TxAttempt, now: number): Promise<void> {
    const { atCap, ...fees } = bumpFees(attempt, await this.broadcaster.fees(), this.options.gasBumpPercent, this.options.maxFeePerGas);
    if (atCap) {
      this.log.warn({ event: "gas_cap_reached", txId: tx.id, hash: attempt.hash }, "stuck transaction at the fee cap; re-broadcasting it");
      const { hash, raw } = await this.sign(tx, attempt);
      await this.broadcast(tx, hash, raw, now);
      return;
    }
    const { hash, raw } = await this.broadcaster.signUnique(tx, fees);
    await this.store.addAttempt(tx.id, { hash, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, createdAt: now });
    this.metrics.gasBumps.inc();
    this.log.info(
      { event: "gas_bump", txId: tx.id, old: attempt.hash, hash, nonce: tx.nonce, maxFeePerGas: fees.maxFeePerGas.toString() },
      "replacing a stuck transaction with higher fees",
    );
    await this.broadcast(tx, hash, raw, now);
  }

  /**
   * Abandons `tx` (its requests are queued again) and takes its nonce over with a zero-value
   * self-transfer priced above every attempt, so a pool that still holds one replaces it.
   */
  async purge(tx: TxRecord, reason: string, now: number): Promise<void> {
    await this.store.abandonTx(tx.id, reason);
    this.metrics.txsAbandoned.inc({ kind: tx.kind });
    this.log.warn(
      { event: "tx_purged", txId: tx.id, kind: tx.kind, nonce: tx.nonce, requests: tx.requestIds.length, reason },
      "transaction abandoned; its nonce is taken over by a self-transfer",
    );
    // A self-transfer no node takes leaves a gap: fillGaps tries again on the next full pass.
    if (tx.kind === "purge") return;
    const highest = tx.attempts.reduce((a, b) => (b.maxFeePerGas > a.maxFeePerGas ? b : a));
    await this.sendPurge(tx.nonce, bumpFees(highest, await this.broadcaster.fees(), this.options.gasBumpPercent, this.options.maxFeePerGas), now);
  }

  private async sendPurge(nonce: number, fees: Fees, now: number): Promise<void> {
    const purge = { to: this.chain.account, data: "0x" as Hex, nonce, gasLimit: SELF_TRANSFER_GAS, requestIds: [] };
    fees = { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    const { hash, raw } = await this.broadcaster.signUnique(purge, fees);
    const id = await this.store.createTx(
      { kind: "purge", ...purge },
      { hash, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, createdAt: now },
    );
    await this.broadcast({ ...purge, id, kind: "purge", state: "in_progress", createdAt: now, resolved: false, attempts: [] }, hash, raw, now);
  }
}
