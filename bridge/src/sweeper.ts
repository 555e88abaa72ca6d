import { AGENT_REQUEST_FIELDS } from "../../protocol/request.js";
import type { ChainClient } from "./chain/chain-client.js";
import { gasLimitFor, type GasSchedule } from "./chain/gas-schedule.js";
import { SimulationError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import type { BridgeStore, RequestRecord } from "./store/store.js";
import type { TxManager } from "./txm/tx-manager.js";

export interface SweeperOptions {
  /** Also time out requests the bridge only saw (anyone may call timeout), not only dispatched ones. */
  sweepAll: boolean;
  gasPerTimeout: number;
  maxTxGas: number;
  /**
   * The chain mines only on transactions (automine): its head's timestamp stops with its blocks, so
   * deadlines are judged by the pending block's, the time a timeout sent now is mined at.
   */
  automine?: boolean;
}

/** Expired requests looked at per sweep. */
const SWEEP_LIMIT = 500;
/**
 * timeoutBatch's own work besides its entries, plus what the router requires to be left when it
 * reaches an entry's slash and timeout notice: SLASH_GAS (300,000) and TIMEOUT_CALLBACK_GAS (50,000),
 * each with the 1/64 the EVM withholds from a call, or it reverts the whole transaction
 * (InsufficientGasForSlash / InsufficientGasForCallback). Unused gas carries over from entry to
 * entry, so the last entry still finds it when this is reserved once per transaction.
 */
export const BATCH_EXECUTION_GAS = 30_000n + 400_000n;
/** Calldata of one entry: its offset word and the static request, one word per field. */
export const ENTRY_BYTES = (1 + AGENT_REQUEST_FIELDS.length) * 32;

export interface SweepResult {
  /** Requests in timeout transactions sent by this sweep. */
  sent: number;
  /** Chunks that failed (RPC errors); the sweep went on with the next one. */
  failed: number;
}

/**
 * Times out expired, unsettled requests on-chain (refund + slash) with timeoutBatch, as many per
 * transaction as the gas cap allows; the router skips entries settled meanwhile, so racing a
 * fulfilment or another bridge pays nothing twice. Each chunk is simulated (eth_call) and bisected
 * to leave out entries that would revert; a chunk that fails does not stop the sweep. A request
 * held by an unmined timeout transaction is not swept again (the store links it); when that
 * transaction is abandoned or reverts the link is released and the next sweep retries it.
 */
export class Sweeper {
  schedule: GasSchedule;

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly txm: TxManager,
    private readonly options: SweeperOptions,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
    schedule: GasSchedule,
  ) {
    this.schedule = schedule;
  }

  async sweep(): Promise<SweepResult> {
    const now = await this.chainTime();
    if (now === undefined) return { sent: 0, failed: 0 };
    let expired = await this.store.expired(now, SWEEP_LIMIT);
    if (!this.options.sweepAll) expired = expired.filter((r) => r.state !== "seen");
    if (expired.length === 0) return { sent: 0, failed: 0 };
    const result = await this.txm.exclusive(() => this.sendTimeouts(expired));
    if (result.sent > 0 || result.failed > 0) this.log.info({ event: "sweep", expired: expired.length, ...result }, "timed out expired requests");
    return result;
  }

  /**
   * The router's `block.timestamp` for a timeout sent now, as far as the node tells: the head's, or
   * on an automining chain the pending block's (it follows the clock, evm_increaseTime included).
   */
  private async chainTime(): Promise<bigint | undefined> {
    const pending = this.options.automine ? await this.chain.pendingTimestamp?.() : undefined;
    return pending ?? (await this.chain.block("latest"))?.timestamp;
  }

  /** Entries per transaction: as many as the gas cap holds. */
  private chunkSize(): number {
    const perEntry = BigInt(this.options.gasPerTimeout);
    return Math.max(1, Number((BigInt(this.options.maxTxGas) - BATCH_EXECUTION_GAS - 21_000n) / (perEntry + BigInt(16 * ENTRY_BYTES))));
  }

  private async sendTimeouts(expired: RequestRecord[]): Promise<SweepResult> {
    await this.txm
      .track()
      .catch((error: unknown) => this.log.warn({ event: "track_failed", err: errorMessage(error) }, "transaction tracking failed; sweeping anyway"));
    const size = this.chunkSize();
    const result: SweepResult = { sent: 0, failed: 0 };
    for (let i = 0; i < expired.length; i += size) {
      const chunk = expired.slice(i, i + size);
      try {
        const accepted = await this.simulate(chunk);
        if (accepted.length === 0) continue;
        const data = this.chain.encodeTimeoutBatch(accepted.map((r) => r.request));
        const gasLimit = gasLimitFor(data, BATCH_EXECUTION_GAS + BigInt(this.options.gasPerTimeout) * BigInt(accepted.length), this.schedule);
        const sent = await this.txm.send({ kind: "timeout", to: this.chain.router, data, gasLimit, requestIds: accepted.map((r) => r.id) });
        if (sent.sent) result.sent += accepted.length;
        else result.failed++;
      } catch (error) {
        // One chunk's RPC failure must not leave the rest of the expired requests waiting for the next sweep.
        result.failed++;
        this.metrics.loopErrors.inc({ component: "sweeper" });
        this.log.warn({ event: "sweep_chunk_failed", requests: chunk.length, err: errorMessage(error) }, "timeout chunk failed; sweeping on");
      }
    }
    return result;
  }

  /** The entries whose timeout would not revert (eth_call of timeoutBatch, bisected on a revert). */
  private async simulate(records: RequestRecord[]): Promise<RequestRecord[]> {
    try {
      // The router refuses a timeout until block.timestamp > deadline: judged at the block the transaction would land in.
      await this.chain.simulate(this.chain.encodeTimeoutBatch(records.map((r) => r.request)), this.options.automine ? "pending" : "latest");
      return records;
    } catch (error) {
      if (!(error instanceof SimulationError)) throw error;
      if (records.length === 1) {
        // Usually not yet past the deadline at the next block's time; tried again on the next sweep.
        this.log.debug({ event: "timeout_skipped", requestId: records[0]!.id.toString(), reason: error.reason }, "timeout would revert; not sent");
        return [];
      }
      const half = Math.ceil(records.length / 2);
      return [...(await this.simulate(records.slice(0, half))), ...(await this.simulate(records.slice(half)))];
    }
  }
}
