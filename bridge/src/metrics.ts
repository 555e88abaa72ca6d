import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { REQUEST_STATES, type BridgeStore } from "./store/store.js";

/** Prometheus metrics of one bridge instance (own registry, so several instances can share a process). */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly requestsObserved = new Counter({ name: "bridge_requests_observed_total", help: "AgentRequested events stored", registers: [this.registry] });
  readonly settlements = new Counter({
    name: "bridge_settlements_total",
    help: "Requests settled on-chain, by outcome",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly dispatches = new Counter({
    name: "bridge_dispatch_attempts_total",
    help: "Worker calls, by result (ok, error, invalid answer, refused for good)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly dispatchSeconds = new Histogram({
    name: "bridge_dispatch_seconds",
    help: "Worker call duration",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly hedges = new Counter({
    name: "bridge_dispatch_hedges_total",
    help: "Replica endpoints called because the primary was slow or failed",
    registers: [this.registry],
  });
  readonly handovers = new Counter({
    name: "bridge_backup_handovers_total",
    help: "Requests handed over to a backup worker (by rank) because the previous worker had not answered by its window",
    labelNames: ["rank"] as const,
    registers: [this.registry],
  });
  readonly breakersOpen = new Gauge({ name: "bridge_worker_breakers_open", help: "Workers whose circuit is open or probing", registers: [this.registry] });
  readonly txs = new Counter({
    name: "bridge_transactions_total",
    help: "Transactions sent, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly sendErrors = new Counter({
    name: "bridge_send_errors_total",
    help: "eth_sendRawTransaction refusals, by class (nonce_too_low, underpriced, insufficient_funds, already_known, transport, fatal...)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly txsAbandoned = new Counter({
    name: "bridge_transactions_abandoned_total",
    help: "Transactions that will not be mined (nonce used by another, or refused); their requests were queued again",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly txsDropped = new Counter({
    name: "bridge_transactions_dropped_total",
    help: "Times an unmined transaction was found unknown to the node (re-broadcast, abandoned after 3)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly gasBumps = new Counter({ name: "bridge_gas_bumps_total", help: "Transactions re-sent with higher fees", registers: [this.registry] });
  readonly gasUsed = new Counter({ name: "bridge_gas_used_total", help: "Gas used by mined bridge transactions", registers: [this.registry] });
  readonly simulationRejects = new Counter({
    name: "bridge_simulation_rejects_total",
    help: "Fulfilments or timeouts dropped because eth_call reverted",
    registers: [this.registry],
  });
  readonly staleAnswers = new Counter({
    name: "bridge_stale_node_answers_total",
    help: "Chain answers from behind what the bridge already scanned (a lagging backend), ignored",
    registers: [this.registry],
  });
  readonly reconciled = new Counter({
    name: "bridge_reconciled_total",
    help: "Requests the store had missed and the reconciler recovered, by kind (unseen_request, missed_settlement, parked_answer)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly reorgs = new Counter({ name: "bridge_reorgs_total", help: "Chain reorganisations detected", registers: [this.registry] });
  readonly orphaned = new Counter({ name: "bridge_orphaned_requests_total", help: "Requests whose event left the chain", registers: [this.registry] });
  readonly loopErrors = new Counter({
    name: "bridge_loop_errors_total",
    help: "Errors in a bridge loop (retried), by component",
    labelNames: ["component"] as const,
    registers: [this.registry],
  });
  readonly cursor = new Gauge({ name: "bridge_cursor_block", help: "Last scanned block", registers: [this.registry] });
  readonly head = new Gauge({ name: "bridge_chain_head_block", help: "Latest block seen", registers: [this.registry] });
  readonly states: Gauge<"state">;
  readonly inactiveWorkers = new Gauge({
    name: "bridge_inactive_workers",
    help: "Workers with open requests whose attestation expired or was revoked",
    registers: [this.registry],
  });

  constructor(store: BridgeStore, withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: "bridge_" });
    this.states = new Gauge({
      name: "bridge_requests",
      help: "Stored requests, by state",
      labelNames: ["state"] as const,
      registers: [this.registry],
      // Read from the store at scrape time: the store is the truth, so the gauge never drifts.
      async collect() {
        const counts = await store.counts();
        for (const state of REQUEST_STATES) this.set({ state }, counts[state]);
      },
    });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
