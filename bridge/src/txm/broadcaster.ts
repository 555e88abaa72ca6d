import type { Hex } from "../../../protocol/hex.js";
import type { ChainClient, TxRequest } from "../chain/chain-client.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { BridgeMetrics } from "../metrics.js";
import type { BridgeStore, TxKind } from "../store/store.js";
import { capFees, type Fees } from "./fees.js";
import { classifySendError, type SendErrorKind } from "./send-errors.js";

/** A logical transaction to send: the broadcaster chooses nonce and fees. */
export interface TxIntent {
  kind: TxKind;
  to: string;
  data: Hex;
  gasLimit: bigint;
  requestIds: bigint[];
}

export type SendResult =
  /** Persisted with a nonce; a node accepted it (`acknowledged`) or may have (the resender offers it again). */
  | { sent: true; txId: number; hash: Hex; nonce: number; acknowledged: boolean }
  /** No node took it: abandoned, its requests back in their queue, its nonce free again. */
  | { sent: false; kind: SendErrorKind; error: unknown };

/**
 * Sends new logical transactions, one at a time, in nonce order (the caller serialises). Each is
 * signed, then persisted with its first attempt and its requests' link in one store transaction,
 * and only then broadcast: a crash at any point leaves a transaction the resender re-offers with
 * the same nonce, never a nonce silently reused for other requests.
 */
/** Fees are read at most this often: they move once per block, and each read is two RPC calls. */
const FEE_CACHE_MS = 1_000;

export class Broadcaster {
  private nextNonce?: number;
  private cachedFees?: { fees: Fees; at: number };

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly maxFeePerGas: bigint,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  /** Forget the cached nonce; the next send asks the node and the store again. */
  resetNonce(): void {
    this.nextNonce = undefined;
  }

  /**
   * The next nonce: above both what the node has (mined and pooled) and what the store still
   * tracks (transactions a crash or a dropped connection may have kept from the node; the resender
   * offers those again, so later nonces are not held back for long).
   */
  private async takeNonce(): Promise<number> {
    if (this.nextNonce === undefined) {
      const tracked = (await this.store.unfinishedTxs()).reduce((max, tx) => Math.max(max, tx.nonce + 1), 0);
      this.nextNonce = Math.max(await this.chain.nonce("pending"), tracked);
    }
    return this.nextNonce++;
  }

  /**
   * Signs `tx`, nudging the tip by 1 wei while the result would be byte for byte an attempt already
   * stored (the same requests re-batched on a nonce given back, at unchanged fees): every attempt
   * keeps its own identity, and a node still holding the old one treats this as its replacement.
   */
  async signUnique(tx: Omit<TxRequest, keyof Fees>, fees: Fees): Promise<{ hash: Hex; raw: Hex }> {
    for (;;) {
      const signed = await this.chain.sign({ ...tx, ...fees });
      if (!(await this.store.hasAttempt(signed.hash))) return signed;
      fees.maxPriorityFeePerGas += 1n;
      if (fees.maxPriorityFeePerGas > fees.maxFeePerGas) fees.maxFeePerGas = fees.maxPriorityFeePerGas;
    }
  }

  async fees(now = Date.now()): Promise<Fees> {
    if (!this.cachedFees || now - this.cachedFees.at >= FEE_CACHE_MS) this.cachedFees = { fees: capFees(await this.chain.fees(), this.maxFeePerGas), at: now };
    return { ...this.cachedFees.fees };
  }

  async send(intent: TxIntent): Promise<SendResult> {
    const fees = await this.fees();
    const nonce = await this.takeNonce();
    let txId: number;
    let signed: { hash: Hex; raw: Hex };
    try {
      signed = await this.signUnique({ to: intent.to, data: intent.data, nonce, gasLimit: intent.gasLimit }, fees);
      txId = await this.store.createTx({ ...intent, nonce }, { hash: signed.hash, ...fees, createdAt: Date.now() });
    } catch (error) {
      this.resetNonce();
      throw error;
    }
    this.metrics.txs.inc({ kind: intent.kind });
    try {
      await this.chain.broadcast(signed.raw);
    } catch (error) {
      const kind = classifySendError(error);
      this.metrics.sendErrors.inc({ kind });
      const context = { event: "send_failed", kind, txId, hash: signed.hash, nonce, err: errorMessage(error) };
      if (kind === "transport") {
        this.log.warn(context, "broadcast unanswered; the transaction is tracked and offered again");
        return { sent: true, txId, hash: signed.hash, nonce, acknowledged: false };
      }
      if (kind !== "already_known") {
        // Certainly in no pool: the nonce is free again and the requests go back to their queue.
        await this.store.abandonTx(txId, `not accepted (${kind}): ${errorMessage(error)}`);
        this.resetNonce();
        this.log.warn(context, "transaction refused by the node; abandoned, its requests are queued again");
        return { sent: false, kind, error };
      }
    }
    await this.store.markBroadcast(signed.hash, Date.now());
    this.log.info(
      { event: "tx_sent", kind: intent.kind, txId, hash: signed.hash, nonce, requests: intent.requestIds.length },
      `${intent.kind} transaction sent`,
    );
    return { sent: true, txId, hash: signed.hash, nonce, acknowledged: true };
  }
}
