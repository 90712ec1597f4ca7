/**
 * A full D1: reads need no write (rate counters, a key's last use and a device's cursor are
 * skipped), and a write is 507 storage_full with the Python hub's message, never a 500.
 *
 * D1 refuses PRAGMA max_page_count here (SQLITE_AUTH), so the full database is the real one
 * behind a binding whose writing statements fail with the error SQLite gives on a full disk. The
 * conformance suite fills a real disk under `wrangler dev` (tests/reliability, model_hubs.py).
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { MSG } from "../src/errors";
import { newBrain, register, version, device, type Reply } from "./hub";

const FULL = "D1_ERROR: database or disk is full: SQLITE_FULL";
const READ_ONLY = "D1_ERROR: attempt to write a readonly database: SQLITE_READONLY";
const WRITES = /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i;

/** `db` with every writing statement failing with `message`; reads go through. */
function refusingWrites(db: D1Database, message: string): D1Database {
  const refuse = (sql: string) => {
    if (WRITES.test(sql)) throw new Error(message);
  };
  // each wrapper's SQL and the real statement behind it (a batch takes the real ones)
  const behind = new WeakMap<object, { sql: string; real: D1PreparedStatement }>();
  const wrap = (real: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapper = new Proxy(real, {
      get(target, name) {
        if (name === "bind") {
          return (...values: unknown[]) => wrap(target.bind(...values), sql);
        }
        const method = Reflect.get(target, name) as unknown;
        if (typeof method !== "function") return method;
        return (...args: unknown[]) => {
          if (["run", "all", "first", "raw"].includes(String(name))) refuse(sql);
          return (method as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    behind.set(wrapper, { sql, real });
    return wrapper;
  };
  return new Proxy(db, {
    get(target, name) {
      if (name === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (name === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const reals = statements.map((statement) => behind.get(statement)!);
          for (const { sql } of reals) refuse(sql);
          return target.batch(reals.map(({ real }) => real));
        };
      }
      const value = Reflect.get(target, name) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function callWith(
  db: D1Database,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`http://hub${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const response = await app.fetch(request, { ...env, DB: db });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}

describe("a full D1", () => {
  it("serves reads uncounted and refuses writes with 507 storage_full", async () => {
    const { key } = await register();
    const brain = newBrain();
    const kept = await version("m-1");
    const normal = await callWith(env.DB, "POST", `/v1/brains/${brain}/push`, key, {
      device: device(),
      records: [kept],
    });
    expect(normal.status).toBe(200);

    const full = refusingWrites(env.DB, FULL);
    const pulled = await callWith(full, "POST", `/v1/brains/${brain}/pull`, key, {
      device: device("dev-b"),
      cursor: 0,
    });
    expect(pulled.status).toBe(200);
    expect(pulled.body.records.map((r: { id: string }) => r.id)).toEqual(["m-1"]);
    for (const path of [`/v1/brains/${brain}/digest`, "/v1/status", "/v1/brains"]) {
      expect((await callWith(full, "GET", path, key)).status).toBe(200);
    }
    // A push that stores nothing (a retry of what the hub holds) needs no room either.
    const again = await callWith(full, "POST", `/v1/brains/${brain}/push`, key, {
      device: device(),
      records: [kept],
    });
    expect(again.status).toBe(200);
    expect(again.body.results[0].status).toBe("unchanged");

    const refused = await callWith(full, "POST", `/v1/brains/${brain}/push`, key, {
      device: device(),
      records: [await version("m-2")],
    });
    expect(refused.status).toBe(507);
    expect(refused.body).toEqual({ error: MSG.storageFull, code: "storage_full" });
    const keyMade = await callWith(full, "POST", "/v1/auth/keys", key, { name: "phone" });
    expect(keyMade.status).toBe(507);

    // nothing of the refused push was kept
    const after = await callWith(env.DB, "POST", `/v1/brains/${brain}/pull`, key, {
      device: device(),
      cursor: 0,
    });
    expect(after.body.seq).toBe(1);
  });

  it("refuses writes on a read-only database with 503 read_only", async () => {
    const { key } = await register();
    const readOnly = refusingWrites(env.DB, READ_ONLY);
    const brain = newBrain();
    const refused = await callWith(readOnly, "POST", `/v1/brains/${brain}/push`, key, {
      device: device(),
      records: [await version("m-1")],
    });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: MSG.readOnly, code: "read_only" });
    expect((await callWith(readOnly, "GET", "/v1/status", key)).status).toBe(200);
  });
});
