import { toHex, type Hex } from "../../protocol/hex.js";
import type { AgentRequest } from "../../protocol/request.js";
import type { ChainClient, Fulfillment } from "./chain/chain-client.js";
import { RpcError, SimulationError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord, TxRecord } from "./store/store.js";

export interface SubmitterOptions {
  maxBatchSize: number;
  maxInFlight: number;
  gasBumpAfterMs: number;
  gasBumpPercent: number;
  maxFeePerGas: bigint;
  gasPerFulfillment: number;
  maxTxGas: number;
}

const GAS_LIMIT_HEADROOM_PERCENT = 25n;
const PERCENT = 100n;
/** Intrinsic gas of a transaction plus the router's per-batch work. */
const BASE_TX_GAS = 100_000;
const CALLDATA_GAS_PER_BYTE = 16n;
const SELF_TRANSFER_GAS = 21_000n;

function toFulfillment(record: RequestRecord): Fulfillment {
  const answer = record.answer!;
  return {
    request: record.request,
    status: answer.status,
    output: toHex(answer.output),
    subAgentIds: answer.subAgentIds.map(BigInt),
    signature: toHex(answer.signature),
  };
}

/**
 * Writes answers and timeouts on-chain: simulates every transaction first (eth_call for fulfilment
 * batches, eth_estimateGas for timeouts), batches fulfilments within a gas budget, pipelines nonces, tracks
 * receipts, re-sends stuck transactions with bumped fees. A request already settled is never
 * submitted (isPending is checked, and fulfillBatch skips settled entries anyway), so no request
 * is paid twice.
 */
export class Submitter {
  private nextNonce: number | undefined;
  private readonly timeoutsInFlight = new Set<string>();
  /** Fulfilments (main loop) and timeouts/bumps (scheduled jobs) share one nonce sequence: one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly options: SubmitterOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  private inFlightNonces(): number {
    return new Set(this.store.pendingTxs().map((t) => t.nonce)).size;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Tracks receipts, then sends batches of signed answers while the pipeline has room. */
  tick(chainTime: bigint): Promise<number> {
    return this.exclusive(() => this.submitReady(chainTime));
  }

  private async submitReady(chainTime: bigint): Promise<number> {
    await this.trackReceipts();
    let sent = 0;
    while (this.inFlightNonces() < this.options.maxInFlight) {
      const ready = this.withinGasBudget(this.store.readyToSubmit(this.options.maxBatchSize));
      if (ready.length === 0) break;
      const batch = await this.filterSubmittable(ready, chainTime);
      if (batch.length === 0) continue;
      const accepted = await this.simulateBatch(batch);
      if (accepted.length === 0) continue;
      await this.sendFulfillments(accepted);
      sent += accepted.length;
    }
    return sent;
  }

  /**
   * Drops answers that can no longer be used: request settled meanwhile, or deadline passed. An
   * entry whose isPending call failed waits for the next pass without holding back the others.
   */
  private async filterSubmittable(records: RequestRecord[], chainTime: bigint): Promise<RequestRecord[]> {
    const pending = await this.chain.isPending(records.map((r) => r.id));
    const keep: RequestRecord[] = [];
    records.forEach((record, i) => {
      const result = pending[i]!;
      if (result instanceof Error) return;
      if (!result) {
        // Settled by another bridge or a timeout; the watcher records the outcome from the event.
        this.store.markSubmitted([record.id], record.submitTx ?? "settled-elsewhere");
      } else if (record.request.deadline < chainTime) {
        this.store.markFailed(record.id, "deadline passed before submission");
      } else {
        keep.push(record);
      }
    });
    if (keep.length === 0 && pending.some((p) => p instanceof Error)) throw pending.find((p) => p instanceof Error);
    return keep;
  }

  /** Gas a fulfilment may use: its callback's limit plus the router's verification and settlement. */
  private gasBudget(record: RequestRecord): bigint {
    return record.request.callbackGasLimit + BigInt(this.options.gasPerFulfillment);
  }

  /** The longest prefix whose gas budget fits one transaction (always at least one entry). */
  private withinGasBudget(records: RequestRecord[]): RequestRecord[] {
    let total = BigInt(BASE_TX_GAS);
    const limit = BigInt(this.options.maxTxGas);
    const fit: RequestRecord[] = [];
    for (const record of records) {
      total += this.gasBudget(record);
      if (fit.length > 0 && total > limit) break;
      fit.push(record);
    }
    return fit;
  }

  /**
   * Keeps the entries whose simulation (eth_call of fulfillBatch) passes; a failing batch is
   * bisected to find the culprits. eth_call runs the batch once, where eth_estimateGas would run
   * it a dozen times in its binary search; the gas limit comes from the per-entry budget instead.
   */
  private async simulateBatch(records: RequestRecord[]): Promise<RequestRecord[]> {
    try {
      await this.chain.simulate(this.chain.encodeFulfillBatch(records.map(toFulfillment)));
      return records;
    } catch (error) {
      if (!(error instanceof SimulationError)) throw error;
      if (records.length === 1) {
        const record = records[0]!;
        this.metrics.simulationRejects.inc();
        this.store.markFailed(record.id, `fulfil simulation reverted: ${error.reason}`);
        this.log.warn({ event: "simulation_rejected", requestId: record.id.toString(), reason: error.reason }, "fulfilment would revert; not sent");
        return [];
      }
      const half = Math.ceil(records.length / 2);
      return [...(await this.simulateBatch(records.slice(0, half))), ...(await this.simulateBatch(records.slice(half)))];
    }
  }

  private async sendFulfillments(records: RequestRecord[]): Promise<void> {
    const data = this.chain.encodeFulfillBatch(records.map(toFulfillment));
    const gasLimit = records.reduce((sum, r) => sum + this.gasBudget(r), BigInt(BASE_TX_GAS) + BigInt(data.length / 2) * CALLDATA_GAS_PER_BYTE);
    await this.send("fulfill", data, gasLimit, records.map((r) => r.id));
  }

  /** Sends timeout(request) for each expired request that is still pending; returns how many were sent. */
  sweep(requests: AgentRequest[]): Promise<number> {
    return this.exclusive(() => this.sendTimeouts(requests));
  }

  private async sendTimeouts(requests: AgentRequest[]): Promise<number> {
    let sent = 0;
    for (const request of requests) {
      const key = request.id.toString();
      if (this.timeoutsInFlight.has(key)) continue;
      const data = this.chain.encodeTimeout(request);
      let estimate: bigint;
      try {
        estimate = await this.chain.estimateGas(data);
      } catch (error) {
        if (!(error instanceof SimulationError)) throw error;
        // Usually settled meanwhile or not yet past the deadline in the next block; the watcher records settlements.
        this.log.debug({ event: "timeout_skipped", requestId: key, reason: error.reason }, "timeout would revert; not sent");
        continue;
      }
      this.timeoutsInFlight.add(key);
      await this.send("timeout", data, (estimate * (PERCENT + GAS_LIMIT_HEADROOM_PERCENT)) / PERCENT, [request.id]);
      sent++;
    }
    return sent;
  }

  private async takeNonce(): Promise<number> {
    this.nextNonce ??= await this.chain.nonce("pending");
    return this.nextNonce++;
  }

  private async send(kind: TxRecord["kind"], data: Hex, gasLimit: bigint, requestIds: bigint[]): Promise<void> {
    const fees = await this.chain.fees();
    const maxFeePerGas = fees.maxFeePerGas > this.options.maxFeePerGas ? this.options.maxFeePerGas : fees.maxFeePerGas;
    const maxPriorityFeePerGas = fees.maxPriorityFeePerGas > maxFeePerGas ? maxFeePerGas : fees.maxPriorityFeePerGas;
    const nonce = await this.takeNonce();
    const tx = { to: this.chain.router, data, nonce, gasLimit, maxFeePerGas, maxPriorityFeePerGas };
    let hash: Hex | undefined;
    try {
      const signed = await this.chain.sign(tx);
      hash = signed.hash;
      // Persist before broadcasting: after a crash the transaction is tracked (and re-sent) instead of forgotten.
      this.store.saveTx({ ...tx, hash, kind, requestIds, sentAt: Date.now(), status: "pending" });
      if (kind === "fulfill") this.store.markSubmitted(requestIds, hash);
      await this.chain.broadcast(signed.raw);
    } catch (error) {
      // Whatever failed, the nonce may be unused: re-read it from the node rather than leave a gap.
      this.nextNonce = undefined;
      if (hash !== undefined) this.store.updateTx(hash, { status: "dropped" });
      if (kind === "fulfill") this.store.reopenSubmitted(requestIds);
      else for (const id of requestIds) this.timeoutsInFlight.delete(id.toString());
      throw error;
    }
    this.metrics.txs.inc({ kind });
    this.log.info({ event: "tx_sent", kind, hash, nonce, requests: requestIds.length }, `${kind} transaction sent`);
  }

  /** Settles the bookkeeping of mined transactions; reopens the requests of reverted or vanished ones. */
  private async trackReceipts(): Promise<void> {
    const pending = this.store.pendingTxs();
    if (pending.length === 0) return;
    const byNonce = new Map<number, TxRecord[]>();
    for (const tx of pending) byNonce.set(tx.nonce, [...(byNonce.get(tx.nonce) ?? []), tx]);
    let minedNonce: number | undefined;
    for (const [nonce, group] of byNonce) {
      const receipts = await Promise.all(group.map((tx) => this.chain.receipt(tx.hash)));
      const index = receipts.findIndex((r) => r !== undefined);
      if (index >= 0) {
        const receipt = receipts[index]!;
        const tx = group[index]!;
        this.store.updateTx(tx.hash, {
          status: receipt.success ? "mined" : "reverted",
          blockNumber: receipt.blockNumber,
          gasUsed: receipt.gasUsed,
          effectiveGasPrice: receipt.effectiveGasPrice,
        });
        for (const other of group) if (other.hash !== tx.hash) this.store.updateTx(other.hash, { status: "replaced" });
        this.metrics.gasUsed.inc(Number(receipt.gasUsed));
        if (!receipt.success) {
          this.log.warn({ event: "tx_reverted", hash: tx.hash, kind: tx.kind }, "transaction reverted; its requests are retried");
          if (tx.kind === "fulfill") this.store.reopenSubmitted(tx.requestIds);
        }
        if (tx.kind === "timeout") for (const id of tx.requestIds) this.timeoutsInFlight.delete(id.toString());
        continue;
      }
      minedNonce ??= await this.chain.nonce("latest");
      if (minedNonce > nonce) {
        // The nonce was used by a transaction this store does not know (e.g. sent before a crash): ours will never mine.
        for (const tx of group) this.store.updateTx(tx.hash, { status: "replaced" });
        const first = group[0]!;
        if (first.kind === "fulfill") this.store.reopenSubmitted(first.requestIds);
        else for (const id of first.requestIds) this.timeoutsInFlight.delete(id.toString());
      }
    }
  }

  /**
   * A nonce below every pending transaction that the node never got (its broadcast failed after
   * later ones were sent) would hold them back forever: fill it with a zero-value self-transfer.
   */
  private async fillNonceGaps(): Promise<void> {
    const pending = this.store.pendingTxs();
    if (pending.length === 0) return;
    const lowest = Math.min(...pending.map((t) => t.nonce));
    const [latest, fees] = await Promise.all([this.chain.nonce("pending"), this.chain.fees()]);
    for (let nonce = latest; nonce < lowest; nonce++) {
      const { raw } = await this.chain.sign({ to: this.chain.account, data: "0x", nonce, gasLimit: SELF_TRANSFER_GAS, ...fees });
      await this.chain.broadcast(raw);
      this.log.warn({ event: "nonce_gap_filled", nonce }, "filled a nonce gap with a self-transfer");
    }
  }

  /** Re-sends transactions unmined for longer than gasBumpAfterMs with the same nonce and higher fees. */
  bumpStuck(now = Date.now()): Promise<number> {
    return this.exclusive(() => this.bump(now));
  }

  private async bump(now: number): Promise<number> {
    await this.fillNonceGaps();
    let bumped = 0;
    const latestByNonce = new Map<number, TxRecord>();
    for (const tx of this.store.pendingTxs()) {
      const current = latestByNonce.get(tx.nonce);
      if (!current || tx.sentAt > current.sentAt) latestByNonce.set(tx.nonce, tx);
    }
    for (const tx of latestByNonce.values()) {
      if (now - tx.sentAt < this.options.gasBumpAfterMs) continue;
      const factor = PERCENT + BigInt(this.options.gasBumpPercent);
      const bump = (value: bigint) => (value * factor + PERCENT - 1n) / PERCENT;
      const maxFeePerGas = bump(tx.maxFeePerGas);
      if (maxFeePerGas > this.options.maxFeePerGas) {
        // Cannot outbid further within the cap: re-broadcast as is (a node may have dropped it).
        this.log.warn({ event: "gas_cap_reached", hash: tx.hash }, "stuck transaction at the fee cap; re-broadcasting");
        const { raw } = await this.chain.sign(tx);
        await this.chain.broadcast(raw).catch((error) => this.log.warn({ event: "rebroadcast_failed", err: errorMessage(error) }, "re-broadcast failed"));
        continue;
      }
      const replacement = { to: tx.to, data: tx.data, nonce: tx.nonce, gasLimit: tx.gasLimit, maxFeePerGas, maxPriorityFeePerGas: bump(tx.maxPriorityFeePerGas) };
      const { hash, raw } = await this.chain.sign(replacement);
      this.store.saveTx({ ...replacement, hash, kind: tx.kind, requestIds: tx.requestIds, sentAt: now, status: "pending" });
      try {
        await this.chain.broadcast(raw);
      } catch (error) {
        this.store.updateTx(hash, { status: "dropped" });
        if (error instanceof RpcError) {
          this.log.warn({ event: "gas_bump_failed", hash: tx.hash, err: error.message }, "gas bump rejected");
          continue;
        }
        throw error;
      }
      this.metrics.gasBumps.inc();
      this.log.info({ event: "gas_bump", old: tx.hash, hash, nonce: tx.nonce, maxFeePerGas: maxFeePerGas.toString() }, "re-sent stuck transaction with higher fees");
      bumped++;
    }
    return bumped;
  }
}
