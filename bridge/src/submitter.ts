import { byteLength, toHex } from "../../protocol/hex.js";
import { AGENT_REQUEST_FIELDS } from "../../protocol/request.js";
import type { ChainClient, Fulfillment } from "./chain/chain-client.js";
import { gasLimitBound, gasLimitFor, type GasSchedule } from "./chain/gas-schedule.js";
import { SimulationError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord } from "./store/store.js";
import type { TxManager } from "./txm/tx-manager.js";

export interface SubmitterOptions {
  maxBatchSize: number;
  maxInFlight: number;
  gasPerFulfillment: number;
  maxTxGas: number;
  /** Largest fulfillBatch calldata (nodes refuse large transactions: geth's pool above 128 KiB). */
  maxTxBytes: number;
  /** An answer this close to its deadline (s) is sent alone: if it expires before inclusion, only its transaction reverts. */
  deadlineMarginSeconds: number;
}

/** The router's per-batch work, on top of intrinsic and calldata gas. */
const BATCH_EXECUTION_GAS = 79_000n;
/**
 * Execution gas per byte of output: the router counts, hashes and copies it (~3.5 gas per byte;
 * CallbackFailed logs only its hash), with margin.
 */
const GAS_PER_OUTPUT_BYTE = 12n;
const WORD_BYTES = 32;
/** Selector, offset and length words of fulfillBatch(Fulfillment[]). */
const BATCH_HEAD_BYTES = 4 + 2 * WORD_BYTES;
/** Head of one Fulfillment: offset in the array, the request's words, status, three offsets, three length words. */
const ENTRY_FIXED_WORDS = 1 + AGENT_REQUEST_FIELDS.length + 4 + 3;

/** ABI-encoded bytes of one fulfillBatch entry. */
function entryBytes(record: RequestRecord): number {
  const answer = record.answer!;
  const padded = (hex: string) => Math.ceil((hex.length - 2) / 2 / WORD_BYTES);
  return (ENTRY_FIXED_WORDS + padded(answer.output) + answer.subAgentIds.length + padded(answer.signature)) * WORD_BYTES;
}

function toFulfillment(record: RequestRecord): Fulfillment {
  const answer = record.answer!;
  return {
    request: record.request,
    status: answer.status,
    output: toHex(answer.output),
    subAgentIds: answer.subAgentIds.map(BigInt),
    subAgentPrices: answer.subAgentPrices.map(BigInt),
    signature: toHex(answer.signature),
  };
}

/**
 * Turns verified answers into fulfillBatch transactions: drops answers that can no longer be used
 * (isPending for the whole batch in one JSON-RPC batch), simulates the batch with eth_call and
 * bisects a reverting one down to its culprits, and hands the rest to the transaction manager
 * while fewer than `maxInFlight` of the account's transactions are unmined. A request already
 * settled is never paid twice: fulfillBatch skips settled entries.
 */
export class Submitter {
  /** Largest batch to try next: halved when a node refuses a batch outright (fatal), grown back after a success. */
  private batchCap: number;
  /** Calldata pricing of the chain's fork; Bridge probes it at start-up and on the refresh schedule. */
  schedule: GasSchedule;

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly txm: TxManager,
    private readonly options: SubmitterOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
    schedule: GasSchedule,
  ) {
    this.batchCap = options.maxBatchSize;
    this.schedule = schedule;
  }

  /** Tracks the account's transactions, then sends batches of signed answers while the pipeline has room. */
  tick(chainTime: bigint): Promise<number> {
    return this.txm.exclusive(() => this.submitReady(chainTime));
  }

  private async submitReady(chainTime: bigint): Promise<number> {
    const started = performance.now();
    try {
      await this.txm.track();
    } catch (error) {
      // Tracking is retried next pass; new answers need not wait for it.
      this.metrics.loopErrors.inc({ component: "txm" });
      this.log.warn({ event: "track_failed", err: errorMessage(error) }, "transaction tracking failed; sending anyway");
    }
    const tracked = performance.now();
    let sent = 0;
    // Answers are read from the store once per pass and packed from memory: a read parses every
    // answer it returns (64 KiB outputs make that the pass's main CPU cost). More are read only
    // when these are used up and the read was full; an answer is looked at once per pass.
    let queue: RequestRecord[] = [];
    let more = true;
    const handled = new Set<bigint>();
    try {
      while (this.txm.inFlight() < this.options.maxInFlight) {
        if (queue.length === 0) {
          if (!more) break;
          const read = this.store.readyToSubmit(this.options.maxBatchSize + handled.size);
          more = read.length === this.options.maxBatchSize + handled.size;
          queue = read.filter((r) => !handled.has(r.id));
          if (queue.length === 0) break;
        }
        const ready = this.withinLimits(queue.slice(0, this.batchCap));
        for (const record of ready) handled.add(record.id);
        queue = queue.filter((r) => !handled.has(r.id));
        const submittable = await this.filterSubmittable(ready, chainTime);
        if (submittable.length === 0) continue;
        // fulfillBatch reverts as a whole on an expired entry: one that may expire before
        // inclusion must not take the others down with it (they go back to the front).
        const late = submittable.find((r) => r.request.deadline < chainTime + BigInt(this.options.deadlineMarginSeconds));
        if (late) {
          const rest = submittable.filter((r) => r !== late);
          for (const record of rest) handled.delete(record.id);
          queue = [...rest, ...queue];
        }
        const accepted = await this.simulateBatch(late ? [late] : submittable);
        if (accepted.length === 0) continue;
        if (!(await this.sendFulfillments(accepted))) break;
        sent += accepted.length;
      }
    } finally {
      const ms = (from: number, to = performance.now()) => Math.round(to - from);
      this.log.debug({ event: "submit_pass", sent, inFlight: this.txm.inFlight(), trackMs: ms(started, tracked), sendMs: ms(tracked) }, "submitter pass");
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
    const settled: bigint[] = [];
    records.forEach((record, i) => {
      const result = pending[i]!;
      if (result instanceof Error) return;
      // Settled by another bridge or a timeout; the watcher records the outcome from the event.
      if (!result) settled.push(record.id);
      else if (record.request.deadline < chainTime) this.store.markFailed(record.id, "deadline passed before submission");
      else keep.push(record);
    });
    if (settled.length > 0) this.store.markSettledElsewhere(settled);
    if (keep.length === 0 && pending.some((p) => p instanceof Error)) throw pending.find((p) => p instanceof Error);
    return keep;
  }

  /** Execution gas a fulfilment may use: its callback's limit, the router's verification and settlement, its output. */
  private executionBudget(record: RequestRecord): bigint {
    const outputBytes = BigInt(byteLength(toHex(record.answer!.output)));
    return record.request.callbackGasLimit + BigInt(this.options.gasPerFulfillment) + GAS_PER_OUTPUT_BYTE * outputBytes;
  }

  /**
   * The entries, oldest first, that fit one transaction by gas, priced as the fork does (calldata
   * floor included, counting every byte as non-zero), and by size (always at least the oldest).
   * An entry that does not fit is skipped, not a stop: a 64 KiB answer fills most of a transaction's
   * byte budget, and a prefix cut would carry one of them and the few small answers queued before
   * the next, so one large-output worker would throttle every worker's fulfilments. The skipped
   * entry heads the next batch.
   */
  private withinLimits(records: RequestRecord[]): RequestRecord[] {
    let execution = BATCH_EXECUTION_GAS;
    let bytes = BATCH_HEAD_BYTES;
    const maxGas = BigInt(this.options.maxTxGas);
    const fit: RequestRecord[] = [];
    for (const record of records) {
      const nextExecution = execution + this.executionBudget(record);
      const nextBytes = bytes + entryBytes(record);
      if (fit.length > 0 && (nextBytes > this.options.maxTxBytes || gasLimitBound(nextBytes, nextExecution, this.schedule) > maxGas)) continue;
      execution = nextExecution;
      bytes = nextBytes;
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

  /** Sends one batch; false when no node took it (its requests are queued again) and this pass should stop. */
  private async sendFulfillments(records: RequestRecord[]): Promise<boolean> {
    const data = this.chain.encodeFulfillBatch(records.map(toFulfillment));
    const gasLimit = gasLimitFor(data, records.reduce((sum, r) => sum + this.executionBudget(r), BATCH_EXECUTION_GAS), this.schedule);
    const result = await this.txm.send({ kind: "fulfill", to: this.chain.router, data, gasLimit, requestIds: records.map((r) => r.id) });
    if (result.sent) {
      this.batchCap = Math.min(this.options.maxBatchSize, this.batchCap * 2);
      return true;
    }
    if (result.kind === "fatal") {
      // No node takes this transaction as it is: a single answer is given up (the sweep times it
      // out), a batch is retried in halves until the culprit stands alone.
      if (records.length === 1) this.store.markFailed(records[0]!.id, `no node accepts its fulfilment: ${String(result.error)}`);
      else this.batchCap = Math.ceil(records.length / 2);
    }
    return false;
  }
}
