import { getBytes, hexlify } from "ethers";
import {
  decryptAgentSecrets,
  decryptClusterInput,
  EnvelopeError,
  publicKeyOf,
  type AgentSecrets,
  type AgentSecretsBinding,
  type BytesLike,
  type InputBinding,
} from "./confidential.js";
import { DecryptionError, type InputDecryptor } from "./decryptor.js";

export interface ClusterKeyringOptions {
  /** Clock in unix seconds (tests inject one). */
  now?: () => number;
  /**
   * Seconds a retired epoch's key is kept after its on-chain grace window ends, so a request accepted
   * by the router in the last second of the window is still executed. Set it to the longest time a
   * request may wait for execution (the router's request deadline); 0 = exactly the on-chain window.
   */
  slackSeconds?: number;
}

interface EpochKey {
  privateKey: Uint8Array;
  publicKey: string;
  /** Unix seconds after which the epoch is no longer usable on-chain; null while it is current or pending. */
  usableUntil: number | null;
}

/**
 * The cluster private keys a worker holds, one per epoch, and their grace windows. Implements the
 * worker's InputDecryptor seam. A key whose window (plus slack) has passed is wiped from memory and
 * every later use fails with a DecryptionError naming the epoch and when its window ended.
 */
export class ClusterKeyring implements InputDecryptor {
  private readonly keys = new Map<number, EpochKey>();
  private readonly retired = new Map<number, number>();
  private readonly now: () => number;
  private readonly slackSeconds: number;

  constructor(options: ClusterKeyringOptions = {}) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.slackSeconds = options.slackSeconds ?? 0;
  }

  /** Installs (or updates the window of) the key of `epoch`. */
  add(epoch: number, privateKey: BytesLike, usableUntil: number | null): void {
    if (!Number.isInteger(epoch) || epoch <= 0) throw new RangeError(`invalid epoch ${epoch}`);
    const key = typeof privateKey === "string" ? getBytes(privateKey) : Uint8Array.from(privateKey);
    this.keys.set(epoch, { privateKey: key, publicKey: hexlify(publicKeyOf(key)), usableUntil });
    this.retired.delete(epoch);
  }

  /** Sets when `epoch` stops being usable (from KeyRegistry.previousEpochGraceEndsAt after a rotation). */
  setUsableUntil(epoch: number, usableUntil: number | null): void {
    const key = this.keys.get(epoch);
    if (key) key.usableUntil = usableUntil;
  }

  /** Epochs whose keys are held and still inside their window. */
  epochs(): number[] {
    return [...this.keys.keys()].filter((epoch) => this.liveKey(epoch) !== undefined).sort((a, b) => a - b);
  }

  /** The compressed public key (0x-hex) of a held epoch key, to check against KeyRegistry.publicKeyOf. */
  publicKeyOf(epoch: number): string | undefined {
    return this.liveKey(epoch)?.publicKey;
  }

  /**
   * A request input sealed to the cluster key of `epoch` for (chain, consumer, agent). The binding is
   * required: an input sealed without one, or for another consumer or agent, does not open.
   */
  async decryptInput(epoch: number, ciphertext: Uint8Array, binding: InputBinding): Promise<Uint8Array> {
    const key = this.keyFor(epoch);
    return this.guard(epoch, () => decryptClusterInput(key.privateKey, ciphertext, binding));
  }

  /** An agent owner's secrets; they only open for the agent they were sealed for. */
  async decryptAgentSecrets(epoch: number, ciphertext: Uint8Array, binding: AgentSecretsBinding): Promise<AgentSecrets> {
    const key = this.keyFor(epoch);
    return this.guard(epoch, () => decryptAgentSecrets(key.privateKey, ciphertext, binding));
  }

  /**
   * Adopts a freshly provisioned keyring (the gatekeepers' current answer) and wipes it: its keys and
   * windows replace ours. An epoch held here that the gatekeepers no longer provision has left its
   * on-chain window (perhaps between two refreshes, before its grace end was learnt), so unless it
   * already has an earlier end it ends now and is kept only for the slack.
   */
  refreshFrom(fresh: ClusterKeyring): void {
    const held = fresh.epochs();
    for (const epoch of held) {
      const key = fresh.keys.get(epoch)!;
      this.add(epoch, key.privateKey, key.usableUntil);
    }
    const now = this.now();
    for (const [epoch, key] of this.keys) {
      if (!held.includes(epoch) && (key.usableUntil === null || key.usableUntil > now)) key.usableUntil = now;
    }
    fresh.clear();
  }

  /** Wipes every key (shutdown). */
  clear(): void {
    for (const key of this.keys.values()) key.privateKey.fill(0);
    this.keys.clear();
  }

  private guard<T>(epoch: number, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof EnvelopeError) throw new DecryptionError(`epoch ${epoch}: ${error.message}`, epoch);
      throw error;
    }
  }

  private keyFor(epoch: number): EpochKey {
    const key = this.liveKey(epoch);
    if (key) return key;
    const endedAt = this.retired.get(epoch);
    if (endedAt !== undefined) {
      throw new DecryptionError(`epoch ${epoch} is retired: its grace window ended at ${endedAt}`, epoch);
    }
    throw new DecryptionError(`no cluster key provisioned for epoch ${epoch}`, epoch);
  }

  private liveKey(epoch: number): EpochKey | undefined {
    const key = this.keys.get(epoch);
    if (!key) return undefined;
    if (key.usableUntil !== null && this.now() >= key.usableUntil + this.slackSeconds) {
      key.privateKey.fill(0);
      this.keys.delete(epoch);
      this.retired.set(epoch, key.usableUntil);
      return undefined;
    }
    return key;
  }
}
