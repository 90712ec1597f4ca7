/**
 * The sync wire protocol v1: the TypeScript twin of src/neuralmemory/protocol.py.
 *
 * docs/protocol.md is the normative text and tests/golden/protocol_v1.json holds the vectors both
 * languages reproduce byte for byte. Canonical bytes: keys sorted by Unicode code point, no
 * whitespace, UTF-8 unescaped, integral numbers within ±(2^53−1) only, no lone surrogates, nesting
 * at most MAX_DEPTH. Do not change any of this without bumping PROTOCOL_VERSION and VHASH_PREFIX.
 */

export const PROTOCOL_VERSION = 1;
export const VHASH_PREFIX = "v1:";
export const BUCKETS = 256;
export const MAX_DEPTH = 32;
export const EMPTY_DIGEST = "0".repeat(64);
export const STRENGTH_SCALE = 1_000_000;
/** A `key` record carries an encryption key's fingerprint, never the key (docs/sync.md). */
export const KINDS = ["memory", "activation", "link", "conflict", "key"] as const;
export type Kind = (typeof KINDS)[number];
/**
 * Hubs remember, for each record of these kinds, the vhashes it held before its current version
 * (newest first, at most HISTORY_DEPTH), so a push of one of them is answered `superseded`
 * (docs/protocol.md, "History"). As protocol.py.
 */
export const HISTORY_KINDS: readonly string[] = ["memory"];
export const HISTORY_DEPTH = 32;

/**
 * A record's history once an accepted version replaces its current one, `replaced` (null: a new
 * record), and names the versions its device replaced before pushing it (`named`: the push's
 * `replaces`): newest first, each once, at most HISTORY_DEPTH. As protocol.py next_history.
 */
export function nextHistory(
  kind: string,
  history: string,
  replaced: string | null,
  named: readonly string[] = [],
): string {
  if (!HISTORY_KINDS.includes(kind)) return "";
  const head = replaced === null ? [] : [replaced];
  return [...new Set([...head, ...named, ...words(history)])].slice(0, HISTORY_DEPTH).join(" ");
}

/** Whether the hub held `vhash` for this record before its current version. */
export function inHistory(history: string, vhash: string): boolean {
  return words(history).includes(vhash);
}

function words(text: string): string[] {
  return text.split(" ").filter((word) => word.length > 0);
}
/** admin: may also create, list and revoke the account's keys. device: sync only. */
export const KEY_SCOPES = ["admin", "device"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const VHASH_PATTERN = /^v1:[0-9a-f]{64}$/;
// ASCII digits: the fixed-width numeric prefix is what makes string order equal clock order.
export const HLC_PATTERN = /^[0-9]{13}-[0-9a-f]{4}-[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Free text (device and key names) and emails carry no control characters.
export const LABEL_PATTERN = /^[^\x00-\x1f\x7f]+$/;
export const EMAIL_PATTERN = /^[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$/;
export const API_KEY_PREFIX = "nmk_";
export const API_KEY_PATTERN = /^nmk_[A-Za-z0-9]{32,128}$/;
/** One-time codes (invites), as protocol.py CODE_PATTERN. */
export const CODE_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
export const KEY_DISPLAY_CHARS = 12;
/** Key shares (protocol.py): an id derived from a one-time code, and the key sealed under it. */
export const SHARE_ID_PATTERN = /^s-[0-9a-f]{32}$/;
export const SEALED_PATTERN = /^[A-Za-z0-9+/=]+$/;
export const MAX_SHARE_CHARS = 4096;
export const SHARE_TTL_MS = 10 * 60 * 1000;
export const MAX_SHARES_PER_ACCOUNT = 10;

/** A code as compared (protocol.py normal_code): without dashes, in upper case, with the letters
 * Crockford base32 leaves out read as the digits they look like (O as 0, I and L as 1). */
export const normalCode = (code: string) =>
  code.trim().toUpperCase().replace(/-/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");

export const PATHS = {
  health: "/v1/health",
  info: "/v1/hub/info",
  register: "/v1/auth/register",
  keys: "/v1/auth/keys",
  key: "/v1/auth/keys/:key_id",
  status: "/v1/status",
  brains: "/v1/brains",
  brain: "/v1/brains/:brain_id",
  push: "/v1/brains/:brain_id/push",
  pull: "/v1/brains/:brain_id/pull",
  digest: "/v1/brains/:brain_id/digest",
  buckets: "/v1/brains/:brain_id/buckets",
  fetch: "/v1/brains/:brain_id/fetch",
  devices: "/v1/brains/:brain_id/devices",
  share: "/v1/shares/:share_id",
  shareTake: "/v1/shares/:share_id/take",
} as const;

export interface Limits {
  max_body_bytes: number;
  max_records_per_push: number;
  max_record_bytes: number;
  page_size: number;
  max_page_size: number;
  max_fetch_keys: number;
  max_bucket_entries: number;
  rate_limit_per_minute: number;
  max_keys_per_account: number;
  /** All keys of one account together, per minute; 0: no such limit. */
  account_rate_limit_per_minute: number;
  /** What one account may store over all its brains (tombstones included); 0: no quota. */
  max_account_records: number;
  max_account_bytes: number;
  /** How far ahead of the hub's clock a pushed version's hlc may be (docs/protocol.md). */
  max_clock_skew_ms: number;
  /** How many vhashes a pushed version may name in the push's `replaces` (HISTORY_DEPTH). */
  max_replaced: number;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One version of one record, exactly as pushed (protocol.py `Version`). */
export interface Version {
  kind: Kind;
  id: string;
  hlc: string;
  device_id: string;
  parent: string | null;
  deleted: boolean;
  strength: number;
  body: JsonObject;
  vhash: string;
}

/** A version as the hub holds it, stamped with the brain's sequence number. */
export interface StoredVersion extends Version {
  seq: number;
}

/** Raised when a value has no canonical form; the message says why, as protocol.py's does. */
export class CanonicalError extends Error {}

const encoder = new TextEncoder();

/** The canonical UTF-8 text of a JSON value; throws CanonicalError when it has none. */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  // The depth check comes first, for scalars too, exactly as in protocol.py's _canonical.
  if (depth > MAX_DEPTH) throw new CanonicalError(`nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new CanonicalError("numbers must be integers (fractions have no portable text)");
    }
    if (!Number.isSafeInteger(value)) throw new CanonicalError("integer outside +-(2**53 - 1)");
    return JSON.stringify(value); // -0 is written 0, as Python writes int(-0.0)
  }
  if (typeof value === "string") return text(value);
  if (Array.isArray(value)) return `[${value.map((item) => write(item, depth + 1)).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    entries.sort(([a], [b]) => compareCodePoints(a, b));
    const parts = entries.map(([key, item]) => `${text(key)}:${write(item, depth + 1)}`);
    return `{${parts.join(",")}}`;
  }
  throw new CanonicalError(`not a JSON value: ${typeof value}`);
}

function text(value: string): string {
  if (!value.isWellFormed()) throw new CanonicalError("strings must not contain lone surrogates");
  // JSON.stringify and json.dumps(ensure_ascii=False) agree on every escape of well-formed text.
  return JSON.stringify(value);
}

/**
 * Order by Unicode code point. JavaScript's default order compares UTF-16 units, which puts an
 * astral character (a surrogate pair, 0xD800..) before U+E000..U+FFFF; Python orders by code point.
 */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

export function utf8Length(value: string): number {
  return encoder.encode(value).byteLength;
}

export async function sha256Hex(value: string): Promise<string> {
  return hex(await sha256(value));
}

async function sha256(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The eight hashed fields of a version, in the object protocol.py's version_hash builds. */
export function hashedFields(version: Omit<Version, "vhash">): JsonObject {
  const { kind, id, hlc, device_id, parent, deleted, strength, body } = version;
  return { kind, id, hlc, device_id, parent, deleted, strength, body };
}

/**
 * The canonical text of a version's hashed fields, and of its body as it appears in them.
 * "body" sorts before every other field, so the fields' text is built around the body's, which
 * is written once (at depth 1, where it sits in the version).
 */
export function canonicalFields(version: Omit<Version, "vhash">): { fields: string; body: string } {
  const { body, ...rest } = hashedFields(version);
  const bodyText = write(body, 1);
  return { fields: `{"body":${bodyText},${write(rest, 0).slice(1)}`, body: bodyText };
}

/** The canonical text of a whole version from its fields' text: "vhash" sorts after them all. */
export const canonicalVersion = (fields: string, vhash: string) =>
  `${fields.slice(0, -1)},"vhash":${text(vhash)}}`;

export async function versionHash(version: Omit<Version, "vhash">): Promise<string> {
  return VHASH_PREFIX + (await sha256Hex(canonicalFields(version).fields));
}

export async function bucketOf(kind: string, id: string): Promise<number> {
  return (await sha256(`${kind}:${id}`))[0]!;
}

export async function itemDigest(kind: string, id: string, vhash: string): Promise<string> {
  return sha256Hex(`${kind}:${id}:${vhash}`);
}

/** Fold an item hash into (or out of: XOR is its own inverse) a bucket or root digest. */
export function xorDigest(a: string, b: string): string {
  let out = "";
  // 8 hex digits (32 bits) at a time keeps every step inside JavaScript's 32-bit bitwise range.
  for (let at = 0; at < 64; at += 8) {
    const word = (parseInt(a.slice(at, at + 8), 16) ^ parseInt(b.slice(at, at + 8), 16)) >>> 0;
    out += word.toString(16).padStart(8, "0");
  }
  return out;
}

/** Milliseconds since the epoch as the wire's timestamp text, e.g. 2026-11-24T15:30:00.123Z. */
export function isoMs(ms: number): string;
export function isoMs(ms: number | null): string | null;
export function isoMs(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** nmk_a1b2c3d4**** -- the only form in which a key is ever shown after it is created. */
export function maskKey(key: string | null): string | null {
  return key ? `${key.slice(0, KEY_DISPLAY_CHARS)}****` : null;
}
