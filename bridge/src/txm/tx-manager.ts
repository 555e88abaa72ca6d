import type { ChainClient } from "../chain/chain-client.js";
import type { Logger } from "../logger.js";
import type { BridgeMetrics } from "../metrics.js";
import type { BridgeStore } from "../store/store.js";
import { Broadcaster, type SendResult, type TxIntent } from "./broadcaster.js";
import { Confirmer } from "./confirmer.js";
import { Resender, type ResenderOptions } from "./resender.js";

export interface TxManagerOptions extends ResenderOptions {
  /** How long a used nonce may lack a receipt of ours before its transactions are abandoned. */
  missingReceiptGraceMs: number;
}

/**
 * The bridge account's transactions: a broadcaster for new ones, a confirmer for mined nonces, a
 * resender for unmined ones, all on one nonce sequence, so everything that touches nonces runs one
 * at a time through `exclusive` (fulfilments from the submitter loop, timeouts from the sweep, the
 * scheduled resend pass).
 */
export class TxManager {
  readonly broadcaster: Broadcaster;
  readonly confirmer: Confirmer;
  readonly resender: Resender;
  private lane: Promise<unknown> = Promise.resolve();

  constructor(
    chain: ChainClient,
    private readonly store: BridgeStore,
    options: TxManagerOptions,
    metrics: BridgeMetrics,
    log: Logger,
  ) {
    this.broadcaster = new Broadcaster(chain, store, options.maxFeePerGas, metrics, log);
    this.confirmer = new Confirmer(chain, store, options.missingReceiptGraceMs, metrics, log);
    this.resender = new Resender(chain, store, this.broadcaster, options, metrics, log);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn, fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** Settles mined nonces and re-offers attempts no node acknowledged: the start of every submitter pass. */
  async track(): Promise<void> {
    await this.confirmer.check();
    await this.resender.run({ full: false });
  }

  /** The scheduled pass: also re-broadcasts what a node may have dropped, bumps stuck fees, fills nonce gaps. */
  resendStuck(): Promise<void> {
    return this.exclusive(async () => {
      await this.confirmer.check();
      await this.resender.run({ full: true });
    });
  }

  /** Call inside `exclusive`. */
  send(intent: TxIntent): Promise<SendResult> {
    return this.broadcaster.send(intent);
  }

  /** Nonces held by unmined transactions of ours, and the gas they may use (the largest limit per nonce: one of them is mined). */
  async inFlight(): Promise<{ count: number; gas: bigint }> {
    const byNonce = new Map<number, bigint>();
    for (const tx of await this.store.unfinishedTxs()) {
      const held = byNonce.get(tx.nonce);
      if (held === undefined || tx.gasLimit > held) byNonce.set(tx.nonce, tx.gasLimit);
    }
    let gas = 0n;
    for (const limit of byNonce.values()) gas += limit;
    return { count: byNonce.size, gas };
  }
}
