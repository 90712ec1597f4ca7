/**
 * D1 usage per request, as the free plan counts it: statements (queries per invocation), and the
 * rows_read / rows_written / size_after that D1 reports in every result's meta.
 */

import { env } from "cloudflare:workers";
import app from "../src/index";

export interface Usage {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  /** Database size in bytes after the last statement. */
  sizeAfter: number;
}

type Meta = { rows_read?: number; rows_written?: number; size_after?: number };

/** env.DB, counting into `usage` (first() is answered through all(), which returns meta). */
function metered(db: D1Database, usage: Usage): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const count = (meta: Meta) => {
    usage.queries += 1;
    usage.rowsRead += meta.rows_read ?? 0;
    usage.rowsWritten += meta.rows_written ?? 0;
    usage.sizeAfter = meta.size_after ?? usage.sizeAfter;
  };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      first: async () => {
        const result = await statement.all();
        count(result.meta);
        return result.results[0] ?? null;
      },
      all: async () => {
        const result = await statement.all();
        count(result.meta);
        return result;
      },
      run: async () => {
        const result = await statement.run();
        count(result.meta);
        return result;
      },
    } as unknown as D1PreparedStatement;
    real.set(proxy, statement);
    return proxy;
  };
  return {
    prepare: (sql: string) => wrap(db.prepare(sql)),
    batch: async (statements: D1PreparedStatement[]) => {
      const results = await db.batch(statements.map((s) => real.get(s) ?? s));
      for (const result of results) count(result.meta);
      return results;
    },
  } as unknown as D1Database;
}

/** A client of the Worker whose every request reports the D1 usage it caused. */
export function meteredHub() {
  const usage: Usage = { queries: 0, rowsRead: 0, rowsWritten: 0, sizeAfter: 0 };
  const workerEnv = { ...env, DB: metered(env.DB, usage) };
  return async (method: string, path: string, key: string | null, body?: unknown) => {
    Object.assign(usage, { queries: 0, rowsRead: 0, rowsWritten: 0 });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (key) headers.authorization = `Bearer ${key}`;
    const init = { method, headers, body: body === undefined ? null : JSON.stringify(body) };
    const response = await app.fetch(new Request(`http://hub${path}`, init), workerEnv);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const reply: any = await response.json();
    return { status: response.status, reply, usage: { ...usage } };
  };
}
