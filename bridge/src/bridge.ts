import { setTimeout as sleep } from "node:timers/promises";
import type { BlockHeader, ChainClient } from "./chain/chain-client.js";
import { PRAGUE, probeGasSchedule, type GasSchedule } from "./chain/gas-schedule.js";
import { JsonRpcChainClient } from "./chain/json-rpc-chain-client.js";
import type { BridgeConfig } from "./config.js";
import { Dispatcher } from "./dispatcher.js";
import { SimulationError, errorMessage } from "./errors.js";
import { HealthServer } from "./health-server.js";
import { createLogger, type Logger } from "./logger.js";
import { BridgeMetrics } from "./metrics.js";
import { Scheduler } from "./scheduler.js";
import { SqliteStore } from "./store/sqlite-store.js";
import type { BridgeStore } from "./store/store.js";
import { Submitter } from "./submitter.js";
import { Sweeper } from "./sweeper.js";
import { TxManager } from "./txm/tx-manager.js";
import { AnswerVerifier } from "./verify.js";
import { Watcher } from "./watcher.js";
import { LayeredWorkerDirectory, StaticWorkerDirectory, type WorkerDirectory } from "./worker-directory.js";

const DISPATCH_TICK_MS = 20;
/** /healthz turns 503 when the last successful chain poll is older than this many poll intervals. */
const STALE_POLLS = 20;
const MIN_STALE_MS = 10_000;

export interface BridgeDeps {
  chain?: ChainClient;
  store?: BridgeStore;
  logger?: Logger;
  directory?: WorkerDirectory;
  /** Default true; tests that drive `runOnce` themselves turn the loop, cron and HTTP off. */
  background?: boolean;
}

/** One bridge instance: watcher -> dispatcher -> submitter in a poll loop, plus scheduled jobs and HTTP. */
export class Bridge {
  readonly metrics: BridgeMetrics;
  readonly watcher: Watcher;
  readonly dispatcher: Dispatcher;
  readonly txm: TxManager;
  readonly submitter: Submitter;
  readonly sweeper: Sweeper;
  private readonly scheduler: Scheduler;
  private readonly http: HealthServer;
  private running = false;
  private loop?: Promise<void>;
  private lastHead?: BlockHeader;
  private lastPollAt = 0;
  private inactiveWorkers: string[] = [];
  httpPort?: number;

  private constructor(
    readonly config: BridgeConfig,
    readonly chain: ChainClient,
    readonly store: BridgeStore,
    readonly log: Logger,
    private readonly chainId: bigint,
    private readonly directory: WorkerDirectory,
    private readonly background: boolean,
    schedule: GasSchedule,
  ) {
    this.metrics = new BridgeMetrics(store, background);
    this.watcher = new Watcher(chain, store, config, this.metrics, log.child({ component: "watcher" }));
    this.dispatcher = new Dispatcher(
      store,
      directory,
      new AnswerVerifier(chainId, chain.router),
      { chainId, router: chain.router },
      config.dispatch,
      this.metrics,
      log.child({ component: "dispatcher" }),
    );
    this.txm = new TxManager(
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
    this.submitter = new Submitter(chain, store, this.txm, config.submit, this.metrics, log.child({ component: "submitter" }), schedule);
    this.sweeper = new Sweeper(
      chain,
      store,
      this.txm,
      { sweepAll: config.sweepAll, gasPerTimeout: config.submit.gasPerTimeout, maxTxGas: config.submit.maxTxGas },
      this.metrics,
      log.child({ component: "sweeper" }),
      schedule,
    );
    this.scheduler = new Scheduler(this.metrics, log.child({ component: "scheduler" }));
    this.http = new HealthServer(this, this.metrics);
  }

  static async create(config: BridgeConfig, deps: BridgeDeps = {}): Promise<Bridge> {
    const log = deps.logger ?? createLogger(config.logLevel);
    const chain =
      deps.chain ??
      new JsonRpcChainClient({ rpcUrl: config.rpcUrl, router: config.router, privateKey: config.privateKey, workerRegistry: config.workerRegistry });
    const chainId = await chain.chainId();
    const store = deps.store ?? new SqliteStore(config.dbPath);
    store.bind(chainId, config.router);
    let directory = deps.directory;
    if (!directory) {
      const layered = new LayeredWorkerDirectory(new StaticWorkerDirectory(config.workers));
      layered.update(await chain.workerEndpoints());
      directory = layered;
    }
    return new Bridge(config, chain, store, log, chainId, directory, deps.background ?? true, await Bridge.gasSchedule(chain));
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

  /** Starts the poll loop, the scheduled jobs and the HTTP server. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.background) {
      if (this.config.http.enabled) this.httpPort = await this.http.listen(this.config.http.host, this.config.http.port);
      this.scheduler.add({ name: "sweep", expression: this.config.schedule.sweep, run: () => this.sweep() });
      this.scheduler.add({ name: "retry_stuck", expression: this.config.schedule.retryStuck, run: () => this.txm.resendStuck() });
      this.scheduler.add({ name: "attestation", expression: this.config.schedule.attestation, run: () => this.checkAttestations() });
      this.scheduler.add({ name: "endpoints", expression: this.config.schedule.attestation, run: () => this.refreshEndpoints() });
      this.scheduler.add({ name: "gas_schedule", expression: this.config.schedule.attestation, run: () => this.refreshGasSchedule() });
    }
    this.loop = this.run();
    this.log.info(
      { event: "started", account: this.chain.account, router: this.chain.router, chainId: this.chainId.toString(), httpPort: this.httpPort },
      "bridge started",
    );
  }

  /**
   * Three independent loops, so a slow stage (e.g. the submitter waiting on eth_estimateGas for a
   * large batch) never starves the others; the dispatcher's tick is a cheap store query and runs
   * more often to keep the worker busy.
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
      loop(Math.min(this.config.pollIntervalMs, DISPATCH_TICK_MS), async () => this.dispatchOnce()),
      loop(this.config.pollIntervalMs, () => this.submitOnce()),
    ]);
  }

  private async watchOnce(): Promise<void> {
    try {
      const { head } = await this.watcher.poll();
      this.lastHead = head;
      this.lastPollAt = Date.now();
    } catch (error) {
      this.stageFailed("watcher", error);
    }
  }

  private dispatchOnce(): void {
    try {
      this.dispatcher.tick(this.lastHead?.timestamp ?? 0n);
    } catch (error) {
      this.stageFailed("dispatcher", error);
    }
  }

  private async submitOnce(): Promise<void> {
    if (!this.lastHead) return;
    try {
      await this.submitter.tick(this.lastHead.timestamp);
    } catch (error) {
      this.stageFailed("submitter", error);
    }
  }

  /** One pass of every stage in order (the CLI's one-shot commands); a failing stage does not block the others. */
  async runOnce(): Promise<void> {
    await this.watchOnce();
    this.dispatchOnce();
    await this.submitOnce();
  }

  private stageFailed(component: string, error: unknown): void {
    this.metrics.loopErrors.inc({ component });
    this.log.warn({ event: "stage_failed", component, err: errorMessage(error) }, `${component} pass failed; retrying`);
  }

  /** Times out every expired, unsettled request the store knows (refund + slash on-chain); returns how many were sent. */
  async sweep(): Promise<number> {
    return (await this.sweeper.sweep()).sent;
  }

  /** Re-reads worker endpoints announced in WorkerRegistry events. */
  async refreshEndpoints(): Promise<void> {
    if (this.directory instanceof LayeredWorkerDirectory) this.directory.update(await this.chain.workerEndpoints());
  }

  /** Re-checks the attestation of workers with open requests (WorkerRegistry.isActive). */
  async checkAttestations(): Promise<string[]> {
    const inactive: string[] = [];
    for (const worker of this.store.activeWorkers()) {
      if ((await this.chain.isWorkerActive(worker)) === false) inactive.push(worker);
    }
    this.inactiveWorkers = inactive;
    this.metrics.inactiveWorkers.set(inactive.length);
    if (inactive.length > 0) {
      this.log.warn({ event: "inactive_workers", workers: inactive }, "workers with open requests are no longer active; their requests will time out");
    }
    return inactive;
  }

  health(): { ok: boolean; [key: string]: unknown } {
    const staleAfter = Math.max(MIN_STALE_MS, STALE_POLLS * this.config.pollIntervalMs);
    const age = Date.now() - this.lastPollAt;
    return {
      ok: this.running && this.lastPollAt > 0 && age < staleAfter,
      lastPollMsAgo: this.lastPollAt > 0 ? age : null,
      head: this.lastHead?.number ?? null,
      cursor: this.store.cursor()?.number ?? null,
    };
  }

  status() {
    const txs = this.store.txStats();
    return {
      chainId: this.chainId,
      router: this.chain.router,
      account: this.chain.account,
      head: this.lastHead?.number ?? null,
      cursor: this.store.cursor() ?? null,
      requests: this.store.counts(),
      dispatchesInFlight: this.dispatcher.busy,
      pendingTransactions: this.store.unfinishedTxs().length,
      transactions: txs,
      inactiveWorkers: this.inactiveWorkers,
    };
  }

  /** Stops accepting work, lets in-flight dispatches finish, closes HTTP and the store. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.scheduler.stop();
    await this.loop;
    await this.dispatcher.drain();
    await this.http.close();
    this.store.close();
    this.log.info({ event: "stopped" }, "bridge stopped");
  }
}
