/**
 * The Neural Memory sync hub as a Cloudflare Worker: the route table of docs/protocol.md, in one
 * place as in the Python hub's app.py. Routes parse, call one operation and format; the protocol
 * lives in protocol.ts and wire.ts, the operations in sync.ts, storage in db.ts and records.ts.
 */

import { Hono, type Context, type MiddlewareHandler } from "hono";
import { version } from "../package.json";
import { authenticate, issueKey, newId, type Caller } from "./auth";
import { parseJson, readBody } from "./body";
import { hashCode, registrationFor } from "./codes";
import * as db from "./db";
import {
  HubError,
  MSG,
  conflict,
  denied,
  keyLimit,
  notFound,
  refusal,
  shareLimit,
  tooLarge,
} from "./errors";
import { LIMITS, limitsFor, type LimitVars } from "./limits";
import {
  BUCKETS,
  MAX_SHARES_PER_ACCOUNT,
  PATHS,
  PROTOCOL_VERSION,
  SHARE_TTL_MS,
  isoMs,
  type Limits,
} from "./protocol";
import { countRequest, dayOf } from "./ratelimit";
import { readBuckets, readDigest, readRecords } from "./records";
import { ensureSchema } from "./schema";
import { pull, push, requireBrain } from "./sync";
import * as wire from "./wire";

interface Bindings extends LimitVars {
  DB: D1Database;
  /** open, closed (the default) or invite: who may register (wrangler.toml [vars]). */
  REGISTRATION?: string;
}
type Env = {
  Bindings: Bindings;
  Variables: { now: number; body: Uint8Array; limits: Limits; caller: Caller | undefined };
};
type Ctx = Context<Env>;
type Guard = MiddlewareHandler<Env>;

const app = new Hono<Env>();

// One line per request: method, raw path, status, time, account. Never a header or a body.
app.use(async (c, next) => {
  c.set("now", Date.now());
  await next();
  const path = new URL(c.req.url).pathname;
  const account = c.get("caller")?.accountId ?? "-";
  const ms = Date.now() - c.get("now");
  console.log(`${c.req.method} ${path} ${c.res.status} ${ms}ms account=${account}`);
});

// Every body is held under the limit before routing, so 413 comes before anything else.
app.use(async (c, next) => {
  c.set("limits", limitsFor(c.env));
  c.set("body", await readBody(c.req.raw, LIMITS.max_body_bytes));
  await next();
});

app.onError((error, c) => {
  if (error instanceof HubError) return c.json(error.body(), error.status, error.headers());
  const refused = refusal(error); // a write the database had no room for: not a crash
  if (refused !== null) {
    console.warn(`${c.req.method} ${new URL(c.req.url).pathname}: ${refused.code}`);
    return c.json(refused.body(), refused.status);
  }
  console.error(`internal error in ${c.req.method} ${new URL(c.req.url).pathname}: ${error.stack}`);
  return c.json(new HubError(500, "internal_error", MSG.internal).body(), 500);
});

app.notFound((c) => c.json(notFound().body(), 404));

const address = (c: Ctx) => `addr:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
const perMinute = (c: Ctx) => c.get("limits").rate_limit_per_minute;
const json = (c: Ctx) => parseJson(c.req.raw, c.get("body"));
const caller = (c: Ctx) => c.get("caller")!;
const brainId = (c: Ctx) => wire.parseId(c.req.param("brain_id")!, "brain_id");

/** Open to anyone, limited per client address. */
const anonymous: Guard = async (c, next) => {
  await ensureSchema(c.env.DB);
  const budget = { subject: address(c), perMinute: perMinute(c), accountId: null };
  await countRequest(c.env.DB, [budget], c.get("now"));
  await next();
};

/** 401 for a missing, unknown, revoked or malformed key; 429 over the key's rate. */
const keyed: Guard = async (c, next) => {
  await ensureSchema(c.env.DB);
  const header = c.req.header("authorization");
  const who = await authenticate(c.env.DB, header, address(c), c.get("limits"), c.get("now"));
  c.set("caller", who);
  await next();
};

/** Key management: a device key only syncs, so a stolen one cannot take over the account. */
const admin: Guard = async (c, next) => {
  if (!caller(c).admin) throw denied(MSG.deviceKey);
  await next();
};

/** A brain-scoped read: the caller must own the brain (403) and it must exist (404). */
const owned: Guard = async (c, next) => {
  await requireBrain(c.env.DB, caller(c), brainId(c));
  await next();
};

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

const keyInfo = (key: db.KeyRow) => ({
  key_id: key.key_id,
  name: key.name,
  key_prefix: key.key_prefix,
  scope: key.scope,
  created_at: isoMs(key.created_at),
  last_used_at: isoMs(key.last_used_at),
  revoked: key.revoked_at !== null,
  revoked_at: isoMs(key.revoked_at),
});

type Method = "GET" | "POST" | "PUT" | "DELETE";
type Route = [Method, string, Guard[], (c: Ctx) => Response | Promise<Response>];

const ROUTES: Route[] = [
  ["GET", PATHS.health, [], (c) => c.json({ status: "ok" })],
  [
    "GET",
    PATHS.info,
    [anonymous],
    (c) =>
      c.json({
        name: "nmem hub",
        version,
        protocol: PROTOCOL_VERSION,
        implementation: "cloudflare-worker",
        auth: "keys",
        registration: registrationFor(c.env),
        buckets: BUCKETS,
        limits: c.get("limits"),
      }),
  ],
  [
    "POST",
    PATHS.register,
    [anonymous],
    async (c) => {
      const { email, invite } = wire.parseRegister(json(c));
      const registration = registrationFor(c.env);
      if (registration === "closed") {
        throw new HubError(403, "registration_closed", MSG.registrationClosed);
      }
      if (registration === "invite" && invite === null) {
        throw new HubError(403, "invalid_invite", MSG.inviteRequired);
      }
      const inviteHash = registration === "invite" ? await hashCode(invite!) : null;
      const now = c.get("now");
      const { row, apiKey } = await issueKey(newId("acc"), "default", now, "admin");
      const outcome = await db.createAccount(c.env.DB, email, row, inviteHash);
      if (outcome === "invalid_invite") {
        throw new HubError(403, "invalid_invite", MSG.invalidInvite);
      }
      if (outcome === "email_taken") throw new HubError(409, "conflict", MSG.emailTaken);
      const { account_id, key_id, key_prefix } = row;
      const created_at = isoMs(now);
      return c.json({ account_id, email, key_id, key_prefix, api_key: apiKey, created_at }, 201);
    },
  ],
  [
    "POST",
    PATHS.keys,
    [keyed, admin],
    async (c) => {
      const { name, scope } = wire.parseKeyCreate(json(c));
      const { row, apiKey } = await issueKey(caller(c).accountId, name, c.get("now"), scope);
      const max = c.get("limits").max_keys_per_account;
      if (!(await db.createKey(c.env.DB, row, max))) throw keyLimit(max);
      const { key_id, key_prefix } = row;
      const created_at = isoMs(row.created_at);
      return c.json({ key_id, name, key_prefix, scope, api_key: apiKey, created_at }, 201);
    },
  ],
  [
    "GET",
    PATHS.keys,
    [keyed, admin],
    async (c) => c.json({ keys: (await db.listKeys(c.env.DB, caller(c).accountId)).map(keyInfo) }),
  ],
  [
    "DELETE",
    PATHS.key,
    [keyed, admin],
    async (c) => {
      const keyId = wire.parseId(c.req.param("key_id")!, "key_id");
      const revokedAt = await db.revokeKey(c.env.DB, caller(c).accountId, keyId, c.get("now"));
      if (revokedAt === null) throw notFound(MSG.keyNotFound);
      if (revokedAt === "last_admin") throw conflict(MSG.lastAdminKey);
      return c.json({ key_id: keyId, revoked: true, revoked_at: isoMs(revokedAt) });
    },
  ],
  [
    "GET",
    PATHS.status,
    [keyed],
    async (c) => {
      const { accountId } = caller(c);
      const usage = await db.usage(c.env.DB, accountId, dayOf(c.get("now")));
      return c.json({ account_id: accountId, tier: "free", usage, limits: c.get("limits") });
    },
  ],
  [
    "GET",
    PATHS.brains,
    [keyed],
    async (c) =>
      c.json({ brains: (await db.listBrains(c.env.DB, caller(c).accountId)).map(brainInfo) }),
  ],
  [
    "GET",
    PATHS.brain,
    [keyed, owned],
    async (c) => c.json(brainInfo((await db.getBrain(c.env.DB, brainId(c)))!)),
  ],
  [
    "POST",
    PATHS.push,
    [keyed],
    async (c) => {
      const request = await wire.parsePush(json(c));
      const limits = c.get("limits");
      wire.checkClocks(
        request.records.map((record) => record.version),
        c.get("now"),
        limits.max_clock_skew_ms,
      );
      return c.json(await push(c.env.DB, caller(c), brainId(c), request, c.get("now"), limits));
    },
  ],
  [
    "POST",
    PATHS.pull,
    [keyed],
    async (c) => {
      const request = wire.parsePull(json(c));
      return c.json(await pull(c.env.DB, caller(c), brainId(c), request, c.get("now")));
    },
  ],
  [
    "GET",
    PATHS.digest,
    [keyed, owned],
    async (c) => {
      const { root, seq, records, buckets } = await readDigest(c.env.DB, brainId(c));
      return c.json({ root, seq, records, buckets });
    },
  ],
  [
    "POST",
    PATHS.buckets,
    [keyed, owned],
    async (c) => {
      const { buckets, after, limit } = wire.parseBuckets(json(c));
      const most = LIMITS.max_bucket_entries;
      const page = await readBuckets(
        c.env.DB,
        brainId(c),
        buckets,
        after,
        Math.min(limit ?? most, most),
      );
      return c.json(page);
    },
  ],
  [
    "POST",
    PATHS.fetch,
    [keyed, owned],
    async (c) => {
      const keys = wire.parseFetch(json(c));
      if (keys.length > LIMITS.max_fetch_keys) throw tooLarge();
      return c.json({ records: await readRecords(c.env.DB, brainId(c), keys) });
    },
  ],
  [
    "GET",
    PATHS.devices,
    [keyed, owned],
    async (c) => {
      const devices = await db.listDevices(c.env.DB, brainId(c));
      const shown = devices.map((device) => ({
        ...device,
        first_seen_at: isoMs(device.first_seen_at),
        last_sync_at: isoMs(device.last_sync_at),
      }));
      return c.json({ devices: shown });
    },
  ],
  [
    "PUT",
    PATHS.share,
    [keyed],
    async (c) => {
      const shareId = wire.parseShareId(c.req.param("share_id")!);
      const sealed = wire.parseShare(json(c));
      const now = c.get("now");
      const expiresAt = now + SHARE_TTL_MS;
      const accountId = caller(c).accountId;
      const max = MAX_SHARES_PER_ACCOUNT;
      const outcome = await db.putShare(c.env.DB, accountId, shareId, sealed, now, expiresAt, max);
      if (outcome === "taken") throw conflict(MSG.shareTaken);
      if (outcome === "limit") throw shareLimit(max);
      return c.json({ share_id: shareId, expires_at: isoMs(expiresAt) }, 201);
    },
  ],
  [
    "POST",
    PATHS.shareTake,
    [keyed],
    async (c) => {
      const shareId = wire.parseShareId(c.req.param("share_id")!);
      const sealed = await db.takeShare(c.env.DB, caller(c).accountId, shareId, c.get("now"));
      if (sealed === null) throw notFound(MSG.shareNotFound);
      return c.json({ share_id: shareId, sealed });
    },
  ],
];

for (const [method, path, guards, handler] of ROUTES) app.on(method, [path], ...guards, handler);

// A known path with another method: 405 naming the allowed ones, before any key is asked for.
for (const path of new Set(ROUTES.map(([, path]) => path))) {
  const allowed = ROUTES.filter((route) => route[1] === path).map(([method]) => method);
  app.all(path, () => {
    throw new HubError(405, "method_not_allowed", MSG.methodNotAllowed, null, allowed.join(", "));
  });
}

export default app;
