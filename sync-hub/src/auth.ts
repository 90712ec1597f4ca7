/**
 * API keys: `nmk_` + 40 random base62 characters, shown once. Only the SHA-256 of a key is stored,
 * with its first 12 characters for display; a presented key is looked up by its hash and the
 * hashes are compared in constant time. Keys are never logged.
 */

import { findKey, touchKey, type KeyRow } from "./db";
import { unauthorized } from "./errors";
import {
  API_KEY_PATTERN,
  API_KEY_PREFIX,
  KEY_DISPLAY_CHARS,
  sha256Hex,
  type KeyScope,
} from "./protocol";
import { accountSubject, countRequest } from "./ratelimit";
import type { Limits } from "./protocol";

export interface Caller {
  accountId: string;
  keyId: string;
  /** May manage the account's keys; a device key only syncs. */
  admin: boolean;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_CHARS = 40;

function randomText(length: number, alphabet: string): string {
  // Rejection sampling: only bytes below a multiple of the alphabet's size are kept, so every
  // character is equally likely (248 = 4 * 62 for keys, all 256 for hex).
  const below = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < below && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A fresh id such as acc_3f9a0c1d2e4b5a697c81, as the Python hub makes them (not secret). */
export const newId = (prefix: string) => `${prefix}_${randomText(20, "0123456789abcdef")}`;

/** A new key for `accountId`: the row to store and the key text, which only the caller sees. */
export async function issueKey(
  accountId: string,
  name: string,
  now: number,
  scope: KeyScope,
): Promise<{ row: KeyRow; apiKey: string }> {
  const apiKey = API_KEY_PREFIX + randomText(KEY_CHARS, BASE62);
  const row: KeyRow = {
    key_id: newId("key"),
    account_id: accountId,
    name,
    key_hash: await sha256Hex(apiKey),
    key_prefix: apiKey.slice(0, KEY_DISPLAY_CHARS),
    created_at: now,
    last_used_at: null,
    revoked_at: null,
    scope,
  };
  return { row, apiKey };
}

/** The key in `Authorization: Bearer nmk_...` (scheme in any case), or null if malformed. */
function bearer(header: string | undefined): string | null {
  const [scheme, ...rest] = (header ?? "").trim().split(" ");
  const token = rest.join(" ").trim();
  return scheme?.toLowerCase() === "bearer" && API_KEY_PATTERN.test(token) ? token : null;
}

/**
 * The caller of a keyed request, counted against its key's rate limit and its account's. A
 * failed attempt counts against the client's address instead, so guessing keys is rate-limited
 * too.
 */
export async function authenticate(
  db: D1Database,
  header: string | undefined,
  address: string,
  limits: Limits,
  now: number,
): Promise<Caller> {
  const perMinute = limits.rate_limit_per_minute;
  const key = bearer(header);
  const hash = key === null ? null : await sha256Hex(key);
  const row = hash === null ? null : await findKey(db, hash);
  if (!row || row.revoked_at !== null || !sameText(row.key_hash, hash!)) {
    await countRequest(db, [{ subject: address, perMinute, accountId: null }], now);
    throw unauthorized();
  }
  const touch = touchKey(db, row.key_id, now);
  const budgets = [
    { subject: `key:${row.key_id}`, perMinute, accountId: row.account_id },
    // Not the account's requests_today: the key's row counts those already.
    {
      subject: accountSubject(row.account_id),
      perMinute: limits.account_rate_limit_per_minute,
      accountId: null,
    },
  ];
  await countRequest(db, budgets, now, [touch]);
  return { accountId: row.account_id, keyId: row.key_id, admin: row.scope === "admin" };
}

function sameText(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const [x, y] = [encoder.encode(a), encoder.encode(b)];
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}
