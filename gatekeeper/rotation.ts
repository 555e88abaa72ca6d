import cron, { type ScheduledTask } from "node-cron";
import { Contract, getAddress, type Signer, type TypedDataDomain } from "ethers";
import type { Logger } from "pino";
import { RotationSignResponse } from "./api.js";
import type { ClusterKeyDeriver } from "./cluster-key.js";
import { KEY_REGISTRY_ABI, type EpochSource } from "./epochs.js";
import { BadRequestError, ForbiddenError, RotationError } from "./errors.js";
import { recoverKeyRotationSigner, signKeyRotation, sortBySigner } from "./typed-data.js";

/** KeyRegistry.MAX_SIGNATURE_VALIDITY: the furthest deadline the contract accepts. */
export const MAX_ROTATION_SIGNATURE_VALIDITY_S = 24 * 3600;
/** Deadline a coordinator puts on a rotation's signatures (chain time + this). */
export const ROTATION_SIGNATURE_TTL_S = 600;

/** What a coordinator asks each gatekeeper to sign (see RotationSignRequest). */
export interface RotationAsk {
  epoch: number;
  deadline: bigint;
  /** The coordinator's own KeyRotation(epoch, publicKey, deadline) signature. */
  authorization: string;
}

/** One gatekeeper's signature over the next epoch's key (this process, or a peer over HTTP). */
export interface RotationSigner {
  signRotation(ask: RotationAsk): Promise<RotationSignResponse>;
}

/** Chain facts a rotation signer checks. */
export interface RotationChain {
  /** Current gatekeeper set (the quorum KeyRegistry uses). */
  isGatekeeper(address: string): Promise<boolean>;
  /** Latest block timestamp (deadlines are chain time). */
  chainTime(): Promise<number>;
}

/**
 * Signs KeyRotation(epoch, publicKey, deadline) for the epoch right after the last proposed one,
 * with the key this gatekeeper derives itself (a peer never signs a key it was merely handed), and
 * only when a current gatekeeper asks: the request carries that gatekeeper's own signature over the
 * same rotation. An outsider can no longer collect a quorum through the open endpoint, and the
 * signatures it could see expire within KeyRegistry's MAX_SIGNATURE_VALIDITY.
 */
export class LocalRotationSigner implements RotationSigner {
  constructor(
    private readonly signer: Signer,
    private readonly deriver: ClusterKeyDeriver,
    private readonly domain: TypedDataDomain,
    private readonly epochs: EpochSource,
    private readonly chain: RotationChain,
  ) {}

  async signRotation(ask: RotationAsk): Promise<RotationSignResponse> {
    const { epoch, deadline } = ask;
    const { lastProposed, pending } = await this.epochs.schedule();
    if (pending) throw new RotationError(`rotation to epoch ${pending.epoch} is still pending`);
    if (epoch !== lastProposed + 1) throw new RotationError(`next epoch is ${lastProposed + 1}, not ${epoch}`);
    const publicKey = this.deriver.publicKey(epoch);
    let requester: string;
    try {
      requester = recoverKeyRotationSigner(this.domain, { epoch, publicKey, deadline }, ask.authorization);
    } catch {
      throw new ForbiddenError("authorization is not a signature over this rotation");
    }
    if (!(await this.chain.isGatekeeper(requester))) {
      throw new ForbiddenError(`rotation requested by ${requester}, which is not a current gatekeeper`);
    }
    const now = await this.chain.chainTime();
    if (deadline <= BigInt(now) || deadline > BigInt(now + MAX_ROTATION_SIGNATURE_VALIDITY_S)) {
      throw new BadRequestError(`deadline must be within ${MAX_ROTATION_SIGNATURE_VALIDITY_S}s after chain time ${now}`);
    }
    const signature = await signKeyRotation(this.signer, this.domain, { epoch, publicKey, deadline });
    return { gatekeeper: await this.signer.getAddress(), epoch, publicKey, deadline: deadline.toString(), signature };
  }
}

/** A peer gatekeeper reached through POST /v1/rotation/sign. */
export class HttpRotationPeer implements RotationSigner {
  constructor(
    private readonly baseUrl: string,
    private readonly chainId: bigint,
    private readonly keyRegistry: string,
  ) {}

  async signRotation(ask: RotationAsk): Promise<RotationSignResponse> {
    const response = await fetch(new URL("/v1/rotation/sign", this.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        chainId: this.chainId.toString(),
        keyRegistry: this.keyRegistry,
        epoch: ask.epoch,
        deadline: ask.deadline.toString(),
        authorization: ask.authorization,
      }),
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
  /** This gatekeeper's key: authorizes the request to peers (and submits the proposal). */
  signer: Signer;
  /** Latest block timestamp: the signatures' deadline is chain time + ROTATION_SIGNATURE_TTL_S. */
  chainTime: () => Promise<number>;
  /** Number of signatures KeyRegistry's quorum requires. */
  threshold: () => Promise<number>;
  /** Filters signers that are no longer gatekeepers (their signatures would make the proposal revert). */
  isGatekeeper: (address: string) => Promise<boolean>;
  /** Submits the proposal; returns its activation time and transaction hash. */
  propose: (epoch: number, publicKey: string, deadline: bigint, signatures: string[]) => Promise<{ activatesAt: number; txHash: string }>;
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
    const deadline = BigInt((await o.chainTime()) + ROTATION_SIGNATURE_TTL_S);
    const authorization = await signKeyRotation(o.signer, o.domain, { epoch, publicKey, deadline });
    const results = await Promise.allSettled(o.peers.map((peer) => peer.signRotation({ epoch, deadline, authorization })));
    const valid: { signer: string; signature: string }[] = [];
    for (const result of results) {
      if (result.status === "rejected") {
        o.logger.warn({ epoch, err: (result.reason as Error).message }, "peer did not sign rotation");
        continue;
      }
      const r = result.value;
      if (r.epoch !== epoch || r.publicKey.toLowerCase() !== publicKey.toLowerCase() || r.deadline !== deadline.toString()) {
        o.logger.error({ epoch, peer: r.gatekeeper }, "peer signed a different rotation: master keys differ");
        continue;
      }
      const signer = recoverKeyRotationSigner(o.domain, { epoch, publicKey, deadline }, r.signature);
      if (signer !== getAddress(r.gatekeeper) || !(await o.isGatekeeper(signer))) continue;
      valid.push({ signer, signature: r.signature });
    }
    const signatures = sortBySigner(valid);
    const threshold = await o.threshold();
    if (signatures.length < threshold) {
      throw new RotationError(`only ${signatures.length} of ${threshold} required gatekeeper signatures for epoch ${epoch}`);
    }
    const { activatesAt, txHash } = await o.propose(epoch, publicKey, deadline, signatures);
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
    chainTime: async () => {
      const block = await sender.provider!.getBlock("latest");
      if (block === null) throw new RotationError("cannot read the latest block");
      return block.timestamp;
    },
    propose: async (epoch: number, publicKey: string, deadline: bigint, signatures: string[]) => {
      const tx = await registry.proposeRotation!(epoch, publicKey, deadline, signatures);
      const receipt = await tx.wait();
      for (const log of receipt.logs) {
        const parsed = registry.interface.parseLog(log);
        if (parsed?.name === "RotationProposed") return { activatesAt: Number(parsed.args.activatesAt), txHash: receipt.hash as string };
      }
      throw new RotationError("proposal mined without a RotationProposed event");
    },
  };
}
