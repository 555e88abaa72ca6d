import { computeAddress } from "ethers";
import type { BridgeConfig } from "../config.js";
import { PostgresStore } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { BridgeStore } from "./store.js";

/** The configured store: SQLite at `dbPath` unless `store.kind` is postgres (a fleet member, its relayer address owning its leases and transactions). */
export function openStore(config: Pick<BridgeConfig, "dbPath" | "store" | "privateKey">): BridgeStore {
  if (config.store.kind === "postgres")
    return new PostgresStore({
      url: config.store.url,
      relayer: computeAddress(config.privateKey),
      leaseMs: config.store.leaseMs,
      timeoutMs: config.store.statementTimeoutMs,
    });
  return new SqliteStore(config.dbPath);
}
