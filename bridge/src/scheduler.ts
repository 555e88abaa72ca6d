import cron, { type Logger as CronLogger, type ScheduledTask } from "node-cron";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeMetrics } from "./metrics.js";

export interface ScheduledJob {
  name: string;
  /** node-cron expression (6 fields = with seconds). */
  expression: string;
  run: () => Promise<unknown>;
}

/**
 * node-cron's own messages (a run skipped because the previous one still runs, a missed tick) as
 * JSON log lines: its default logger writes coloured text to the console, which breaks a JSON log.
 */
function cronLogger(log: Logger): CronLogger {
  const line = (level: "debug" | "warn" | "error") => (message: string | Error, err?: Error) =>
    log[level]({ event: "cron", err: err ? errorMessage(err) : undefined }, errorMessage(message));
  // A skipped overlapping run is how noOverlap works, not news.
  return { info: line("debug"), debug: line("debug"), warn: line("debug"), error: line("error") };
}

/** Runs the bridge's periodic jobs with node-cron; a run never overlaps the previous one of the same job. */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly cronLog: CronLogger;

  constructor(
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {
    this.cronLog = cronLogger(log);
  }

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
      { name: job.name, noOverlap: true, suppressMissedWarning: true, logger: this.cronLog },
    );
    this.tasks.push(task);
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((task) => task.destroy()));
    this.tasks.length = 0;
  }
}
