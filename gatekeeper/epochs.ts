import { Contract, hexlify, type ContractRunner } from "ethers";

/** The epochs a gatekeeper provisions and a rotation job builds on, as KeyRegistry reports them. */
export interface EpochSchedule {
  current: { epoch: number; publicKey: string } | null;
  /** The previous epoch while inside its grace window (usableUntil = grace end, unix seconds). */
  previous: { epoch: number; publicKey: string; usableUntil: number } | null;
  pending: { epoch: number; publicKey: string; activatesAt: number } | null;
  lastProposed: number;
}

export interface EpochSource {
  schedule(): Promise<EpochSchedule>;
}

export const KEY_REGISTRY_ABI = [
  "function currentEpoch() view returns (uint32)",
  "function previousEpoch() view returns (uint32)",
  "function previousEpochGraceEndsAt() view returns (uint64)",
  "function isEpochUsable(uint32) view returns (bool)",
  "function pendingRotation() view returns (uint32 epoch, bytes publicKey, uint64 activatesAt)",
  "function publicKeyOf(uint32) view returns (bytes)",
  "function lastProposedEpoch() view returns (uint32)",
  "function proposeRotation(uint32 epoch, bytes publicKey, uint64 deadline, bytes[] signatures) returns (uint64)",
  "function gatekeeperQuorum() view returns (address)",
  "event RotationProposed(uint32 indexed epoch, bytes publicKey, uint64 activatesAt)",
  "event RotationActivated(uint32 indexed epoch, uint32 indexed previousEpoch, uint64 activatedAt)",
];

/** Reads the schedule from a deployed KeyRegistry. */
export class KeyRegistryEpochSource implements EpochSource {
  readonly contract: Contract;

  constructor(address: string, runner: ContractRunner) {
    this.contract = new Contract(address, KEY_REGISTRY_ABI, runner);
  }

  async schedule(): Promise<EpochSchedule> {
    const c = this.contract;
    const [current, previous, graceEnd, pending, lastProposed] = await Promise.all([
      c.currentEpoch!() as Promise<bigint>,
      c.previousEpoch!() as Promise<bigint>,
      c.previousEpochGraceEndsAt!() as Promise<bigint>,
      c.pendingRotation!() as Promise<[bigint, string, bigint]>,
      c.lastProposedEpoch!() as Promise<bigint>,
    ]);
    const previousUsable = previous !== 0n && (await c.isEpochUsable!(previous));
    return {
      current: current === 0n ? null : { epoch: Number(current), publicKey: hexlify(await c.publicKeyOf!(current)) },
      previous: previousUsable ? { epoch: Number(previous), publicKey: hexlify(await c.publicKeyOf!(previous)), usableUntil: Number(graceEnd) } : null,
      pending: pending[0] === 0n ? null : { epoch: Number(pending[0]), publicKey: hexlify(pending[1]), activatesAt: Number(pending[2]) },
      lastProposed: Number(lastProposed),
    };
  }
}
