import { byteLength, toHex, type Hex } from "../../protocol/hex.js";
import { AGENT_REQUEST_FIELDS } from "../../protocol/request.js";
import { stateBlock, type ChainClient, type Fulfillment } from "./chain/chain-client.js";
import { gasLimitBound, gasLimitFor, type GasSchedule } from "./chain/gas-schedule.js";
import { SimulationError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord } from "./store/store.js";
import type { TxManager } from "./txm/tx-manager.js";

export interface SubmitterOptions {
  maxBatchSize: number;
  /** Unmined transactions of the account at once (pipelined nonces)... */
  maxInFlight: number;
  /** ...and the gas they may hold together: about what the next blocks can include. */
  maxInFlightGas: number;
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
 * What fulfillAsBackup adds, for planning the pipeline's gas only (the transaction's limit is
 * estimated): the draw of the backup (a few sampling rounds) and the primary's slash (SLASH_GAS).
 */
const BACKUP_EXECUTION_GAS = 500_000n;
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

/** An answer signed by a backup: it goes on-chain alone, with fulfillAsBackup(fulfillment, rank). */
function isBackup(record: RequestRecord): boolean {
  return (record.answerRank ?? 0) > 0;
}

/** Gas estimates of backup answers are taken with this margin (the draw reads staking weights that may move before inclusion). */
const BACKUP_GAS_MARGIN_PERCENT = 30n;

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
 * (isPending for every planned entry in one JSON-RPC batch), simulates each batch with eth_call
 * (concurrently) and bisects a reverting one down to its culprits, and hands the rest to the
 * transaction manager in nonce order
 * while fewer than `maxInFlight` of the account's transactions, holding less than `maxInFlightGas`,
 * are unmined: the pipeline is bounded by what blocks can include, not by a transaction count
 * alone, so answers that travel one per transaction (64 KiB outputs: two exceed a node's
 * transaction size limit) are sent several per block on consecutive nonces instead of a few per
 * block. A request already settled is never paid twice: fulfillBatch skips settled entries.
 * A backup's answer (Failover) travels alone in fulfillAsBackup, its gas limit estimated: the draw
 * of the backup and the primary's slash cost what the staking side makes them cost. If the primary's
 * answer lands first it reverts RequestNotPending, which is a settlement, not a failure.
 */
export class Submitter {
  /** Largest batch to try next: halved when a node refuses a batch outright (fatal), grown back after a success. */
  private batchCap: number;
  /** eth_estimateGas of simulated backup answers, by request id, until they are sent. */
  private readonly backupGas = new Map<bigint, bigint>();
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
    this.backupGas.clear();
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
      // The pipeline's room is read from the store once per round (a read copies every unmined
      // transaction's calldata: 64 KiB each with large outputs) and counted down as batches go.
      for (let room = await this.pipelineRoom(); room.count > 0 && room.gas > 0n; room = await this.pipelineRoom()) {
        // The transactions the pipeline has room for are planned together, checked with one
        // isPending batch and simulated concurrently, then sent in order: per transaction only
        // signing and its broadcast wait on the node. One at a time, each waited for two more
        // round trips, and a restarted bridge on a loaded machine sent a few before it was killed.
        const planned: RequestRecord[][] = [];
        for (let gasLeft = room.gas; planned.length < room.count && gasLeft > 0n;) {
          if (queue.length === 0) {
            if (!more) break;
            const read = await this.store.readyToSubmit(this.options.maxBatchSize + handled.size);
            more = read.length === this.options.maxBatchSize + handled.size;
            queue = read.filter((r) => !handled.has(r.id));
            if (queue.length === 0) break;
          }
          const { fit, gas } = this.withinLimits(queue.slice(0, this.batchCap));
          for (const record of fit) handled.add(record.id);
          queue = queue.filter((r) => !handled.has(r.id));
          planned.push(fit);
          gasLeft -= gas;
        }
        if (planned.length === 0) break;
        const live = new Set((await this.filterSubmittable(planned.flat(), chainTime)).map((r) => r.id));
        const batches = planned.flatMap((batch) =>
          this.splitLate(
            batch.filter((r) => live.has(r.id)),
            chainTime,
          ),
        );
        // Splitting may make more transactions than there is room for: the rest wait at the front.
        for (const record of batches.splice(room.count).flat()) handled.delete(record.id);
        queue = [...planned.flat().filter((r) => live.has(r.id) && !handled.has(r.id)), ...queue];
        const simulated = await Promise.allSettled(batches.map((batch) => this.simulateBatch(batch)));
        let stop = false;
        for (const [i, result] of simulated.entries()) {
          // A batch whose simulation failed (RPC error) waits for the next pass; the others go.
          if (result.status === "rejected") {
            this.metrics.loopErrors.inc({ component: "submitter" });
            this.log.warn(
              { event: "simulation_failed", requests: batches[i]!.length, err: errorMessage(result.reason) },
              "could not simulate a batch; next pass",
            );
            continue;
          }
          if (result.value.length === 0) continue;
          const gas = room.count > 0 && room.gas > 0n ? await this.sendFulfillments(result.value) : undefined;
          if (gas === undefined) {
            stop = true;
            break;
          }
          room.count--;
          room.gas -= gas;
          sent += result.value.length;
        }
        if (stop) break;
      }
    } finally {
      const ms = (from: number, to = performance.now()) => Math.round(to - from);
      this.log.debug({ event: "submit_pass", sent, trackMs: ms(started, tracked), sendMs: ms(tracked) }, "submitter pass");
    }
    return sent;
  }

  private async pipelineRoom(): Promise<{ count: number; gas: bigint }> {
    const { count, gas } = await this.txm.inFlight();
    return { count: this.options.maxInFlight - count, gas: BigInt(this.options.maxInFlightGas) - gas };
  }

  /**
   * fulfillBatch reverts as a whole on an expired entry: an answer that may expire before
   * inclusion travels alone (first: it is the most urgent), so it cannot take the others down.
   */
  private splitLate(batch: RequestRecord[], chainTime: bigint): RequestRecord[][] {
    const isLate = (r: RequestRecord) => r.request.deadline < chainTime + BigInt(this.options.deadlineMarginSeconds);
    const onTime = batch.filter((r) => !isLate(r));
    return [...batch.filter(isLate).map((r) => [r]), ...(onTime.length > 0 ? [onTime] : [])];
  }

  /**
   * Drops answers that can no longer be used: request settled meanwhile, or deadline passed. An
   * entry whose isPending call failed waits for the next pass without holding back the others.
   * "Not pending" is read at a block at or after every request's own block (a lagging node answers
   * it for a request it has not seen yet): a node without that block fails the call instead.
   */
  private async filterSubmittable(records: RequestRecord[], chainTime: bigint): Promise<RequestRecord[]> {
    const at = await stateBlock(
      this.chain,
      records.map((r) => r.block.number),
    );
    const pending = await this.chain.isPending(
      records.map((r) => r.id),
      at,
    );
    const keep: RequestRecord[] = [];
    const settled: bigint[] = [];
    for (const [i, record] of records.entries()) {
      const result = pending[i]!;
      if (result instanceof Error) continue;
      // Settled by another bridge or a timeout; the watcher records the outcome from the event.
      if (!result) settled.push(record.id);
      else if (record.request.deadline < chainTime) await this.store.markFailed(record.id, "deadline passed before submission");
      else keep.push(record);
    }
    if (settled.length > 0) await this.store.markSettledElsewhere(settled);
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
  private withinLimits(records: RequestRecord[]): { fit: RequestRecord[]; gas: bigint } {
    let execution = BATCH_EXECUTION_GAS;
    let bytes = BATCH_HEAD_BYTES;
    const maxGas = BigInt(this.options.maxTxGas);
    const fit: RequestRecord[] = [];
    for (const record of records) {
      if (isBackup(record)) {
        // Alone in its transaction: the first entry goes as it is, later ones head a batch of their own.
        if (fit.length > 0) continue;
        return { fit: [record], gas: gasLimitBound(BATCH_HEAD_BYTES + entryBytes(record), this.executionBudget(record) + BACKUP_EXECUTION_GAS, this.schedule) };
      }
      const nextExecution = execution + this.executionBudget(record);
      const nextBytes = bytes + entryBytes(record);
      if (fit.length > 0 && (nextBytes > this.options.maxTxBytes || gasLimitBound(nextBytes, nextExecution, this.schedule) > maxGas)) continue;
      execution = nextExecution;
      bytes = nextBytes;
      fit.push(record);
    }
    return { fit, gas: gasLimitBound(bytes, execution, this.schedule) };
  }

  /**
   * Keeps the entries whose simulation (eth_call of fulfillBatch) passes; a failing batch is
   * bisected to find the culprits. eth_call runs the batch once, where eth_estimateGas would run
   * it a dozen times in its binary search; the gas limit comes from the per-entry budget instead.
   */
  private async simulateBatch(records: RequestRecord[]): Promise<RequestRecord[]> {
    if (records.length === 1 && isBackup(records[0]!)) return this.simulateBackup(records[0]!);
    try {
      await this.chain.simulate(this.chain.encodeFulfillBatch(records.map(toFulfillment)));
      return records;
    } catch (error) {
      if (!(error instanceof SimulationError)) throw error;
      if (records.length === 1) {
        const record = records[0]!;
        this.metrics.simulationRejects.inc();
        await this.store.markFailed(record.id, `fulfil simulation reverted: ${error.reason}`);
        this.log.warn({ event: "simulation_rejected", requestId: record.id.toString(), reason: error.reason }, "fulfilment would revert; not sent");
        return [];
      }
      const half = Math.ceil(records.length / 2);
      return [...(await this.simulateBatch(records.slice(0, half))), ...(await this.simulateBatch(records.slice(half)))];
    }
  }

  /**
   * A backup's answer, estimated (eth_estimateGas runs it as it would be mined): kept with its
   * estimate, or left out. Settled meanwhile (the primary's answer landed first): recorded as settled
   * elsewhere, the watcher records by whom. Window not open yet at the node's latest block: tried
   * again next pass. WrongSigner (a stake change moved the draw): the rank is handed over again.
   * Any other revert: failed (Failover may hand it to the next backup).
   */
  private async simulateBackup(record: RequestRecord): Promise<RequestRecord[]> {
    try {
      const estimate = await this.chain.estimateGas(this.encode([record]));
      this.backupGas.set(record.id, estimate + (estimate * BACKUP_GAS_MARGIN_PERCENT) / 100n);
      return [record];
    } catch (error) {
      if (!(error instanceof SimulationError)) throw error;
      const id = record.id.toString();
      if (error.revert.name === "RequestNotPending") {
        await this.store.markSettledElsewhere([record.id]);
        this.log.info({ event: "backup_answer_superseded", requestId: id }, "request settled before the backup's answer was sent");
      } else if (error.revert.name === "WrongSigner") {
        // The draw moved (stake changed since the handover): that rank's backup is read again.
        await this.store.redrawBackup(record.id, `backup ${record.answerRank} is no longer the router's draw: ${error.reason}`);
        this.log.warn({ event: "backup_redrawn", requestId: id, reason: error.reason }, "the backup's rank is now another worker's; handed over again");
      } else if (error.revert.name !== "BackupWindowNotOpen") {
        this.metrics.simulationRejects.inc();
        await this.store.markFailed(record.id, `fulfilAsBackup simulation reverted: ${error.reason}`);
        this.log.warn({ event: "simulation_rejected", requestId: id, reason: error.reason }, "backup fulfilment would revert; not sent");
      }
      return [];
    }
  }

  private encode(records: RequestRecord[]): Hex {
    const first = records[0]!;
    return records.length === 1 && isBackup(first)
      ? this.chain.encodeFulfillAsBackup(toFulfillment(first), first.answerRank!)
      : this.chain.encodeFulfillBatch(records.map(toFulfillment));
  }

  /** Sends one batch; its gas limit, or undefined when no node took it (its requests are queued again) and this pass should stop. */
  private async sendFulfillments(records: RequestRecord[]): Promise<bigint | undefined> {
    const data = this.encode(records);
    const estimated = records.length === 1 ? this.backupGas.get(records[0]!.id) : undefined;
    if (estimated !== undefined) this.backupGas.delete(records[0]!.id);
    const gasLimit =
      estimated ??
      gasLimitFor(
        data,
        records.reduce((sum, r) => sum + this.executionBudget(r), BATCH_EXECUTION_GAS),
        this.schedule,
      );
    const result = await this.txm.send({ kind: "fulfill", to: this.chain.router, data, gasLimit, requestIds: records.map((r) => r.id) });
    if (result.sent) {
      this.batchCap = Math.min(this.options.maxBatchSize, this.batchCap * 2);
      return gasLimit;
    }
    if (result.kind === "fatal") {
      // No node takes this transaction as it is: a single answer is given up (the sweep times it
      // out), a batch is retried in halves until the culprit stands alone.
      if (records.length === 1) await this.store.markFailed(records[0]!.id, `no node accepts its fulfilment: ${String(result.error)}`);
      else this.batchCap = Math.ceil(records.length / 2);
    }
    return undefined;
  }
}
