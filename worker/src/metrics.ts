import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of one worker (own registry, so several workers can live in one process). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly executions: Counter<"status">;
  readonly executionSeconds: Histogram<"status">;
  readonly sandboxRuns: Counter<"status" | "depth">;
  readonly hostCalls: Counter<"op" | "outcome">;
  readonly bundleLoads: Counter<"tier">;
  readonly threadRecycles: Counter<"reason">;
  readonly replays: Counter;
  readonly keyProvisioning: Counter<"outcome">;
  readonly keyEpochs: Gauge;

  constructor(options: { defaultMetrics?: boolean; simulated: boolean }) {
    this.registry.setDefaultLabels({ simulated: String(options.simulated) });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "worker_" });
    const registers = [this.registry];
    this.executions = new Counter({
      name: "worker_executions_total",
      help: "Signed executions by result status",
      labelNames: ["status"],
      registers,
    });
    this.executionSeconds = new Histogram({
      name: "worker_execution_duration_seconds",
      help: "Time from request to signed answer",
      labelNames: ["status"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.sandboxRuns = new Counter({
      name: "worker_sandbox_runs_total",
      help: "Agent sandbox runs (including sub-agent calls) by status and call depth",
      labelNames: ["status", "depth"],
      registers,
    });
    this.hostCalls = new Counter({
      name: "worker_host_calls_total",
      help: "Host calls made by agents",
      labelNames: ["op", "outcome"],
      registers,
    });
    this.bundleLoads = new Counter({
      name: "worker_bundle_loads_total",
      help: "Agent bundle lookups by the tier that served them",
      labelNames: ["tier"],
      registers,
    });
    this.threadRecycles = new Counter({
      name: "worker_sandbox_thread_recycles_total",
      help: "Sandbox threads replaced after a watchdog stop or a crash",
      labelNames: ["reason"],
      registers,
    });
    this.replays = new Counter({
      name: "worker_answer_replays_total",
      help: "Requests answered again with the answer signed before",
      registers,
    });
    this.keyProvisioning = new Counter({
      name: "worker_key_provisioning_total",
      help: "Attestation and cluster-key provisioning rounds with the gatekeepers, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.keyEpochs = new Gauge({
      name: "worker_cluster_key_epochs",
      help: "Cluster-key epochs held inside their window after the last provisioning round",
      registers,
    });
  }
}
