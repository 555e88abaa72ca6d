import cron, { type ScheduledTask } from "node-cron";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";

export interface ScheduledJob {
  name: string;
  /** node-cron expression (6 fields = with seconds). */
  expression: string;
  run: () => Promise<unknown>;
}

/** Runs the bridge's periodic jobs with node-cron; a run never overlaps the previous one of the same job. */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  static validate(expression: string): boolean {
    return cron.validate(expression);
  }

  add(job: ScheduledJob): void {
    const task = cron.schedule(
      job.expression,
      async () => {
        try {
          const result = await job.run();
          this.log.debug({ event: "job_done", job: job.name, result }, `${job.name} done`);
        } catch (error) {
          this.metrics.loopErrors.inc({ component: job.name });
          this.log.error({ event: "job_failed", job: job.name, err: errorMessage(error) }, `${job.name} failed`);
        }
      },
      { name: job.name, noOverlap: true, suppressMissedWarning: true },
    );
    this.tasks.push(task);
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((task) => task.destroy()));
    this.tasks.length = 0;
  }
}
