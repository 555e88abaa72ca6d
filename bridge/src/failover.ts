import { stateBlock, type ChainClient } from "./chain/chain-client.js";
import { SimulationError, errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";
import { NO_MORE_BACKUPS, type BridgeStore, type RequestRecord } from "./store/store.js";

/** Requests looked at per pass. */
const PASS_LIMIT = 500;

/**
 * Hands requests whose worker has not answered over to their backups (AgentRouter.backupWorker):
 * once backup k's window opens on-chain (chain time of the latest head) and the request still has no
 * answer on its way (confirmed, dispatched or failed in the store), it is queued for backup k under
 * that worker's address, and the dispatcher calls it like any worker (with `backupRank`); its answer
 * goes on-chain with fulfillAsBackup. Everything it decides is in the store (`worker`, `worker_rank`,
 * `backup_at`), so a restarted bridge (or the fleet's next scanner) carries on where the last one stopped.
 *
 * When a window opens is learned from the router, not computed here: a window opens a fixed time
 * before the deadline for a given config version and rank (a share of that version's timeout), so
 * the first backupWorker answer for a (version, rank) tells it for every request of that version,
 * and requests answered on the happy path cost no call at all.
 */
export class Failover {
  /** deadline - opensAt by `configVersion:rank`, as backupWorker answered. */
  private readonly offsets = new Map<string, bigint>();
  /** The router's MAX_BACKUPS, read once. */
  private maxRank?: number;

  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  /** One pass at chain time `chainTime`: returns how many requests were handed over to a backup. */
  async tick(chainTime: bigint): Promise<number> {
    // In a fleet the scanner alone hands requests over (as it alone scans and confirms): every
    // instance would read each new request's row to schedule its backup window and write the same
    // schedule, work that grows with the fleet. Its decisions are in the store, so a new scanner
    // carries on. A single store is always the scanner.
    if (!(await this.store.renewLeases()).scanner) return 0;
    const due = await this.store.failoverDue(chainTime, PASS_LIMIT);
    if (due.length === 0) return 0;
    this.maxRank ??= await this.chain.maxBackups();
    const schedule: { id: bigint; at: number }[] = [];
    const ask: RequestRecord[] = [];
    /** Requests whose window is not known yet, by (version, rank): they wait for one learner's answer. */
    const waiting = new Map<string, RequestRecord[]>();
    for (const record of due) {
      if (record.rank >= this.maxRank) {
        schedule.push({ id: record.id, at: NO_MORE_BACKUPS });
        continue;
      }
      const key = offsetKey(record, record.rank + 1);
      const opensAt = this.opensAt(record, record.rank + 1);
      if (opensAt !== undefined && opensAt > chainTime) schedule.push({ id: record.id, at: Number(opensAt) });
      else if (opensAt !== undefined) ask.push(record);
      else {
        // Unknown windows are learned from one request per (version, rank).
        const queue = waiting.get(key);
        if (queue) queue.push(record);
        else {
          waiting.set(key, []);
          ask.push(record);
        }
      }
    }
    const refused = new Set<string>();
    let handedOver = await this.handOver(ask, chainTime, schedule, refused);
    // A learner the router had no backup for (NoBackup: the draw is per request) taught nothing: the
    // others of its (version, rank) are asked now, each for itself, rather than one per pass (each
    // pass reads the whole due queue again).
    const unlearned = [...waiting].filter(([key]) => refused.has(key) && !this.offsets.has(key)).flatMap(([, records]) => records);
    handedOver += await this.handOver(unlearned, chainTime, schedule);
    // Those whose window was learned meanwhile are scheduled from it.
    for (const [key, records] of waiting) {
      if (!this.offsets.has(key)) continue;
      for (const record of records) {
        const opensAt = this.opensAt(record, record.rank + 1)!;
        if (opensAt > chainTime) schedule.push({ id: record.id, at: Number(opensAt) });
      }
    }
    if (schedule.length > 0) await this.store.scheduleBackups(schedule);
    return handedOver;
  }

  /**
   * Asks the router for the next backup of each of `ask`; hands over those whose window is open,
   * schedules the others. `refused` collects the (version, rank) keys of requests the router refused.
   */
  private async handOver(ask: RequestRecord[], chainTime: bigint, schedule: { id: bigint; at: number }[], refused = new Set<string>()): Promise<number> {
    if (ask.length === 0) return 0;
    // Read at a block at or after each request's own: a lagging node answers RequestNotPending for a
    // request it has not seen yet, which would end the request's failover for good.
    const head = await stateBlock(this.chain, []);
    const answers = await Promise.allSettled(
      ask.map((record) => this.chain.backupWorker(record.request, record.rank + 1, Math.max(head, record.block.number))),
    );
    let handedOver = 0;
    for (const [i, answer] of answers.entries()) {
      const record = ask[i]!;
      const rank = record.rank + 1;
      const id = record.id.toString();
      if (answer.status === "rejected") {
        // NoBackup (no eligible worker left, or past the last rank), RequestNotPending / RequestMismatch
        // (settled meanwhile: the watcher records how): nobody to hand it to. An RPC failure is retried next pass.
        if (answer.reason instanceof SimulationError) {
          schedule.push({ id: record.id, at: NO_MORE_BACKUPS });
          refused.add(offsetKey(record, rank));
          this.log.info({ event: "no_backup", requestId: id, rank, reason: answer.reason.reason }, "no backup to hand the request over to");
        } else {
          this.log.warn({ event: "backup_lookup_failed", requestId: id, rank, err: errorMessage(answer.reason) }, "could not read the request's backup");
        }
        continue;
      }
      const { worker, opensAt } = answer.value;
      this.offsets.set(offsetKey(record, rank), record.request.deadline - opensAt);
      if (opensAt > chainTime) {
        schedule.push({ id: record.id, at: Number(opensAt) });
        continue;
      }
      // The next rank is looked at from its window (0: not known yet, asked in the next pass).
      const next = rank >= this.maxRank! ? NO_MORE_BACKUPS : Number(this.opensAt(record, rank + 1) ?? 0n);
      if (!(await this.store.assignBackup(record.id, rank, worker, next))) continue;
      handedOver++;
      this.metrics.handovers.inc({ rank: String(rank) });
      this.log.info(
        { event: "handed_over", requestId: id, rank, backup: worker, from: record.assignee, opensAt: opensAt.toString() },
        `worker ${record.assignee} has not answered by the window of backup ${rank}: handed over to ${worker}`,
      );
    }
    return handedOver;
  }

  private opensAt(record: RequestRecord, rank: number): bigint | undefined {
    const offset = this.offsets.get(offsetKey(record, rank));
    return offset === undefined ? undefined : record.request.deadline - offset;
  }
}

function offsetKey(record: RequestRecord, rank: number): string {
  return `${record.request.configVersion}:${rank}`;
}
