/**
 * The Worker brings its D1 schema up to date on first use, so `wrangler d1 migrations apply` is
 * optional. It runs the same migration files and records them in the same table wrangler uses
 * (d1_migrations), so the two routes mix in any order:
 *   - each migration runs in one D1 batch together with its d1_migrations row: all or nothing;
 *   - two isolates racing on a fresh database both try; the loser's batch fails on the unique
 *     name (or a non-idempotent statement) and rolls back, and it then finds the row recorded;
 *   - every statement of 0001 is also IF NOT EXISTS, so a database whose tables exist without
 *     the record (e.g. made by hand) is adopted rather than broken. Later migrations (0004 adds
 *     a column) may not be idempotent: they rely on the d1_migrations record alone.
 */

import init from "../migrations/0001_init.sql";
import codes from "../migrations/0002_codes.sql";
import bucketOrder from "../migrations/0003_bucket_order.sql";
import keyScopes from "../migrations/0004_key_scopes.sql";
import recordHistory from "../migrations/0005_record_history.sql";
import keyShares from "../migrations/0006_key_shares.sql";

export interface Migration {
  name: string;
  sql: string;
}

/** Append-only, in order; the file names are what d1_migrations records. */
export const MIGRATIONS: readonly Migration[] = [
  { name: "0001_init.sql", sql: init },
  { name: "0002_codes.sql", sql: codes },
  { name: "0003_bucket_order.sql", sql: bucketOrder },
  { name: "0004_key_scopes.sql", sql: keyScopes },
  { name: "0005_record_history.sql", sql: recordHistory },
  { name: "0006_key_shares.sql", sql: keyShares },
];

// wrangler's own definition (wrangler d1 migrations), so either side may create it first.
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

const ready = new WeakMap<D1Database, Promise<void>>();

/** Resolves once the schema is current; checked once per isolate and database. */
export function ensureSchema(db: D1Database): Promise<void> {
  let done = ready.get(db);
  if (!done) {
    done = migrate(db).catch((error: unknown) => {
      ready.delete(db); // a transient failure must not poison the isolate
      throw error;
    });
    ready.set(db, done);
  }
  return done;
}

async function migrate(db: D1Database): Promise<void> {
  const applied = await appliedMigrations(db);
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.name)) continue;
    const statements = splitStatements(migration.sql).map((sql) => db.prepare(sql));
    const record = db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name);
    try {
      await db.batch([...statements, record]);
    } catch (error) {
      const raced = await db
        .prepare("SELECT 1 AS applied FROM d1_migrations WHERE name = ?")
        .bind(migration.name)
        .first();
      if (!raced) throw error;
    }
  }
}

/**
 * The migrations recorded so far. Read first, written only when the table is missing: a
 * database that is up to date needs no write, so a full D1 still serves reads (docs/hub.md).
 */
async function appliedMigrations(db: D1Database): Promise<Set<string>> {
  const list = db.prepare("SELECT name FROM d1_migrations");
  try {
    const { results } = await list.all<{ name: string }>();
    return new Set(results.map((row) => row.name));
  } catch (error) {
    if (!/no such table/i.test(String(error))) throw error;
  }
  const [, listed] = await db.batch<{ name: string }>([db.prepare(MIGRATIONS_TABLE), list]);
  return new Set(listed!.results.map((row) => row.name));
}

/** Split a migration file into statements, skipping `--` comments and `;` inside quotes. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const char = sql[i]!;
    if (quote) {
      current += char;
      if (char === quote) quote = null;
    } else if (char === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      current += "\n";
    } else if (char === ";") {
      statements.push(current.trim());
      current = "";
    } else {
      if (char === "'" || char === '"') quote = char;
      current += char;
    }
  }
  statements.push(current.trim());
  return statements.filter((statement) => statement.length > 0);
}
