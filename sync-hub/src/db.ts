/**
 * D1 access for accounts, keys, brains, devices and counters (records.ts holds the record store).
 * Every statement is bound; no value from a request is ever spliced into SQL text.
 */

import { ROOT_JOIN, hexOf } from "./digests";
import type { KeyScope } from "./protocol";
import type { DeviceInfo } from "./wire";

export interface KeyRow {
  key_id: string;
  account_id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  scope: KeyScope;
}

export interface BrainRow {
  brain_id: string;
  account_id: string;
  name: string;
  records: number;
  bytes: number;
  seq: number;
  root: string;
  devices: number;
  created_at: number;
  last_write_at: number | null;
}

export interface DeviceRow {
  device_id: string;
  name: string;
  platform: string;
  first_seen_at: number;
  last_sync_at: number | null;
  cursor: number;
}

export interface Usage {
  brains: number;
  records: number;
  bytes: number;
  devices: number;
  requests_today: number;
}

// ------------------------------------------------------------------------------ accounts, keys

/**
 * Insert a key if its account exists and holds fewer than `maxKeys` unrevoked keys. One
 * statement, so the count and the insert cannot be split by another request.
 */
function insertKey(db: D1Database, key: KeyRow, maxKeys: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (key_id, account_id, name, key_hash, key_prefix, created_at, scope)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM accounts WHERE account_id = ?2)
         AND (SELECT COUNT(*) FROM api_keys WHERE account_id = ?2 AND revoked_at IS NULL) < ?8`,
    )
    .bind(
      key.key_id,
      key.account_id,
      key.name,
      key.key_hash,
      key.key_prefix,
      key.created_at,
      key.scope,
      maxKeys,
    );
}

// An invite that can still be used at ?3 (now); ?4 is its hash.
const USABLE_INVITE = `SELECT 1 FROM codes
  WHERE code_hash = ?4 AND kind = 'invite' AND used_at IS NULL AND expires_at > ?3`;

/**
 * Create an account and its first key in one batch (one transaction). With an invite, the
 * account is only inserted while the invite is usable and the same batch uses it up, so of two
 * registrations racing for one invite exactly one wins. The invite is judged first: someone
 * without a usable one learns nothing about which emails are registered.
 */
export async function createAccount(
  db: D1Database,
  email: string,
  key: KeyRow,
  inviteHash: string | null,
): Promise<"created" | "email_taken" | "invalid_invite"> {
  const now = key.created_at;
  const insert =
    inviteHash === null
      ? db
          .prepare(
            `INSERT INTO accounts (account_id, email, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO NOTHING`,
          )
          .bind(key.account_id, email, now)
      : db
          .prepare(
            `INSERT INTO accounts (account_id, email, created_at)
             SELECT ?1, ?2, ?3 WHERE EXISTS (${USABLE_INVITE}) ON CONFLICT (email) DO NOTHING`,
          )
          .bind(key.account_id, email, now, inviteHash);
  // Guarded by the account's existence, so a taken email leaves no orphan key behind.
  const statements = [insert, insertKey(db, key, 1)]; // a new account holds no key yet
  if (inviteHash !== null) {
    statements.push(
      db
        .prepare(
          `UPDATE codes SET used_at = ?3, used_by = ?1
           WHERE EXISTS (${USABLE_INVITE}) AND code_hash = ?4
             AND EXISTS (SELECT 1 FROM accounts WHERE account_id = ?1)`,
        )
        .bind(key.account_id, email, now, inviteHash),
    );
  }
  const [account] = await db.batch(statements);
  if (account!.meta.changes === 1) return "created";
  if (inviteHash === null) return "email_taken";
  const usable = await db.prepare(USABLE_INVITE).bind(null, null, now, inviteHash).first();
  return usable ? "email_taken" : "invalid_invite";
}

/** Add a key to an existing account; false when the account already holds `maxKeys`. */
export async function createKey(db: D1Database, key: KeyRow, maxKeys: number): Promise<boolean> {
  const { meta } = await insertKey(db, key, maxKeys).run();
  return meta.changes === 1;
}

export async function findKey(db: D1Database, keyHash: string): Promise<KeyRow | null> {
  return db.prepare("SELECT * FROM api_keys WHERE key_hash = ?").bind(keyHash).first<KeyRow>();
}

export async function listKeys(db: D1Database, accountId: string): Promise<KeyRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, key_id")
    .bind(accountId)
    .all<KeyRow>();
  return results;
}

/**
 * Revoke one of the account's keys (revoking twice keeps the first time): its revocation time,
 * "last_admin" when it is the account's last unrevoked admin key, null if not the account's key.
 * The count is part of the UPDATE itself, so two revocations of the last two admin keys can never
 * both succeed.
 */
export async function revokeKey(
  db: D1Database,
  accountId: string,
  keyId: string,
  now: number,
): Promise<number | "last_admin" | null> {
  const [updated, found] = await db.batch<{ revoked_at: number | null }>([
    db
      .prepare(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3)
         WHERE key_id = ?1 AND account_id = ?2
           AND (revoked_at IS NOT NULL OR scope <> 'admin'
                OR (SELECT COUNT(*) FROM api_keys WHERE account_id = ?2 AND scope = 'admin'
                    AND revoked_at IS NULL) > 1)
         RETURNING revoked_at`,
      )
      .bind(keyId, accountId, now),
    db
      .prepare("SELECT revoked_at FROM api_keys WHERE key_id = ? AND account_id = ?")
      .bind(keyId, accountId),
  ]);
  const revoked = updated!.results[0]?.revoked_at;
  if (revoked !== undefined && revoked !== null) return revoked;
  return found!.results.length > 0 ? "last_admin" : null;
}

/** Record a key's use, at most once a second (as the Python hub) so bursts write one row. */
export function touchKey(db: D1Database, keyId: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE api_keys SET last_used_at = ?2
       WHERE key_id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 1000)`,
    )
    .bind(keyId, now);
}

// ------------------------------------------------------------------------------------ counters

/** A counter a request counts against: a key, a client address or an account. */
export interface Subject {
  subject: string;
  /** The account whose requests_today the row counts; null for an address or an account row. */
  accountId: string | null;
}

/**
 * Count one request for each subject in the current minute and day, in one statement; returns
 * each subject's hits in the minute so far, in order. One row per subject, rewritten in place: no
 * cleanup needed. An isolate whose clock lags can never move a window back.
 */
export function countHits(
  db: D1Database,
  subjects: readonly Subject[],
  minute: number,
  day: number,
): D1PreparedStatement {
  const rows = subjects.map((_, n) => `(?${2 * n + 3}, ?${2 * n + 4}, ?1, 1, ?2, 1)`);
  return db
    .prepare(
      `INSERT INTO rate_limits (subject, account_id, window_start, hits, day, day_hits)
       VALUES ${rows.join(", ")}
       ON CONFLICT (subject) DO UPDATE SET
         hits = CASE WHEN window_start >= excluded.window_start THEN hits + 1 ELSE 1 END,
         window_start = MAX(window_start, excluded.window_start),
         day_hits = CASE WHEN day >= excluded.day THEN day_hits + 1 ELSE 1 END,
         day = MAX(day, excluded.day)
       RETURNING subject, hits`,
    )
    .bind(minute, day, ...subjects.flatMap((s) => [s.subject, s.accountId]));
}

/** What an account holds over all its brains, as its quota counts it. */
export interface Held {
  records: number;
  bytes: number;
}

export async function readHeld(db: D1Database, accountId: string): Promise<Held> {
  const row = await db
    .prepare(
      `SELECT COALESCE(SUM(records), 0) AS records, COALESCE(SUM(bytes), 0) AS bytes
       FROM brains WHERE account_id = ?`,
    )
    .bind(accountId)
    .first<Held>();
  return row!;
}

export async function usage(db: D1Database, accountId: string, day: number): Promise<Usage> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT COUNT(*) FROM brains WHERE account_id = ?1) AS brains,
         (SELECT COALESCE(SUM(records), 0) FROM brains WHERE account_id = ?1) AS records,
         (SELECT COALESCE(SUM(bytes), 0) FROM brains WHERE account_id = ?1) AS bytes,
         (SELECT COUNT(DISTINCT d.device_id) FROM devices AS d JOIN brains AS b ON b.brain_id = d.brain_id
          WHERE b.account_id = ?1) AS devices,
         (SELECT COALESCE(SUM(day_hits), 0) FROM rate_limits
          WHERE account_id = ?1 AND day = ?2) AS requests_today`,
    )
    .bind(accountId, day)
    .first<Usage>();
  return row!;
}

// ------------------------------------------------------------------------------ brains, devices

export async function brainOwner(db: D1Database, brainId: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT account_id FROM brains WHERE brain_id = ?")
    .bind(brainId)
    .first<{ account_id: string }>();
  return row?.account_id ?? null;
}

/** Claim an unknown brain for `accountId`; returns the owner, which a concurrent claim may win. */
export async function claimBrain(
  db: D1Database,
  brainId: string,
  accountId: string,
  name: string,
  now: number,
): Promise<string> {
  const [, owner] = await db.batch([
    db
      .prepare(
        `INSERT INTO brains (brain_id, account_id, name, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (brain_id) DO NOTHING`,
      )
      .bind(brainId, accountId, name, now),
    db.prepare("SELECT account_id FROM brains WHERE brain_id = ?").bind(brainId),
  ]);
  return (owner!.results[0] as { account_id: string }).account_id;
}

const BRAIN_SELECT = `SELECT b.brain_id, b.account_id, b.name, b.records, b.bytes, b.seq,
  ${hexOf("root_row")} AS root,
  (SELECT COUNT(*) FROM devices AS d WHERE d.brain_id = b.brain_id) AS devices,
  b.created_at, b.last_write_at FROM brains AS b ${ROOT_JOIN}`;

export async function listBrains(db: D1Database, accountId: string): Promise<BrainRow[]> {
  const { results } = await db
    .prepare(`${BRAIN_SELECT} WHERE b.account_id = ? ORDER BY b.created_at, b.brain_id`)
    .bind(accountId)
    .all<BrainRow>();
  return results;
}

export async function getBrain(db: D1Database, brainId: string): Promise<BrainRow | null> {
  return db.prepare(`${BRAIN_SELECT} WHERE b.brain_id = ?`).bind(brainId).first<BrainRow>();
}

/**
 * Register or refresh the calling device. A pull also records the device's cursor; a push leaves
 * it (the cursor says what the device has read, and pushing reads nothing).
 */
export function upsertDevice(
  db: D1Database,
  brainId: string,
  device: DeviceInfo,
  now: number,
  cursor: number | null,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO devices (brain_id, device_id, name, platform, first_seen_at, last_sync_at, cursor)
       VALUES (?1, ?2, ?3, ?4, ?5, ?5, COALESCE(?6, 0))
       ON CONFLICT (brain_id, device_id) DO UPDATE SET
         name = excluded.name, platform = excluded.platform, last_sync_at = excluded.last_sync_at,
         cursor = COALESCE(?6, cursor)`,
    )
    .bind(brainId, device.device_id, device.name, device.platform, now, cursor);
}

export async function listDevices(db: D1Database, brainId: string): Promise<DeviceRow[]> {
  const { results } = await db
    .prepare(
      `SELECT device_id, name, platform, first_seen_at, last_sync_at, cursor FROM devices
       WHERE brain_id = ? ORDER BY first_seen_at, device_id`,
    )
    .bind(brainId)
    .all<DeviceRow>();
  return results;
}

// ---------------------------------------------------------------------------------- key shares

const DROP_EXPIRED = "DELETE FROM key_shares WHERE expires_at <= ?";

/**
 * Store (or replace: a retried request) the account's share, after deleting expired ones:
 * "taken" when another account holds the id, "limit" when the account already has `max`
 * waiting. The checks are part of the INSERT itself, so two racing requests cannot pass both.
 */
export async function putShare(
  db: D1Database,
  accountId: string,
  shareId: string,
  sealed: string,
  now: number,
  expiresAt: number,
  max: number,
): Promise<"stored" | "taken" | "limit"> {
  const [, written, owner] = await db.batch<{ account_id: string }>([
    db.prepare(DROP_EXPIRED).bind(now),
    db
      .prepare(
        `INSERT INTO key_shares (id, account_id, sealed, created_at, expires_at)
         SELECT ?1, ?2, ?3, ?4, ?5
         WHERE EXISTS (SELECT 1 FROM key_shares WHERE id = ?1 AND account_id = ?2)
            OR (SELECT COUNT(*) FROM key_shares WHERE account_id = ?2) < ?6
         ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed,
           created_at = excluded.created_at, expires_at = excluded.expires_at
         WHERE key_shares.account_id = excluded.account_id`,
      )
      .bind(shareId, accountId, sealed, now, expiresAt, max),
    db.prepare("SELECT account_id FROM key_shares WHERE id = ?").bind(shareId),
  ]);
  if (written!.meta.changes === 1) return "stored";
  const holder = owner!.results[0]?.account_id;
  return holder !== undefined && holder !== accountId ? "taken" : "limit";
}

/** The sealed text of the account's unexpired share, deleted as it is read; null if none. */
export async function takeShare(
  db: D1Database,
  accountId: string,
  shareId: string,
  now: number,
): Promise<string | null> {
  const [, taken] = await db.batch<{ sealed: string }>([
    db.prepare(DROP_EXPIRED).bind(now),
    db
      .prepare("DELETE FROM key_shares WHERE id = ? AND account_id = ? RETURNING sealed")
      .bind(shareId, accountId),
  ]);
  return taken!.results[0]?.sealed ?? null;
}
