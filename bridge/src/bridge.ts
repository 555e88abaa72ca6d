import { setTimeout as sleep } from "node:timers/promises";
import type { BlockHeader, ChainClient } from "./chain/chain-client.js";
import { PRAGUE, probeGasSchedule, type GasSchedule } from "./chain/gas-schedule.js";
import { JsonRpcChainClient } from "./chain/json-rpc-chain-client.js";
import type { BridgeConfig } from "./config.js";
import { Dispatcher } from "./dispatcher.js";
import { Failover } from "./failover.js";
import { BridgeError, RelayerInUseError, RpcError, SimulationError, errorMessage } from "./errors.js";
import { HealthServer } from "./health-server.js";
import { createLogger, type Logger } from "./logger.js";
import { BridgeMetrics } from "./metrics.js";
import { Reconciler } from "./reconciler.js";
import { Scheduler } from "./scheduler.js";
import { StageHealth, type Stage } from "./stage-health.js";
import { openStore } from "./store/open-store.js";
import type { BridgeStore } from "./store/store.js";
import { Submitter } from "./submitter.js";
import { Sweeper } from "./sweeper.js";
import { TxManager } from "./txm/tx-manager.js";
import { AnswerVerifier } from "./verify.js";
import { Watcher } from "./watcher.js";
import { LayeredWorkerDirectory, StaticWorkerDirectory, type WorkerDirectory } from "./worker-directory.js";

const DISPATCH_TICK_MS = 20;
/** A loop stage is unhealthy when its last success is older than this many poll intervals (and MIN_STALE_MS). */
const STALE_POLLS = 20;
const MIN_STALE_MS = 10_000;
/** The submitter is jammed when a transaction of ours stays unmined this long (and 4 bump periods). */
const MIN_STUCK_TX_MS = 120_000;
/** The sweeper is behind when a request expired this long ago (chain time) is still unsettled. */
const OVERDUE_S = 120n;
/** The sweeper (or reconciler) is failing after this many failed runs in a row. */
const SWEEP_FAILURES = 3;
const STARTUP_RETRY_MS = 1_000;
const STARTUP_RETRY_MAX_MS = 30_000;

export interface BridgeDeps {
  chain?: ChainClient;
  store?: BridgeStore;
  logger?: Logger;
  directory?: WorkerDirectory;
  /** Default true; tests that drive `runOnce` themselves turn the loop, cron and HTTP off. */
  background?: boolean;
}

/** What exists once the bridge has reached its chain. */
interface Connected {
  chainId: bigint;
  /** The chain mines only on transactions (a dev node's automine): see Watcher and Sweeper. */
  automine: boolean;
  directory: WorkerDirectory;
  watcher: Watcher;
  failover: Failover;
  dispatcher: Dispatcher;
  txm: TxManager;
  submitter: Submitter;
  sweeper: Sweeper;
  reconciler: Reconciler;
}

export interface HealthReport {
  ok: boolean;
  stages: Partial<Record<Stage, { ok: boolean; [key: string]: unknown }>>;
  head: number | null;
  cursor: number | null;
}

/**
 * One bridge instance: watcher -> dispatcher -> submitter loops, the scheduled jobs (sweep, resend,
 * attestation and endpoint refresh) and the HTTP endpoints. `start` serves HTTP first, then reaches
 * the chain, retrying with backoff while the RPC fails (reported on /healthz), so a supervisor sees a
 * live process that says why it is not ready instead of a crash loop.
 */
export class Bridge {
  readonly metrics: BridgeMetrics;
  readonly stages = new StageHealth();
  private readonly scheduler: Scheduler;
  private readonly http: HealthServer;
  private connected?: Connected;
  private running = false;
  private readonly stopping = new AbortController();
  /** Why the bridge stopped itself (its relayer key was taken over by another instance), if it did. */
  private halted?: RelayerInUseError;
  private resolveFinished!: (halted: RelayerInUseError | undefined) => void;
  /** Settles once the bridge has stopped: with the error it stopped itself for (RelayerInUseError), else undefined. */
  readonly finished = new Promise<RelayerInUseError | undefined>((resolve) => (this.resolveFinished = resolve));
  private loop?: Promise<void>;
  private lastHead?: BlockHeader;
  private inactiveWorkers: string[] = [];
  httpPort?: number;

  private constructor(
    readonly config: BridgeConfig,
    readonly chain: ChainClient,
    readonly store: BridgeStore,
    readonly log: Logger,
    private readonly deps: BridgeDeps,
  ) {
    this.metrics = new BridgeMetrics(store, this.background);
    this.scheduler = new Scheduler(this.metrics, log.child({ component: "scheduler" }));
    this.http = new HealthServer(this, this.metrics);
  }

  /** Builds a bridge without touching the chain (that happens in `start`); opens (and migrates) the store. */
  static async create(config: BridgeConfig, deps: BridgeDeps = {}): Promise<Bridge> {
    const log = deps.logger ?? createLogger(config.logLevel);
    const chain =
      deps.chain ??
      new JsonRpcChainClient({
        rpcUrl: config.rpcUrl,
        router: config.router,
        privateKey: config.privateKey,
        workerRegistry: config.workerRegistry,
        rpcTimeoutMs: config.rpcTimeoutMs,
        rpcHedgeMs: config.rpcHedgeMs,
      });
    return new Bridge(config, chain, deps.store ?? (await openStore(config)), log, deps);
  }

  private get background(): boolean {
    return this.deps.background ?? true;
  }

  private get parts(): Connected {
    if (!this.connected) throw new BridgeError("bridge is not connected to its chain yet", "NOT_CONNECTED");
    return this.connected;
  }

  get watcher(): Watcher {
    return this.parts.watcher;
  }
  get failover(): Failover {
    return this.parts.failover;
  }
  get dispatcher(): Dispatcher {
    return this.parts.dispatcher;
  }
  get txm(): TxManager {
    return this.parts.txm;
  }
  get submitter(): Submitter {
    return this.parts.submitter;
  }
  get sweeper(): Sweeper {
    return this.parts.sweeper;
  }
  get reconciler(): Reconciler {
    return this.parts.reconciler;
  }

  /** Everything that needs the chain: chain id (binds the store), worker endpoints, calldata pricing. */
  private async connect(): Promise<Connected> {
    const { config, chain, store, log } = this;
    // Independent reads, asked at once: each restart waits for one round trip, not three.
    const [chainId, endpoints, schedule, automine] = await Promise.all([
      chain.chainId(),
      this.deps.directory ? undefined : chain.workerEndpoints(),
      Bridge.gasSchedule(chain),
      chain.automine?.() ?? false,
    ]);
    await store.bind(chainId, config.router);
    // A fleet instance takes its relayer key's lease before any work: a second live process on the
    // same key is refused here (RelayerInUseError), a dead one's lease is waited out.
    await store.renewLeases();
    let directory = this.deps.directory;
    if (!directory) {
      const layered = new LayeredWorkerDirectory(new StaticWorkerDirectory(config.workers));
      layered.update(endpoints!);
      directory = layered;
    }
    const txm = new TxManager(
      chain,
      store,
      {
        maxFeePerGas: BigInt(config.submit.maxFeePerGas),
        gasBumpAfterMs: config.submit.gasBumpAfterMs,
        gasBumpPercent: config.submit.gasBumpPercent,
        rebroadcastAfterMs: config.submit.rebroadcastAfterMs,
        missingReceiptGraceMs: config.submit.missingReceiptGraceMs,
      },
      this.metrics,
      log.child({ component: "txm" }),
    );
    return {
      chainId,
      directory,
      automine,
      watcher: new Watcher(chain, store, { ...config, automine }, this.metrics, log.child({ component: "watcher" })),
      failover: new Failover(chain, store, this.metrics, log.child({ component: "failover" })),
      dispatcher: new Dispatcher(
        store,
        directory,
        new AnswerVerifier(chainId, chain.router),
        { chainId, router: chain.router },
        config.dispatch,
        this.metrics,
        log.child({ component: "dispatcher" }),
      ),
      txm,
      submitter: new Submitter(chain, store, txm, config.submit, this.metrics, log.child({ component: "submitter" }), schedule),
      sweeper: new Sweeper(
        chain,
        store,
        txm,
        { sweepAll: config.sweepAll, gasPerTimeout: config.submit.gasPerTimeout, maxTxGas: config.submit.maxTxGas, automine },
        this.metrics,
        log.child({ component: "sweeper" }),
        schedule,
      ),
      reconciler: new Reconciler(chain, store, config, this.metrics, log.child({ component: "reconciler" })),
    };
  }

  /** The calldata pricing of the chain's active fork; a node that will not estimate the probe is priced as Prague (the dearer). */
  private static async gasSchedule(chain: ChainClient): Promise<GasSchedule> {
    try {
      return await probeGasSchedule((data) => chain.estimateGas(data, chain.account));
    } catch (error) {
      if (error instanceof SimulationError) return PRAGUE;
      throw error;
    }
  }

  /** Re-probes calldata pricing (a fork may activate while the bridge runs). */
  async refreshGasSchedule(): Promise<GasSchedule> {
    const schedule = await Bridge.gasSchedule(this.chain);
    this.submitter.schedule = schedule;
    this.sweeper.schedule = schedule;
    return schedule;
  }

  /**
   * Serves HTTP, reaches the chain (retrying RPC failures with backoff until it succeeds or `stop`
   * is called; anything else, e.g. a store of another chain, is thrown), then starts the loops and
   * the scheduled jobs.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.background && this.config.http.enabled) this.httpPort = await this.http.listen(this.config.http.host, this.config.http.port);
    for (let attempt = 1, delay = STARTUP_RETRY_MS; this.running && !this.connected; attempt++, delay = Math.min(STARTUP_RETRY_MAX_MS, delay * 2)) {
      try {
        this.connected = await this.connect();
        this.stages.ok("startup");
      } catch (error) {
        this.stages.failed("startup", errorMessage(error));
        if (!(error instanceof RpcError)) throw error;
        this.metrics.loopErrors.inc({ component: "startup" });
        this.log.warn({ event: "startup_retry", attempt, delayMs: delay, err: errorMessage(error) }, "cannot reach the chain yet; retrying");
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
    if (!this.running) return;
    if (this.background) {
      this.scheduler.add({ name: "sweep", expression: this.config.schedule.sweep, run: this.haltOnKeyLoss(() => this.sweep()) });
      this.scheduler.add({ name: "retry_stuck", expression: this.config.schedule.retryStuck, run: this.haltOnKeyLoss(() => this.txm.resendStuck()) });
      this.scheduler.add({ name: "reconcile", expression: this.config.schedule.reconcile, run: this.haltOnKeyLoss(() => this.reconcile()) });
      this.scheduler.add({ name: "attestation", expression: this.config.schedule.attestation, run: () => this.checkAttestations() });
      this.scheduler.add({ name: "endpoints", expression: this.config.schedule.attestation, run: () => this.refreshEndpoints() });
      this.scheduler.add({ name: "gas_schedule", expression: this.config.schedule.attestation, run: () => this.refreshGasSchedule() });
    }
    this.loop = this.run();
    this.log.info(
      {
        event: "started",
        account: this.chain.account,
        router: this.chain.router,
        chainId: this.parts.chainId.toString(),
        httpPort: this.httpPort,
        automine: this.parts.automine,
      },
      this.parts.automine
        ? `bridge started; the chain mines only on transactions (automine): requests are confirmed at the head after ${this.config.idleConfirmMs} ms without a block, timeouts judged by the pending block's time`
        : "bridge started",
    );
  }

  /**
   * Four independent loops, so a slow stage (e.g. the submitter waiting on a slow RPC) never
   * starves the others; the dispatcher's tick is a cheap store query and runs more often to keep
   * the workers busy.
   */
  private async run(): Promise<void> {
    const loop = async (intervalMs: number, body: () => Promise<void>) => {
      while (this.running) {
        await body();
        if (this.running) await sleep(intervalMs);
      }
    };
    await Promise.all([
      loop(this.config.pollIntervalMs, () => this.watchOnce()),
      loop(this.config.pollIntervalMs, () => this.failoverOnce()),
      loop(Math.min(this.config.pollIntervalMs, DISPATCH_TICK_MS), async () => this.dispatchOnce()),
      loop(this.config.pollIntervalMs, () => this.submitOnce()),
    ]);
  }

  private async watchOnce(): Promise<void> {
    try {
      const started = performance.now();
      const { head, added, settled, confirmed, stale } = await this.watcher.poll();
      this.lastHead = head;
      this.stages.ok("watcher");
      this.log.debug({ event: "poll", head: head.number, added, settled, confirmed, stale, ms: Math.round(performance.now() - started) }, "watcher pass");
    } catch (error) {
      this.stageFailed("watcher", error);
    }
  }

  /** Hands requests whose worker has not answered over to the backup whose window opened (Failover). */
  private async failoverOnce(): Promise<void> {
    if (!this.lastHead) return;
    try {
      await this.failover.tick(this.lastHead.timestamp);
      this.stages.ok("failover");
    } catch (error) {
      this.stageFailed("failover", error);
    }
  }

  private async dispatchOnce(): Promise<void> {
    try {
      // The fleet's leases ride on the most frequent loop, which never waits on the chain: a live
      // instance keeps its lease even while its RPC hangs (cheap: renewed a few times per lease).
      const { handedOver } = await this.store.renewLeases();
      if (handedOver)
        this.log.warn(
          { event: "relayer_handed_over", relayers: handedOver.relayers, txs: handedOver.txs, requests: handedOver.requests },
          "relayers stopped renewing their leases: their unmined transactions' requests go back to the fleet (checked on-chain before they are sent again)",
        );
      await this.dispatcher.tick(this.lastHead?.timestamp ?? 0n);
      this.stages.ok("dispatcher");
    } catch (error) {
      this.stageFailed("dispatcher", error);
    }
  }

  private async submitOnce(): Promise<void> {
    try {
      // Right after a start the watcher may still be catching up: the submitter does not wait for it.
      const head = this.lastHead ?? (await this.chain.block("latest"));
      if (!head) return;
      await this.submitter.tick(head.timestamp);
      this.stages.ok("submitter");
    } catch (error) {
      this.stageFailed("submitter", error);
    }
  }

  /** One pass of every stage in order (the CLI's one-shot commands); a failing stage does not block the others. */
  async runOnce(): Promise<void> {
    await this.watchOnce();
    await this.failoverOnce();
    await this.dispatchOnce();
    await this.submitOnce();
  }

  private stageFailed(stage: Stage, error: unknown): void {
    this.stages.failed(stage, errorMessage(error));
    if (error instanceof RelayerInUseError) return this.halt(error);
    this.metrics.loopErrors.inc({ component: stage });
    this.log.warn({ event: "stage_failed", component: stage, err: errorMessage(error) }, `${stage} pass failed; retrying`);
  }

  /** A scheduled job that stops the bridge when it finds the relayer key taken over. */
  private haltOnKeyLoss<T>(run: () => Promise<T>): () => Promise<T> {
    return () =>
      run().catch((error: unknown) => {
        if (error instanceof RelayerInUseError) this.halt(error);
        throw error;
      });
  }

  /**
   * Another instance took this process's relayer key (it stalled past the key's lease; the store
   * refuses its claims and sends from then on): it stops its loops and jobs and closes, its claimed
   * work being the key holder's. `finished` tells the CLI, which exits non-zero.
   */
  private halt(error: RelayerInUseError): void {
    if (this.halted || !this.running) return;
    this.halted = error;
    this.log.error({ event: "relayer_key_lost", err: errorMessage(error) }, "another instance holds this relayer key: stopping (it carries this one's work)");
    this.stop().catch((stopError: unknown) => this.log.error({ err: errorMessage(stopError) }, "unclean stop"));
  }

  /** Times out every expired, unsettled request the store knows (refund + slash on-chain); returns how many were sent. */
  async sweep(): Promise<number> {
    try {
      const result = await this.sweeper.sweep();
      if (result.failed === 0) this.stages.ok("sweeper");
      else this.stages.failed("sweeper", `${result.failed} timeout chunk(s) failed`);
      return result.sent;
    } catch (error) {
      this.stages.failed("sweeper", errorMessage(error));
      throw error;
    }
  }

  /** Recovers what the store missed of the router's state (Reconciler). */
  async reconcile(): Promise<{ recovered: number; settled: number }> {
    try {
      const result = await this.reconciler.run();
      this.stages.ok("reconciler");
      return result;
    } catch (error) {
      this.stages.failed("reconciler", errorMessage(error));
      throw error;
    }
  }

  /** Re-reads worker endpoints announced in WorkerRegistry events. */
  async refreshEndpoints(): Promise<void> {
    const directory = this.parts.directory;
    if (directory instanceof LayeredWorkerDirectory) directory.update(await this.chain.workerEndpoints());
  }

  /** Re-checks the attestation of workers with open requests (WorkerRegistry.isActive). */
  async checkAttestations(): Promise<string[]> {
    const inactive: string[] = [];
    for (const worker of await this.store.activeWorkers()) {
      if ((await this.chain.isWorkerActive(worker)) === false) inactive.push(worker);
    }
    this.inactiveWorkers = inactive;
    this.metrics.inactiveWorkers.set(inactive.length);
    if (inactive.length > 0) {
      this.log.warn({ event: "inactive_workers", workers: inactive }, "workers with open requests are no longer active; their requests will time out");
    }
    return inactive;
  }

  /**
   * Every stage's health (/healthz is 503 unless all are ok): start-up reached the chain; watcher,
   * failover, dispatcher and submitter passes succeeded recently; no transaction of ours has been unmined for
   * long (the submitter is not jammed); no request expired long ago is still unsettled and sweeps
   * are not failing (the sweeper keeps up).
   */
  async health(now = Date.now()): Promise<HealthReport> {
    const startup = this.stages.get("startup");
    const report: HealthReport = {
      ok: false,
      stages: { startup: { ok: this.connected !== undefined, ...(this.connected ? {} : { error: startup.lastError ?? "connecting" }) } },
      head: this.lastHead?.number ?? null,
      cursor: (await this.store.cursor())?.number ?? null,
    };
    if (!this.connected || !this.running) return report;
    const staleAfter = Math.max(MIN_STALE_MS, STALE_POLLS * this.config.pollIntervalMs);
    const loopStage = (stage: Stage) => {
      const record = this.stages.get(stage);
      const age = record.lastOkAt === undefined ? null : now - record.lastOkAt;
      return { ok: age !== null && age < staleAfter, lastOkMsAgo: age, lastError: record.lastError ?? null };
    };
    const unmined = await this.store.unfinishedTxs();
    const oldestTxMs = unmined.length === 0 ? 0 : now - Math.min(...unmined.map((tx) => tx.createdAt));
    const stuckAfter = Math.max(MIN_STUCK_TX_MS, 4 * this.config.submit.gasBumpAfterMs);
    const overdue = this.lastHead ? (await this.store.expired(this.lastHead.timestamp - OVERDUE_S, 1)).length : 0;
    const sweep = this.stages.get("sweeper");
    report.stages.watcher = loopStage("watcher");
    report.stages.failover = loopStage("failover");
    report.stages.dispatcher = { ...loopStage("dispatcher"), inFlight: this.dispatcher.busy, openCircuits: this.dispatcher.health.unhealthy() };
    const submitter = loopStage("submitter");
    report.stages.submitter = { ...submitter, ok: submitter.ok && oldestTxMs < stuckAfter, unminedTransactions: unmined.length, oldestUnminedMs: oldestTxMs };
    report.stages.sweeper = {
      ok: overdue === 0 && sweep.consecutiveFailures < SWEEP_FAILURES,
      overdueRequests: overdue > 0,
      consecutiveFailures: sweep.consecutiveFailures,
      lastError: sweep.lastError ?? null,
    };
    const reconcile = this.stages.get("reconciler");
    report.stages.reconciler = {
      ok: reconcile.consecutiveFailures < SWEEP_FAILURES,
      consecutiveFailures: reconcile.consecutiveFailures,
      lastError: reconcile.lastError ?? null,
    };
    report.ok = Object.values(report.stages).every((stage) => stage.ok);
    return report;
  }

  async status() {
    return {
      chainId: this.connected?.chainId ?? null,
      router: this.chain.router,
      account: this.chain.account,
      head: this.lastHead?.number ?? null,
      cursor: (await this.store.cursor()) ?? null,
      requests: await this.store.counts(),
      failover: await this.store.failoverStats(),
      dispatchesInFlight: this.connected?.dispatcher.busy ?? 0,
      pendingTransactions: (await this.store.unfinishedTxs()).length,
      transactions: await this.store.txStats(),
      inactiveWorkers: this.inactiveWorkers,
      health: await this.health(),
    };
  }

  /** Stops accepting work (or connecting), lets in-flight dispatches finish, closes HTTP and the store. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    await this.scheduler.stop();
    await this.loop;
    await this.connected?.dispatcher.drain();
    await this.http.close();
    await this.store.close();
    this.log.info({ event: "stopped" }, "bridge stopped");
    this.resolveFinished(this.halted);
  }
}
