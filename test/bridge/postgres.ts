import { postgresServer } from "../../bridge/dev/postgres-server.js";
import { PostgresStore, type PostgresStoreOptions } from "../../bridge/src/store/postgres-store.js";

/** The test run's one Postgres server (started on first use, stopped after the run) and a fresh database on it. */
export async function freshDatabase(): Promise<string> {
  return (await postgresServer()).createDatabase();
}

export const RELAYER_A = `0x${"a1".repeat(20)}`;
export const RELAYER_B = `0x${"b2".repeat(20)}`;

export async function openPostgresStore(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  return PostgresStore.open({ url: options.url ?? (await freshDatabase()), relayer: RELAYER_A, ...options });
}

// A root hook (this module is loaded with the test files): the server stops once the run is over.
// Bounded by stop()'s 10 s grace, then the removal of a data directory holding a database per
// Postgres test: over 20 s with ~150 of them on a loaded 2-core machine (stop 27).
after(async function () {
  this.timeout(60_000);
  const { stopPostgresServer } = await import("../../bridge/dev/postgres-server.js");
  await stopPostgresServer();
});
