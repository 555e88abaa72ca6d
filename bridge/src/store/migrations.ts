import type { DatabaseSync } from "node:sqlite";
import { StoreMismatchError } from "../errors.js";
import { state, states } from "./sql.js";
import { DISPATCHABLE_STATES, UNSETTLED_STATES } from "./store.js";

/**
 * One step of the store's schema. Steps are applied in order, each in its own transaction together
 * with the new `PRAGMA user_version`, so a crash leaves the store at a whole version. A released
 * step never changes: a new schema is a new step. A partial index is built from a state list
 * (store.ts); changing that list needs a step that rebuilds the index, and test/bridge/store.ts
 * checks that the queries still use their indexes.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: DatabaseSync): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "requests, blocks, sent transactions, meta",
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS requests (
          id TEXT PRIMARY KEY,
          request TEXT NOT NULL,
          input TEXT NOT NULL,
          request_hash TEXT NOT NULL,
          worker TEXT NOT NULL,
          deadline INTEGER NOT NULL,
          block_number INTEGER NOT NULL,
          block_hash TEXT NOT NULL,
          log_index INTEGER NOT NULL,
          tx_hash TEXT NOT NULL,
          state TEXT NOT NULL,
          previous_state TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          answer TEXT,
          submit_tx TEXT,
          settle_tx TEXT,
          settle_block INTEGER,
          fee TEXT,
          refund TEXT,
          seen_at INTEGER NOT NULL,
          confirmed_at INTEGER,
          settled_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS requests_state ON requests (state, next_attempt_at);
        CREATE INDEX IF NOT EXISTS requests_block ON requests (block_number);
        CREATE INDEX IF NOT EXISTS requests_seen ON requests (block_number, block_hash) WHERE state = ${state("seen")};
        -- The dispatcher's queue in its order: reads only the rows it returns, however many wait.
        CREATE INDEX IF NOT EXISTS requests_due ON requests (next_attempt_at, block_number, log_index) WHERE state IN ${states(DISPATCHABLE_STATES)};
        CREATE INDEX IF NOT EXISTS requests_deadline ON requests (deadline) WHERE state IN ${states(UNSETTLED_STATES)};
        CREATE TABLE IF NOT EXISTS txs (
          hash TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          nonce INTEGER NOT NULL,
          to_address TEXT NOT NULL,
          data TEXT NOT NULL,
          gas_limit TEXT NOT NULL,
          max_fee TEXT NOT NULL,
          priority_fee TEXT NOT NULL,
          request_ids TEXT NOT NULL,
          sent_at INTEGER NOT NULL,
          status TEXT NOT NULL,
          block_number INTEGER,
          gas_used TEXT,
          effective_gas_price TEXT
        );
        CREATE INDEX IF NOT EXISTS txs_status ON txs (status);
      `);
    },
  },
];

/** Stores written before numbered migrations recorded schema 1 in meta.schema_version instead of user_version. */
function legacyVersion(db: DatabaseSync): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!table) return 0;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  return row ? Number(row.value) : 0;
}

/**
 * Brings the store at `path` to the latest schema; returns the versions before and after. A store
 * written by a newer bridge is refused rather than guessed at.
 */
export function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  const latest = migrations.at(-1)?.version ?? 0;
  let version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  const legacy = version === 0 ? legacyVersion(db) : 0;
  if (legacy > 0) {
    // Adopt the legacy marker: from now on user_version is the only record of the schema.
    db.exec("BEGIN IMMEDIATE");
    db.exec("DELETE FROM meta WHERE key = 'schema_version'");
    db.exec(`PRAGMA user_version = ${legacy}`);
    db.exec("COMMIT");
    version = legacy;
  }
  const from = version;
  if (version > latest) {
    throw new StoreMismatchError("store was written by a newer bridge", { details: `${path} has schema ${version}, this bridge knows up to ${latest}` });
  }
  for (const migration of migrations) {
    if (migration.version <= version) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      migration.up(db);
      db.exec(`PRAGMA user_version = ${migration.version}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw new StoreMismatchError(`store migration ${migration.version} (${migration.description}) failed`, { cause: error });
    }
    version = migration.version;
  }
  return { from, to: version };
}
