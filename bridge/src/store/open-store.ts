import { computeAddress } from "ethers";
import type { BridgeConfig } from "../config.js";
import { PostgresStore } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { BridgeStore } from "./store.js";

/** The configured store: SQLite at `dbPath` unless `store.kind` is postgres (a fleet member, its relayer address owning its leases and transactions). */
export async function openStore(config: Pick<BridgeConfig, "dbPath" | "store" | "privateKey">): Promise<BridgeStore> {
  if (config.store.kind === "postgres")
    return PostgresStore.open({
      url: config.store.url,
      relayer: computeAddress(config.privateKey),
      leaseMs: config.store.leaseMs,
      timeoutMs: config.store.statementTimeoutMs,
      poolSize: config.store.poolSize,
    });
  return new SqliteStore(config.dbPath);
}
