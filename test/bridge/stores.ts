import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import type { BridgeStore } from "../../bridge/src/store/store.js";
import { openPostgresStore } from "./postgres.js";

/** Both store implementations, for tests run against each (Postgres: a real server, a fresh database per call). */
export const STORES: [string, () => Promise<BridgeStore>][] = [
  ["SqliteStore", async () => new SqliteStore(":memory:")],
  ["PostgresStore", () => openPostgresStore()],
];
