import { StoreMismatchError } from "../errors.js";
import type { PgPool } from "./pg-pool.js";
import { literals, states } from "./sql.js";
import { DISPATCHABLE_STATES, FAILOVER_STATES, UNFINISHED_TX_STATES, UNSETTLED_STATES } from "./store.js";

/**
 * One step of the Postgres store's schema, recorded in `schema_migrations`. Steps are applied in
 * order, each in its own transaction with its row, under an advisory lock, so instances of a fleet
 * starting together apply each step once and a crash leaves the schema at a whole version. A
 * released step never changes: a new schema is a new step.
 */
export interface PgMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Same columns as the SQLite store at its version 4 (rows.ts maps both), plus the fleet's: leases and the relayer of each transaction. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "requests with leases, blocks, per-relayer transactions and attempts, meta",
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
      CREATE TABLE requests (
        -- "C" collation: ids compare as strings byte by byte, as in SQLite (unsettledPage's order).
        id TEXT COLLATE "C" PRIMARY KEY,
        request TEXT NOT NULL,
        input TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        worker TEXT NOT NULL,
        deadline BIGINT NOT NULL,
        block_number INTEGER NOT NULL,
        block_hash TEXT NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        previous_state TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        answer TEXT,
        fulfil_tx BIGINT,
        timeout_tx BIGINT,
        settle_tx TEXT,
        settle_block INTEGER,
        fee TEXT,
        refund TEXT,
        seen_at BIGINT NOT NULL,
        confirmed_at BIGINT,
        settled_at BIGINT,
        -- The instance (its relayer address) working on the request, until lease_until (database clock, unix ms).
        lease_owner TEXT,
        lease_until BIGINT NOT NULL DEFAULT 0
      );
      CREATE INDEX requests_block ON requests (block_number);
      CREATE INDEX requests_settle_block ON requests (settle_block) WHERE settle_block IS NOT NULL;
      CREATE INDEX requests_seen ON requests (block_number, block_hash) WHERE state = 'seen';
      CREATE INDEX requests_due_worker ON requests (worker, next_attempt_at, block_number, log_index) WHERE state IN ${states(DISPATCHABLE_STATES)};
      CREATE INDEX requests_signed ON requests (block_number, log_index) WHERE state = 'signed';
      CREATE INDEX requests_deadline ON requests (deadline) WHERE state IN ${states(UNSETTLED_STATES)};
      CREATE INDEX requests_state ON requests (state);
      CREATE INDEX requests_fulfil_tx ON requests (fulfil_tx) WHERE fulfil_tx IS NOT NULL;
      CREATE INDEX requests_timeout_tx ON requests (timeout_tx) WHERE timeout_tx IS NOT NULL;
      CREATE TABLE transactions (
        id BIGSERIAL PRIMARY KEY,
        -- Each instance signs with its own key: nonces, and so transactions, are per relayer.
        relayer TEXT NOT NULL,
        kind TEXT NOT NULL,
        nonce BIGINT NOT NULL,
        to_address TEXT NOT NULL,
        data TEXT NOT NULL,
        gas_limit TEXT NOT NULL,
        request_ids TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        error TEXT,
        mined_hash TEXT,
        block_number INTEGER,
        gas_used TEXT,
        effective_gas_price TEXT,
        success INTEGER,
        resolved INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX transactions_nonce ON transactions (relayer, nonce);
      CREATE INDEX transactions_unresolved ON transactions (relayer, nonce) WHERE resolved = 0;
      CREATE INDEX transactions_unfinished ON transactions (relayer, nonce) WHERE state IN ${literals(UNFINISHED_TX_STATES)};
      CREATE INDEX transactions_block ON transactions (block_number) WHERE block_number IS NOT NULL;
      CREATE TABLE tx_attempts (
        hash TEXT PRIMARY KEY,
        seq BIGSERIAL NOT NULL,
        tx_id BIGINT NOT NULL REFERENCES transactions (id),
        max_fee TEXT NOT NULL,
        priority_fee TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        broadcast_at BIGINT
      );
      CREATE INDEX tx_attempts_tx ON tx_attempts (tx_id);
    `,
  },
  {
    version: 2,
    description: "leases: each relayer's liveness and the single log-scanning leader",
    sql: `
      -- 'relayer:<address>': renewed by a live instance; 'scanner': held by the one instance that scans logs. until: database clock, unix ms.
      CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until BIGINT NOT NULL);
    `,
  },
  {
    version: 3,
    description: "failover: the rank of the worker a request is dispatched to, when its next backup is due, who answered",
    sql: `
      ALTER TABLE requests ADD COLUMN worker_rank INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE requests ADD COLUMN backup_at BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE requests ADD COLUMN answer_rank INTEGER;
      ALTER TABLE requests ADD COLUMN answered_by TEXT;
      CREATE INDEX requests_failover ON requests (backup_at) WHERE state IN ${states(FAILOVER_STATES)};
    `,
  },
  {
    version: 4,
    description: "one unfinished transaction per relayer nonce",
    sql: `
      -- A nonce is allocated in memory by the one broadcaster of a relayer key; the database makes the
      -- allocation atomic whatever runs: two instances started with the same key (a misconfiguration),
      -- or two sends racing, get a unique violation on createTx instead of two transactions on one nonce.
      CREATE UNIQUE INDEX transactions_open_nonce ON transactions (relayer, nonce) WHERE state IN ${literals(UNFINISHED_TX_STATES)};
    `,
  },
];

/** Any fixed key: every bridge migrating this database takes the same advisory lock. */
const MIGRATION_LOCK = 0x62726467; // "brdg"

/**
 * Brings the database to the latest schema; returns the versions before and after. A database
 * migrated by a newer bridge is refused rather than guessed at.
 */
export async function migratePg(db: PgPool, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<{ from: number; to: number }> {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = async () => (await db.query<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations"))[0]!.v ?? 0;
  await db.transaction(async () => {
    await db.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await db.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    );
  });
  const from = await current();
  if (from > latest)
    throw new StoreMismatchError("store was written by a newer bridge", { details: `the database has schema ${from}, this bridge knows up to ${latest}` });
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    try {
      await db.transaction(async () => {
        await db.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
        if ((await current()) >= migration.version) return; // another instance applied it meanwhile
        await db.query(migration.sql);
        await db.query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)", [migration.version, migration.description]);
      });
    } catch (error) {
      throw new StoreMismatchError(`store migration ${migration.version} (${migration.description}) failed`, { cause: error });
    }
  }
  return { from, to: Math.max(from, latest) };
}
