export interface WorkerHealthOptions {
  /** Calls in flight to one worker at most, so a hung worker cannot take every dispatch slot. */
  perWorkerConcurrency: number;
  /** Consecutive failed attempts that open a worker's circuit. */
  breakerThreshold: number;
  /** First pause of an open circuit before one probe call; doubles while probes fail, up to the max. */
  breakerCooldownMs: number;
  breakerMaxCooldownMs: number;
  /** Per-call timeout; hedging starts a replica call after a share of it at most. */
  timeoutMs: number;
  /** Earliest a replica is hedged in, however fast the worker usually is. */
  hedgeMinMs: number;
}

export type BreakerState = "closed" | "open" | "half_open";

const LATENCY_WINDOW = 64;
const HEDGE_PERCENTILE = 0.95;
const HEDGE_FACTOR = 2;
const HEDGE_SHARE_OF_TIMEOUT = 4;

class WorkerLane {
  inFlight = 0;
  failures = 0;
  state: BreakerState = "closed";
  openUntil = 0;
  cooldownMs: number;
  probing = false;
  readonly latencies: number[] = [];

  constructor(cooldownMs: number) {
    this.cooldownMs = cooldownMs;
  }
}

/**
 * Per-worker dispatch state: how many calls it has in flight (bounded), a circuit breaker (after
 * `breakerThreshold` failed attempts in a row the worker gets no calls until a cooldown passes, then
 * one probe; success closes the circuit, failure doubles the cooldown), and its recent latencies,
 * from which the hedging delay for replica endpoints is derived (2x its p95).
 */
export class WorkerHealth {
  private readonly lanes = new Map<string, WorkerLane>();

  constructor(private readonly options: WorkerHealthOptions) {}

  private lane(worker: string): WorkerLane {
    const key = worker.toLowerCase();
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = new WorkerLane(this.options.breakerCooldownMs)));
    return lane;
  }

  /** Calls that may start for `worker` now (0 while its circuit is open or its probe is out). */
  capacity(worker: string, now: number): number {
    const lane = this.lane(worker);
    if (lane.state === "open") {
      if (now < lane.openUntil) return 0;
      lane.state = "half_open";
    }
    if (lane.state === "half_open") return lane.probing || lane.inFlight > 0 ? 0 : 1;
    return Math.max(0, this.options.perWorkerConcurrency - lane.inFlight);
  }

  started(worker: string): void {
    const lane = this.lane(worker);
    lane.inFlight++;
    if (lane.state === "half_open") lane.probing = true;
  }

  /** A call ended without a verdict on the worker (e.g. the request expired first). */
  released(worker: string): void {
    const lane = this.lane(worker);
    lane.inFlight = Math.max(0, lane.inFlight - 1);
    lane.probing = false;
  }

  succeeded(worker: string, latencyMs: number): void {
    const lane = this.lane(worker);
    this.released(worker);
    lane.failures = 0;
    lane.state = "closed";
    lane.cooldownMs = this.options.breakerCooldownMs;
    lane.latencies.push(latencyMs);
    if (lane.latencies.length > LATENCY_WINDOW) lane.latencies.shift();
  }

  failed(worker: string, now: number): void {
    const lane = this.lane(worker);
    const wasProbe = lane.state === "half_open";
    this.released(worker);
    lane.failures++;
    if (wasProbe) {
      lane.cooldownMs = Math.min(this.options.breakerMaxCooldownMs, lane.cooldownMs * 2);
      this.open(lane, now);
    } else if (lane.state === "closed" && lane.failures >= this.options.breakerThreshold) {
      this.open(lane, now);
    }
  }

  private open(lane: WorkerLane, now: number): void {
    lane.state = "open";
    lane.openUntil = now + lane.cooldownMs;
  }

  state(worker: string): BreakerState {
    return this.lane(worker).state;
  }

  /** Workers whose circuit is open or probing. */
  unhealthy(): string[] {
    return [...this.lanes].filter(([, lane]) => lane.state !== "closed").map(([worker]) => worker);
  }

  /** How long to wait for one endpoint before also calling the next (replica) one. */
  hedgeDelayMs(worker: string): number {
    const sorted = [...this.lane(worker).latencies].sort((a, b) => a - b);
    const ceiling = this.options.timeoutMs / HEDGE_SHARE_OF_TIMEOUT;
    if (sorted.length === 0) return ceiling;
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * HEDGE_PERCENTILE))]!;
    return Math.min(ceiling, Math.max(this.options.hedgeMinMs, HEDGE_FACTOR * p95));
  }
}
