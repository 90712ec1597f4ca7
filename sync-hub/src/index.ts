/**
 * The Neural Memory sync hub as a Cloudflare Worker: the route table of docs/protocol.md.
 * Routes parse, call one operation and format; the protocol lives in protocol.ts and wire.ts,
 * storage in db.ts and records.ts.
 */

import { Hono, type Context, type MiddlewareHandler } from "hono";
import { authenticate, issueKey, newId, type Caller } from "./auth";
import { readJson } from "./body";
import * as db from "./db";
import { HubError, MSG, notFound, tooLarge } from "./errors";
import { LIMITS } from "./limits";
import { BUCKETS, PATHS, PROTOCOL_VERSION, isoMs } from "./protocol";
import { countRequest, dayOf } from "./ratelimit";
import { readBuckets, readDigest, readRecords } from "./records";
import { ensureSchema } from "./schema";
import { pull, push, requireBrain } from "./sync";
import * as wire from "./wire";

export const VERSION = "0.1.0";

type Env = { Bindings: { DB: D1Database }; Variables: { caller: Caller; now: number } };
type Ctx = Context<Env>;

const app = new Hono<Env>();

// One line per request: method, path, status, time. Never a header (keys) or a body.
app.use(async (c, next) => {
  c.set("now", Date.now());
  await next();
  console.log(`${c.req.method} ${c.req.path} ${c.res.status} ${Date.now() - c.get("now")}ms`);
});

app.onError((error, c) => {
  if (error instanceof HubError) {
    if (error.retryAfter !== null) c.header("Retry-After", String(error.retryAfter));
    return c.json(error.body(), error.status);
  }
  console.error(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
  return c.json(new HubError(500, "internal_error", MSG.internal).body(), 500);
});

app.notFound((c) => c.json(notFound().body(), 404));

/** Requests that touch D1 bring the schema up to date first (once per isolate). */
const schema: MiddlewareHandler<Env> = async (c, next) => {
  await ensureSchema(c.env.DB);
  await next();
};

/** Keyed routes: 401 for a missing, unknown, revoked or malformed key; 429 over the rate. */
const keyed: MiddlewareHandler<Env> = async (c, next) => {
  await ensureSchema(c.env.DB);
  c.set("caller", await authenticate(c.env.DB, c.req.header("authorization"), c.get("now")));
  await next();
};

/** Routes without a key are rate-limited per client address. */
const byAddress: MiddlewareHandler<Env> = async (c, next) => {
  const address = c.req.header("cf-connecting-ip") ?? "local";
  await countRequest(c.env.DB, `ip:${address}`, null, c.get("now"));
  await next();
};

const body = (c: Ctx) => readJson(c.req.raw, LIMITS.max_body_bytes);
const brainId = (c: Ctx) => wire.parseId(c.req.param("brain_id")!, "brain_id");

/** A brain-scoped read: the caller must own the brain (403) and it must exist (404). */
const owned: MiddlewareHandler<Env> = async (c, next) => {
  await requireBrain(c.env.DB, c.get("caller"), brainId(c));
  await next();
};

app.get(PATHS.health, (c) => c.json({ status: "ok" }));

app.get(PATHS.info, (c) =>
  c.json({
    name: "nmem-sync-hub",
    version: VERSION,
    protocol: PROTOCOL_VERSION,
    implementation: "cloudflare-worker",
    auth: "keys",
    buckets: BUCKETS,
    limits: LIMITS,
  }),
);

app.post(PATHS.register, schema, byAddress, async (c) => {
  const email = wire.parseRegister(await body(c));
  const now = c.get("now");
  const { row, apiKey } = await issueKey(newId("acc"), "default", now);
  if (!(await db.createAccount(c.env.DB, email, row))) {
    throw new HubError(409, "conflict", MSG.emailTaken);
  }
  return c.json(
    {
      account_id: row.account_id,
      email,
      key_id: row.key_id,
      key_prefix: row.key_prefix,
      api_key: apiKey,
      created_at: isoMs(now),
    },
    201,
  );
});

app.post(PATHS.keys, keyed, async (c) => {
  const name = wire.parseKeyCreate(await body(c));
  const now = c.get("now");
  const { row, apiKey } = await issueKey(c.get("caller").accountId, name, now);
  await db.createKey(c.env.DB, row);
  return c.json(
    { key_id: row.key_id, name, key_prefix: row.key_prefix, api_key: apiKey, created_at: isoMs(now) },
    201,
  );
});

app.get(PATHS.keys, keyed, async (c) => {
  const keys = await db.listKeys(c.env.DB, c.get("caller").accountId);
  return c.json({
    keys: keys.map((key) => ({
      key_id: key.key_id,
      name: key.name,
      key_prefix: key.key_prefix,
      created_at: isoMs(key.created_at),
      last_used_at: isoMs(key.last_used_at),
      revoked: key.revoked_at !== null,
      revoked_at: isoMs(key.revoked_at),
    })),
  });
});

app.delete(PATHS.key, keyed, async (c) => {
  const keyId = wire.parseId(c.req.param("key_id"), "key_id");
  const revokedAt = await db.revokeKey(c.env.DB, c.get("caller").accountId, keyId, c.get("now"));
  if (revokedAt === null) throw notFound(MSG.keyNotFound);
  return c.json({ key_id: keyId, revoked: true, revoked_at: isoMs(revokedAt) });
});

app.get(PATHS.status, keyed, async (c) => {
  const { accountId } = c.get("caller");
  const usage = await db.usage(c.env.DB, accountId, dayOf(c.get("now")));
  return c.json({ account_id: accountId, tier: "free", usage, limits: LIMITS });
});

const brainInfo = (row: db.BrainRow) => ({
  brain_id: row.brain_id,
  name: row.name,
  records: row.records,
  bytes: row.bytes,
  seq: row.seq,
  root: row.root,
  devices: row.devices,
  created_at: isoMs(row.created_at),
  last_write_at: isoMs(row.last_write_at),
});

app.get(PATHS.brains, keyed, async (c) => {
  const brains = await db.listBrains(c.env.DB, c.get("caller").accountId);
  return c.json({ brains: brains.map(brainInfo) });
});

app.get(PATHS.brain, keyed, owned, async (c) => {
  return c.json(brainInfo((await db.getBrain(c.env.DB, brainId(c)))!));
});

app.post(PATHS.push, keyed, async (c) => {
  const id = brainId(c);
  const request = await wire.parsePush(await body(c));
  return c.json(await push(c.env.DB, c.get("caller"), id, request, c.get("now")));
});

app.post(PATHS.pull, keyed, async (c) => {
  const id = brainId(c);
  const request = wire.parsePull(await body(c));
  return c.json(await pull(c.env.DB, c.get("caller"), id, request, c.get("now")));
});

app.get(PATHS.digest, keyed, owned, async (c) => {
  const { root, seq, records, buckets } = await readDigest(c.env.DB, brainId(c));
  return c.json({ root, seq, records, buckets });
});

app.post(PATHS.buckets, keyed, owned, async (c) => {
  const buckets = wire.parseBuckets(await body(c));
  return c.json({ entries: await readBuckets(c.env.DB, brainId(c), buckets) });
});

app.post(PATHS.fetch, keyed, owned, async (c) => {
  const keys = wire.parseFetch(await body(c));
  if (keys.length > LIMITS.max_fetch_keys) throw tooLarge();
  return c.json({ records: await readRecords(c.env.DB, brainId(c), keys) });
});

app.get(PATHS.devices, keyed, owned, async (c) => {
  const devices = await db.listDevices(c.env.DB, brainId(c));
  return c.json({
    devices: devices.map((device) => ({
      ...device,
      first_seen_at: isoMs(device.first_seen_at),
      last_sync_at: isoMs(device.last_sync_at),
    })),
  });
});

// A known path with another method: 405, before any key is asked for.
for (const path of Object.values(PATHS)) {
  app.all(path, () => {
    throw new HubError(405, "method_not_allowed", MSG.methodNotAllowed);
  });
}

export default app;
