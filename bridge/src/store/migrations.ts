import type { DatabaseSync } from "node:sqlite";
import { StoreMismatchError } from "../errors.js";
import { literal, literals, state, states } from "./sql.js";
import { DISPATCHABLE_STATES, FAILOVER_STATES, UNFINISHED_TX_STATES, UNSETTLED_STATES, type TxState } from "./store.js";

const tx = (value: TxState) => literal(value);

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
  {
    version: 2,
    description: "logical transactions apart from their fee-bumped attempts; requests linked to their fulfil and timeout transactions",
    up(db) {
      db.exec(`
        CREATE TABLE transactions (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          kind TEXT NOT NULL,
          nonce INTEGER NOT NULL,
          to_address TEXT NOT NULL,
          data TEXT NOT NULL,
          gas_limit TEXT NOT NULL,
          request_ids TEXT NOT NULL,
          state TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          error TEXT,
          mined_hash TEXT,
          block_number INTEGER,
          gas_used TEXT,
          effective_gas_price TEXT,
          success INTEGER,
          -- 1 once it is known which transaction used its nonce: until then even an abandoned one may be mined.
          resolved INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX transactions_nonce ON transactions (nonce);
        CREATE INDEX transactions_unresolved ON transactions (nonce) WHERE resolved = 0;
        CREATE INDEX transactions_unfinished ON transactions (nonce) WHERE state IN ${literals(UNFINISHED_TX_STATES)};
        CREATE INDEX transactions_block ON transactions (block_number) WHERE block_number IS NOT NULL;
        CREATE TABLE tx_attempts (
          hash TEXT PRIMARY KEY,
          tx_id INTEGER NOT NULL REFERENCES transactions (id),
          max_fee TEXT NOT NULL,
          priority_fee TEXT NOT NULL,
          state TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          broadcast_at INTEGER
        );
        CREATE INDEX tx_attempts_tx ON tx_attempts (tx_id);
        ALTER TABLE requests ADD COLUMN fulfil_tx INTEGER;
        ALTER TABLE requests ADD COLUMN timeout_tx INTEGER;
        CREATE INDEX requests_fulfil_tx ON requests (fulfil_tx) WHERE fulfil_tx IS NOT NULL;
        CREATE INDEX requests_timeout_tx ON requests (timeout_tx) WHERE timeout_tx IS NOT NULL;

        -- Version 1 kept one row per signed transaction; rows with the same nonce, kind and payload
        -- were fee bumps of one logical transaction.
        INSERT INTO transactions (kind, nonce, to_address, data, gas_limit, request_ids, state, created_at,
                                  mined_hash, block_number, gas_used, effective_gas_price, success, resolved)
        SELECT t.kind, t.nonce, t.to_address, t.data, MAX(t.gas_limit), MAX(t.request_ids),
               CASE WHEN m.hash IS NOT NULL THEN ${tx("confirmed")}
                    WHEN MAX(t.status = 'pending') THEN ${tx("unconfirmed")}
                    ELSE ${tx("abandoned")} END,
               MIN(t.sent_at), m.hash, m.block_number, m.gas_used, m.effective_gas_price,
               CASE WHEN m.hash IS NULL THEN NULL ELSE m.status = 'mined' END,
               MAX(t.status <> 'pending')
        FROM txs t
        LEFT JOIN txs m ON m.nonce = t.nonce AND m.kind = t.kind AND m.data = t.data AND m.status IN ('mined', 'reverted')
        GROUP BY t.nonce, t.kind, t.data;
        INSERT INTO tx_attempts (hash, tx_id, max_fee, priority_fee, state, created_at, broadcast_at)
        SELECT o.hash, n.id, o.max_fee, o.priority_fee, 'broadcast', o.sent_at, o.sent_at
        FROM txs o JOIN transactions n ON n.nonce = o.nonce AND n.kind = o.kind AND n.data = o.data;
        UPDATE requests SET fulfil_tx = (SELECT tx_id FROM tx_attempts WHERE hash = requests.submit_tx)
        WHERE state = ${state("submitted")};
        DROP TABLE txs;
        ALTER TABLE requests DROP COLUMN submit_tx;
      `);
    },
  },
  {
    version: 3,
    description: "the dispatcher's queue per worker",
    up(db) {
      db.exec(`
        DROP INDEX requests_due;
        -- One worker's queue in its order, and the distinct workers with a queue, each read without scanning the others'.
        CREATE INDEX requests_due_worker ON requests (worker, next_attempt_at, block_number, log_index) WHERE state IN ${states(DISPATCHABLE_STATES)};
      `);
    },
  },
  {
    version: 4,
    description: "failover: the rank of the worker a request is dispatched to, when its next backup is due, who answered",
    up(db) {
      db.exec(`
        -- worker: the worker the request is dispatched to, the primary (rank 0) or the backup of worker_rank.
        ALTER TABLE requests ADD COLUMN worker_rank INTEGER NOT NULL DEFAULT 0;
        -- Chain time (unix s) from which backup worker_rank + 1 is looked at; 0 not known yet; -1 none left.
        ALTER TABLE requests ADD COLUMN backup_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE requests ADD COLUMN answer_rank INTEGER;
        ALTER TABLE requests ADD COLUMN answered_by TEXT;
        CREATE INDEX requests_failover ON requests (backup_at) WHERE state IN ${states(FAILOVER_STATES)};
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
