export const STAGES = ["startup", "watcher", "failover", "dispatcher", "submitter", "sweeper", "reconciler"] as const;
export type Stage = (typeof STAGES)[number];

export interface StageRecord {
  lastOkAt?: number;
  lastError?: string;
  lastErrorAt?: number;
  consecutiveFailures: number;
}

/** The last success and failure of each stage of the bridge, for /healthz. */
export class StageHealth {
  private readonly stages = new Map<Stage, StageRecord>(STAGES.map((stage) => [stage, { consecutiveFailures: 0 }]));

  ok(stage: Stage, now = Date.now()): void {
    const record = this.stages.get(stage)!;
    record.lastOkAt = now;
    record.consecutiveFailures = 0;
  }

  failed(stage: Stage, error: string, now = Date.now()): void {
    const record = this.stages.get(stage)!;
    record.lastError = error;
    record.lastErrorAt = now;
    record.consecutiveFailures++;
  }

  get(stage: Stage): Readonly<StageRecord> {
    return this.stages.get(stage)!;
  }
}
