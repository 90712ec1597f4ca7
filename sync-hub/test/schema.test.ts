import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, ensureSchema, splitStatements } from "../src/schema";

async function applied(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT name FROM d1_migrations ORDER BY id")
    .all<{ name: string }>();
  return results.map((row) => row.name);
}

async function tables(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
    )
    .all<{ name: string }>();
  return results.map((row) => row.name);
}

describe("schema bootstrap", () => {
  it("bundles exactly the migration files wrangler applies, split the same way", () => {
    const wrangler = env.WRANGLER_MIGRATIONS;
    expect(MIGRATIONS.map((m) => m.name)).toEqual(wrangler.map((m) => m.name));
    for (const [n, migration] of MIGRATIONS.entries()) {
      const normal = (sql: string) =>
        sql
          .replace(/--[^\n]*/g, "")
          .replace(/\s+/g, " ")
          .trim()
          .replace(/;$/, ""); // wrangler keeps the `;` of a file holding one statement
      expect(splitStatements(migration.sql).map(normal)).toEqual(wrangler[n]!.queries.map(normal));
    }
  });

  it("brings a blank database up to date and records it as wrangler does; twice is a no-op", async () => {
    const db = env.BLANK_WORKER_FIRST;
    await ensureSchema(db);
    expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
    const schema = await tables(db);
    expect(schema).toEqual(
      expect.arrayContaining([
        "accounts",
        "api_keys",
        "brains",
        "records",
        "buckets",
        "devices",
        "rate_limits",
      ]),
    );
    // wrangler d1 migrations apply afterwards finds nothing to do.
    await applyD1Migrations(db, env.WRANGLER_MIGRATIONS);
    expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await tables(db)).toEqual(schema);
  });

  it("leaves a database migrated by wrangler as it is", async () => {
    const db = env.BLANK_WRANGLER_FIRST;
    await applyD1Migrations(db, env.WRANGLER_MIGRATIONS);
    const schema = await tables(db);
    await ensureSchema(db);
    expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await tables(db)).toEqual(schema);
  });

  it("is safe when several isolates bootstrap one blank database at once", async () => {
    // Separate isolates share no memory: model each by a fresh call on its own binding object.
    const db = env.BLANK_RACE;
    let lost = 0;
    const isolate = () =>
      ({
        prepare: db.prepare.bind(db),
        batch: async (statements: D1PreparedStatement[]) =>
          db.batch(statements).catch((error: unknown) => {
            lost += 1; // a loser's migration batch: rolled back whole
            throw error;
          }),
      }) as unknown as D1Database;
    await Promise.all(Array.from({ length: 6 }, () => ensureSchema(isolate())));
    expect(lost).toBeGreaterThan(0);
    expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it("adopts tables that exist without a migration record", async () => {
    const db = env.BLANK_ADOPT;
    await db.batch(splitStatements(MIGRATIONS[0]!.sql).map((sql) => db.prepare(sql)));
    await ensureSchema(db);
    expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it("gives every account of a hub from before key scopes one admin key", async () => {
    const db = env.OLD_KEYS;
    await applyD1Migrations(db, env.WRANGLER_MIGRATIONS.slice(0, 1));
    // ada: registration key and a later one; bob: registration key revoked, two later keys.
    await db.batch([
      db.prepare(
        `INSERT INTO accounts (account_id, email, created_at) VALUES
           ('acc_ada', 'ada@example.com', 1000), ('acc_bob', 'bob@example.com', 2000)`,
      ),
      db.prepare(
        `INSERT INTO api_keys (key_id, account_id, name, key_hash, key_prefix, created_at, revoked_at)
         VALUES ('key_ada1', 'acc_ada', 'default', 'h1', 'nmk_1', 1000, NULL),
                ('key_ada2', 'acc_ada', 'laptop', 'h2', 'nmk_2', 1500, NULL),
                ('key_bob1', 'acc_bob', 'default', 'h3', 'nmk_3', 2000, 2100),
                ('key_bob3', 'acc_bob', 'phone', 'h5', 'nmk_5', 2300, NULL),
                ('key_bob2', 'acc_bob', 'laptop', 'h4', 'nmk_4', 2200, NULL)`,
      ),
    ]);
    await ensureSchema(db);
    const { results } = await db
      .prepare("SELECT key_id, scope FROM api_keys ORDER BY key_id")
      .all<{ key_id: string; scope: string }>();
    expect(Object.fromEntries(results.map((row) => [row.key_id, row.scope]))).toEqual({
      key_ada1: "admin", // made at registration
      key_ada2: "device",
      key_bob1: "admin", // made at registration, though revoked
      key_bob2: "admin", // bob's oldest unrevoked key, so bob keeps an admin key
      key_bob3: "device",
    });
  });
});
