import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { keccak256 } from "ethers";
import { AgentStatus } from "../../../protocol/status.js";
import { ExecutionFailure } from "../errors.js";
import { BundleFetchError, type BundleFetcher } from "./fetcher.js";

/** A bundle whose bytes were checked against the registry's code hash. */
export interface VerifiedBundle {
  codeHash: string;
  source: string;
}

/**
 * Content-addressed store of verified agent bundles: memory first, then an optional directory, then
 * the URI. Only bytes whose keccak256 equals the code hash are ever kept or run, so a cache can
 * never serve the wrong code.
 */
export class BundleStore {
  readonly #memory = new Map<string, VerifiedBundle>();
  readonly #inflight = new Map<string, Promise<VerifiedBundle>>();

  constructor(
    private readonly fetcher: BundleFetcher,
    private readonly options: { maxEntries: number; dir?: string; onHit?: (tier: "memory" | "disk" | "fetch") => void },
  ) {}

  async get(codeHash: string, uri: string): Promise<VerifiedBundle> {
    const key = codeHash.toLowerCase();
    const cached = this.#memory.get(key);
    if (cached !== undefined) {
      this.options.onHit?.("memory");
      return cached;
    }
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#load(key, uri).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #load(key: string, uri: string): Promise<VerifiedBundle> {
    const fromDisk = await this.#readDisk(key);
    if (fromDisk !== undefined) {
      this.options.onHit?.("disk");
      return this.#remember(key, fromDisk);
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.fetcher.fetch(uri);
    } catch (error) {
      const message = error instanceof BundleFetchError ? error.message : "bundle fetch failed";
      throw new ExecutionFailure(AgentStatus.BUNDLE_UNAVAILABLE, message);
    }
    const actual = keccak256(bytes);
    if (actual !== key) {
      throw new ExecutionFailure(AgentStatus.CODE_HASH_MISMATCH, `bundle hash ${actual} does not match code hash ${key}`);
    }
    this.options.onHit?.("fetch");
    await this.#writeDisk(key, bytes);
    return this.#remember(key, bytes);
  }

  #remember(key: string, bytes: Uint8Array): VerifiedBundle {
    const bundle = { codeHash: key, source: new TextDecoder().decode(bytes) };
    if (this.#memory.size >= this.options.maxEntries) {
      const oldest = this.#memory.keys().next().value;
      if (oldest !== undefined) this.#memory.delete(oldest);
    }
    this.#memory.set(key, bundle);
    return bundle;
  }

  async #readDisk(key: string): Promise<Uint8Array | undefined> {
    if (this.options.dir === undefined) return undefined;
    try {
      const bytes = new Uint8Array(await readFile(join(this.options.dir, `${key}.js`)));
      // A tampered or truncated cache file is ignored, never run.
      return keccak256(bytes) === key ? bytes : undefined;
    } catch {
      return undefined;
    }
  }

  async #writeDisk(key: string, bytes: Uint8Array): Promise<void> {
    if (this.options.dir === undefined) return;
    try {
      await mkdir(this.options.dir, { recursive: true });
      const tmp = join(this.options.dir, `${key}.${process.pid}.tmp`);
      await writeFile(tmp, bytes);
      await rename(tmp, join(this.options.dir, `${key}.js`));
    } catch {
      // The disk tier is an optimisation; the verified bundle is still served from memory.
    }
  }
}
