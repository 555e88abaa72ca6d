import type { ChainClient, TxReceipt } from "../chain/chain-client.js";
import type { Logger } from "../logger.js";
import type { BridgeMetrics } from "../metrics.js";
import type { BridgeStore, TxRecord } from "../store/store.js";

/**
 * Decides the fate of every transaction whose nonce the chain has used (the account's mined nonce
 * is past it): the transaction whose attempt was mined is confirmed with its receipt (gas counted,
 * requests it did not settle queued again); every other transaction of that nonce is abandoned and
 * its requests queued again. A nonce used by a transaction the store does not know (another sender
 * of the key, or a receipt an RPC node has not indexed yet) is given `missingReceiptGraceMs` first.
 */
export class Confirmer {
  private readonly missingSince = new Map<number, number>();

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly missingReceiptGraceMs: number,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  async check(now = Date.now()): Promise<void> {
    const open = this.store.unresolvedNonces(Number.MAX_SAFE_INTEGER);
    if (open.length === 0) {
      this.missingSince.clear();
      return;
    }
    const mined = await this.chain.nonce("latest");
    const used = open.filter((nonce) => nonce < mined);
    for (const nonce of this.missingSince.keys()) if (!used.includes(nonce)) this.missingSince.delete(nonce);
    for (const nonce of used) await this.settleNonce(nonce, now);
  }

  /**
   * Every transaction of a used nonce, abandoned ones included (a node may still have held one):
   * whichever was mined is confirmed and counted; the unfinished others are abandoned.
   */
  private async settleNonce(nonce: number, now: number): Promise<void> {
    const txs = this.store.txsWithNonce(nonce);
    let winner = txs.find((tx) => tx.state === "confirmed");
    if (!winner) {
      const found = await this.findMined(txs);
      if (found) {
        winner = found.tx;
        this.confirm(found.tx, found.receipt);
      }
    }
    if (winner) {
      this.missingSince.delete(nonce);
      for (const tx of txs) {
        if (tx.id !== winner.id && (tx.state === "in_progress" || tx.state === "unconfirmed")) this.abandon(tx, `nonce ${nonce} was used by transaction ${winner.id}`);
      }
      this.store.resolveNonce(nonce);
      return;
    }
    const since = this.missingSince.get(nonce) ?? now;
    this.missingSince.set(nonce, since);
    if (now - since < this.missingReceiptGraceMs) return;
    this.missingSince.delete(nonce);
    for (const tx of txs) {
      if (tx.state === "in_progress" || tx.state === "unconfirmed") this.abandon(tx, `nonce ${nonce} was used by a transaction this bridge did not send`);
    }
    this.store.resolveNonce(nonce);
  }

  /** The mined attempt among every attempt of every transaction with this nonce (any state: an abandoned one may have won). */
  private async findMined(txs: TxRecord[]): Promise<{ tx: TxRecord; receipt: TxReceipt } | undefined> {
    const candidates = txs.flatMap((tx) => tx.attempts.map((attempt) => ({ tx, hash: attempt.hash })));
    const receipts = await Promise.all(candidates.map((c) => this.chain.receipt(c.hash)));
    const index = receipts.findIndex((r) => r !== undefined);
    return index < 0 ? undefined : { tx: candidates[index]!.tx, receipt: receipts[index]! };
  }

  private confirm(tx: TxRecord, receipt: TxReceipt): void {
    this.store.confirmTx(tx.id, { ...receipt, hash: receipt.hash });
    this.metrics.gasUsed.inc(Number(receipt.gasUsed));
    if (!receipt.success) {
      this.log.warn({ event: "tx_reverted", txId: tx.id, hash: receipt.hash, kind: tx.kind }, "transaction reverted; its requests are queued again");
    } else {
      this.log.debug({ event: "tx_confirmed", txId: tx.id, hash: receipt.hash, block: receipt.blockNumber }, "transaction mined");
    }
  }

  private abandon(tx: TxRecord, reason: string): void {
    this.store.abandonTx(tx.id, reason);
    this.metrics.txsAbandoned.inc({ kind: tx.kind });
    this.log.warn({ event: "tx_abandoned", txId: tx.id, kind: tx.kind, nonce: tx.nonce, requests: tx.requestIds.length, reason }, "transaction will not be mined; its requests are queued again");
  }
}
