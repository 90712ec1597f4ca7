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
          .replace(/;$/, "")
          .trim();
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
});
