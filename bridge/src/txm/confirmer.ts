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
    const open = await this.store.unresolvedNonces(Number.MAX_SAFE_INTEGER);
    if (open.length === 0) {
      this.missingSince.clear();
      return;
    }
    const mined = await this.chain.nonce("latest");
    const used = open.filter((nonce) => nonce < mined);
    for (const nonce of this.missingSince.keys()) if (!used.includes(nonce)) this.missingSince.delete(nonce);
    if (used.length === 0) return;
    const byNonce = await Promise.all(used.map(async (nonce) => ({ nonce, txs: await this.store.txsWithNonce(nonce) })));
    // Every attempt of every transaction of the used nonces (abandoned ones included: a node may
    // still have held one), in one round trip.
    const lookups = byNonce.flatMap(({ txs }) =>
      txs.some((tx) => tx.state === "confirmed") ? [] : txs.flatMap((tx) => tx.attempts.map((a) => ({ tx, hash: a.hash }))),
    );
    const receipts = lookups.length === 0 ? [] : await this.chain.receipts(lookups.map((l) => l.hash));
    for (const { nonce, txs } of byNonce) {
      const mine = lookups.map((lookup, i) => ({ ...lookup, receipt: receipts[i] })).filter((l) => l.tx.nonce === nonce);
      // A failed lookup proves nothing: this nonce waits for the next pass, the others go on.
      if (mine.some((l) => l.receipt instanceof Error)) continue;
      const found = mine.find((l) => l.receipt !== undefined);
      await this.settleNonce(nonce, txs, found && { tx: found.tx, receipt: found.receipt as TxReceipt }, now);
    }
  }

  /** Whichever transaction of a used nonce was mined is confirmed and counted; the unfinished others are abandoned. */
  private async settleNonce(nonce: number, txs: TxRecord[], found: { tx: TxRecord; receipt: TxReceipt } | undefined, now: number): Promise<void> {
    let winner = txs.find((tx) => tx.state === "confirmed");
    if (!winner && found) {
      winner = found.tx;
      await this.confirm(found.tx, found.receipt);
    }
    if (winner) {
      this.missingSince.delete(nonce);
      for (const tx of txs) {
        if (tx.id !== winner.id && (tx.state === "in_progress" || tx.state === "unconfirmed"))
          await this.abandon(tx, `nonce ${nonce} was used by transaction ${winner.id}`);
      }
      await this.store.resolveNonce(nonce);
      return;
    }
    const since = this.missingSince.get(nonce) ?? now;
    this.missingSince.set(nonce, since);
    if (now - since < this.missingReceiptGraceMs) return;
    this.missingSince.delete(nonce);
    for (const tx of txs) {
      if (tx.state === "in_progress" || tx.state === "unconfirmed") await this.abandon(tx, `nonce ${nonce} was used by a transaction this bridge did not send`);
    }
    await this.store.resolveNonce(nonce);
  }

  private async confirm(tx: TxRecord, receipt: TxReceipt): Promise<void> {
    await this.store.confirmTx(tx.id, { ...receipt, hash: receipt.hash });
    this.metrics.gasUsed.inc(Number(receipt.gasUsed));
    if (!receipt.success) {
      this.log.warn({ event: "tx_reverted", txId: tx.id, hash: receipt.hash, kind: tx.kind }, "transaction reverted; its requests are queued again");
    } else {
      this.log.debug({ event: "tx_confirmed", txId: tx.id, hash: receipt.hash, block: receipt.blockNumber }, "transaction mined");
    }
  }

  private async abandon(tx: TxRecord, reason: string): Promise<void> {
    await this.store.abandonTx(tx.id, reason);
    this.metrics.txsAbandoned.inc({ kind: tx.kind });
    this.log.warn(
      { event: "tx_abandoned", txId: tx.id, kind: tx.kind, nonce: tx.nonce, requests: tx.requestIds.length, reason },
      "transaction will not be mined; its requests are queued again",
    );
  }
}
