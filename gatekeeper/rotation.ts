import cron, { type ScheduledTask } from "node-cron";
import { Contract, getAddress, type Signer, type TypedDataDomain } from "ethers";
import type { Logger } from "pino";
import { RotationSignResponse } from "./api.js";
import type { ClusterKeyDeriver } from "./cluster-key.js";
import { KEY_REGISTRY_ABI, type EpochSource } from "./epochs.js";
import { RotationError } from "./errors.js";
import { recoverKeyRotationSigner, signKeyRotation, sortBySigner } from "./typed-data.js";

/** One gatekeeper's signature over the next epoch's key (this process, or a peer over HTTP). */
export interface RotationSigner {
  signRotation(epoch: number): Promise<RotationSignResponse>;
}

/**
 * Signs KeyRotation(epoch, publicKey) for the epoch right after the last proposed one, with the key
 * this gatekeeper derives itself: a peer never signs a key it was merely handed.
 */
export class LocalRotationSigner implements RotationSigner {
  constructor(
    private readonly signer: Signer,
    private readonly deriver: ClusterKeyDeriver,
    private readonly domain: TypedDataDomain,
    private readonly epochs: EpochSource,
  ) {}

  async signRotation(epoch: number): Promise<RotationSignResponse> {
    const { lastProposed, pending } = await this.epochs.schedule();
    if (pending) throw new RotationError(`rotation to epoch ${pending.epoch} is still pending`);
    if (epoch !== lastProposed + 1) throw new RotationError(`next epoch is ${lastProposed + 1}, not ${epoch}`);
    const publicKey = this.deriver.publicKey(epoch);
    const signature = await signKeyRotation(this.signer, this.domain, { epoch, publicKey });
    return { gatekeeper: await this.signer.getAddress(), epoch, publicKey, signature };
  }
}

/** A peer gatekeeper reached through POST /v1/rotation/sign. */
export class HttpRotationPeer implements RotationSigner {
  constructor(
    private readonly baseUrl: string,
    private readonly chainId: bigint,
    private readonly keyRegistry: string,
  ) {}

  async signRotation(epoch: number): Promise<RotationSignResponse> {
    const response = await fetch(new URL("/v1/rotation/sign", this.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chainId: this.chainId.toString(), keyRegistry: this.keyRegistry, epoch }),
    });
    const body = (await response.json()) as unknown;
    if (!response.ok) throw new RotationError(`peer ${this.baseUrl} refused: ${(body as { error?: string }).error ?? response.status}`);
    return RotationSignResponse.parse(body);
  }
}

export interface ProposedRotation {
  epoch: number;
  publicKey: string;
  activatesAt: number;
  txHash: string;
  signers: string[];
}

export interface RotationCoordinatorOptions {
  epochs: EpochSource;
  deriver: ClusterKeyDeriver;
  domain: TypedDataDomain;
  peers: RotationSigner[];
  /** Number of signatures KeyRegistry's quorum requires. */
  threshold: () => Promise<number>;
  /** Filters signers that are no longer gatekeepers (their signatures would make the proposal revert). */
  isGatekeeper: (address: string) => Promise<boolean>;
  /** Submits the proposal; returns its activation time and transaction hash. */
  propose: (epoch: number, publicKey: string, signatures: string[]) => Promise<{ activatesAt: number; txHash: string }>;
  logger: Logger;
}

/** Collects a quorum of peer signatures over the next epoch's key and proposes it, on a schedule or on demand. */
export class RotationCoordinator {
  private task: ScheduledTask | undefined;
  private running: Promise<ProposedRotation> | undefined;

  constructor(private readonly options: RotationCoordinatorOptions) {}

  /** Proposes the next epoch now. Concurrent calls share one attempt. */
  rotateNow(): Promise<ProposedRotation> {
    this.running ??= this.rotate().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Starts scheduled rotations (node-cron expression). */
  start(schedule: string): void {
    if (!cron.validate(schedule)) throw new RangeError(`invalid cron expression ${schedule}`);
    this.task = cron.schedule(schedule, async () => {
      try {
        await this.rotateNow();
      } catch (error) {
        this.options.logger.warn({ err: (error as Error).message }, "scheduled rotation skipped");
      }
    });
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
  }

  private async rotate(): Promise<ProposedRotation> {
    const o = this.options;
    const schedule = await o.epochs.schedule();
    if (schedule.pending) throw new RotationError(`rotation to epoch ${schedule.pending.epoch} is still pending`);
    const epoch = schedule.lastProposed + 1;
    const publicKey = o.deriver.publicKey(epoch);
    const results = await Promise.allSettled(o.peers.map((peer) => peer.signRotation(epoch)));
    const valid: { signer: string; signature: string }[] = [];
    for (const result of results) {
      if (result.status === "rejected") {
        o.logger.warn({ epoch, err: (result.reason as Error).message }, "peer did not sign rotation");
        continue;
      }
      const r = result.value;
      if (r.epoch !== epoch || r.publicKey.toLowerCase() !== publicKey.toLowerCase()) {
        o.logger.error({ epoch, peer: r.gatekeeper }, "peer signed a different key: master keys differ");
        continue;
      }
      const signer = recoverKeyRotationSigner(o.domain, { epoch, publicKey }, r.signature);
      if (signer !== getAddress(r.gatekeeper) || !(await o.isGatekeeper(signer))) continue;
      valid.push({ signer, signature: r.signature });
    }
    const signatures = sortBySigner(valid);
    const threshold = await o.threshold();
    if (signatures.length < threshold) {
      throw new RotationError(`only ${signatures.length} of ${threshold} required gatekeeper signatures for epoch ${epoch}`);
    }
    const { activatesAt, txHash } = await o.propose(epoch, publicKey, signatures);
    o.logger.info({ epoch, publicKey, activatesAt, txHash, signers: valid.length }, "rotation proposed");
    return { epoch, publicKey, activatesAt, txHash, signers: valid.map((v) => v.signer) };
  }
}

/** `propose`, `threshold` and `isGatekeeper` backed by a deployed KeyRegistry and its quorum. */
export function keyRegistryProposer(keyRegistry: string, sender: Signer) {
  const registry = new Contract(keyRegistry, KEY_REGISTRY_ABI, sender);
  // Read at use time: governance may point KeyRegistry at another quorum.
  const quorum = async () =>
    new Contract(
      (await registry.gatekeeperQuorum!()) as string,
      ["function threshold() view returns (uint256)", "function isGatekeeper(address) view returns (bool)"],
      sender,
    );
  return {
    threshold: async () => Number(await (await quorum()).threshold!()),
    isGatekeeper: async (address: string) => (await (await quorum()).isGatekeeper!(address)) as boolean,
    propose: async (epoch: number, publicKey: string, signatures: string[]) => {
      const tx = await registry.proposeRotation!(epoch, publicKey, signatures);
      const receipt = await tx.wait();
      for (const log of receipt.logs) {
        const parsed = registry.interface.parseLog(log);
        if (parsed?.name === "RotationProposed") return { activatesAt: Number(parsed.args.activatesAt), txHash: receipt.hash as string };
      }
      throw new RotationError("proposal mined without a RotationProposed event");
    },
  };
}
