import { Contract, JsonRpcProvider, hexlify, type ContractRunner } from "ethers";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import { ProvisioningError, type Provisioned } from "../../gatekeeper/client.js";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import type { GatekeeperEvidence } from "../../protocol/worker-api.js";
import type { GatekeeperSection } from "./config.js";
import type { Enclave } from "./enclave/enclave.js";
import type { WorkerMetrics } from "./metrics.js";

/** The cluster public keys a deployment publishes (KeyRegistry.publicKeyOf). */
export interface PublishedKeys {
  publicKeyOf(epoch: number): Promise<string>;
}

/** Reads KeyRegistry through a JSON-RPC endpoint (or any ethers provider). */
export class KeyRegistryKeys implements PublishedKeys {
  readonly #registry: Contract;

  constructor(rpc: string | ContractRunner, keyRegistry: string) {
    const runner = typeof rpc === "string" ? new JsonRpcProvider(rpc, undefined, { staticNetwork: true }) : rpc;
    this.#registry = new Contract(keyRegistry, ["function publicKeyOf(uint32) view returns (bytes)"], runner);
  }

  async publicKeyOf(epoch: number): Promise<string> {
    return hexlify((await this.#registry.getFunction("publicKeyOf").staticCall(epoch)) as string);
  }
}

export interface GatekeeperProvisionerOptions {
  enclave: Enclave;
  config: GatekeeperSection;
  chainId: bigint;
  workerRegistry: string;
  logger: Logger;
  metrics?: WorkerMetrics;
  /** When given, every provisioned key must be the one published for its epoch. */
  published?: PublishedKeys;
  /** Unix seconds (tests inject one). */
  now?: () => number;
}

/**
 * Keeps the worker attested to the gatekeepers and its cluster keys current: provisions at start-up,
 * then again on the configured schedule so pending epochs arrive before they activate and retired
 * ones learn their grace end. The keyring it fills is the worker's InputDecryptor; the latest quorum
 * evidence is what WorkerRegistry registration through GatekeeperQuorumVerifier needs. A failed
 * refresh keeps the keys held. Logs carry epochs, signers and expiry, never keys.
 */
export class GatekeeperProvisioner {
  readonly keyring: ClusterKeyring;
  readonly #options: GatekeeperProvisionerOptions;
  readonly #now: () => number;
  #latest: Provisioned | undefined;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #task: ScheduledTask | undefined;

  constructor(options: GatekeeperProvisionerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.keyring = this.#newKeyring();
  }

  /** One provisioning round; concurrent callers share it. Throws ProvisioningError (or a network error). */
  refresh(): Promise<void> {
    this.#running ??= this.#provision().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Starts the refresh schedule (seconds or a node-cron expression); failures are logged and counted. */
  start(): void {
    const tick = () =>
      void this.refresh().catch((error: unknown) =>
        this.#options.logger.warn(
          { err: { name: (error as Error).name, message: (error as Error).message } },
          "cluster key refresh failed; keeping the keys held",
        ),
      );
    const { refresh } = this.#options.config;
    if (typeof refresh === "number") this.#timer = setInterval(tick, refresh * 1000);
    else this.#task = cron.schedule(refresh, tick);
  }

  /** Stops the schedule, waits for a round in flight and wipes the keys. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#task?.destroy();
    this.#task = undefined;
    await this.#running?.catch(() => undefined);
    this.keyring.clear();
  }

  /** The latest quorum evidence, for GET /attestation. */
  evidence(): GatekeeperEvidence | undefined {
    const latest = this.#latest;
    if (latest === undefined) return undefined;
    return {
      verifier: this.#options.config.quorumVerifier,
      evidence: latest.evidence,
      measurement: latest.measurement,
      tcbStatus: latest.tcbStatus,
      expiresAt: latest.expiresAt.toString(),
      signers: latest.signers,
    };
  }

  #newKeyring(): ClusterKeyring {
    return new ClusterKeyring({ now: this.#now, slackSeconds: this.#options.config.requestLifetimeSlackSeconds });
  }

  async #provision(): Promise<void> {
    const { enclave, config, chainId, workerRegistry, logger, metrics, published } = this.#options;
    // Keys land in a staging keyring first: nothing is used before every check passed.
    const staging = this.#newKeyring();
    try {
      const provisioned = await enclave.provisionFromGatekeepers({
        gatekeepers: config.urls,
        chainId,
        workerRegistry,
        quorumVerifier: config.quorumVerifier,
        expiresAt: BigInt(this.#now() + config.attestationValiditySeconds),
        minSignatures: config.minSignatures,
        keyring: staging,
      });
      const epochs = staging.epochs();
      if (published !== undefined) {
        for (const epoch of epochs) {
          if ((await published.publicKeyOf(epoch)).toLowerCase() !== staging.publicKeyOf(epoch)) {
            throw new ProvisioningError(`the key provisioned for epoch ${epoch} is not the one KeyRegistry publishes`);
          }
        }
      }
      this.keyring.refreshFrom(staging);
      this.#latest = provisioned;
      metrics?.keyProvisioning.inc({ outcome: "ok" });
      metrics?.keyEpochs.set(this.keyring.epochs().length);
      logger.info(
        { epochs: this.keyring.epochs(), signers: provisioned.signers, expiresAt: provisioned.expiresAt.toString(), keysWithheld: provisioned.keysWithheld },
        provisioned.keysWithheld === undefined
          ? "attested by the gatekeepers; cluster keys provisioned"
          : "attested by the gatekeepers; no cluster keys until this worker is registered (register with GET /attestation's gatekeeperEvidence)",
      );
    } catch (error) {
      metrics?.keyProvisioning.inc({ outcome: "error" });
      throw error;
    } finally {
      staging.clear();
    }
  }
}
