/**
 * The errors a client can act on: status, machine code and the exact message users see.
 * The messages are word for word those of src/neuralmemory/errors.py and docs/protocol.md.
 */

export const MSG = {
  invalidKey: "Invalid or expired API key",
  accessDenied: "Access denied",
  payloadTooLarge: "Payload too large",
  rateLimited: "Rate limited",
  brainNotFound: "Brain not found",
  keyNotFound: "Key not found",
  notFound: "Not found",
  methodNotAllowed: "Method not allowed",
  emailTaken: "Email already registered",
  registrationClosed:
    "Registration is closed on this hub: ask its operator for an invite code (nmem hub invite)",
  inviteRequired:
    "An invite code is required to register on this hub: ask its operator for one (nmem hub invite)",
  invalidInvite:
    "Invalid invite code: it is unknown, already used or expired; ask the hub's operator for a new one (nmem hub invite)",
  deviceKey:
    "This is a device key: it can only sync. Manage keys with an admin key (the one made at " +
    "registration, or `nmem hub keys create` on the hub machine).",
  lastAdminKey: "Cannot revoke the last admin key: create another admin key first",
  shareNotFound: "Share not found: the code is wrong, expired or already used",
  shareTaken: "This share id is taken: share again for a new code",
  mediaType: "Content-Type must be application/json",
  internal: "Internal error",
  storageFull:
    "The hub's disk is full: nothing was written. Reads still work; ask its operator to free" +
    " space, then sync again",
  readOnly:
    "The hub's database is read-only: nothing was written. Reads still work; ask its operator" +
    " to make it writable, then sync again",
} as const;

export class HubError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503 | 507,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
    /** The methods a 405's path allows, for its Allow header. */
    readonly allow: string | null = null,
  ) {
    super(message);
  }

  headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.retryAfter !== null) headers["Retry-After"] = String(this.retryAfter);
    if (this.allow !== null) headers.Allow = this.allow;
    return headers;
  }

  body(): { error: string; code: string; retry_after?: number } {
    const body = { error: this.message, code: this.code };
    return this.retryAfter === null ? body : { ...body, retry_after: this.retryAfter };
  }
}

export const invalid = (what: string) =>
  new HubError(400, "invalid_request", `Invalid request: ${what}`);
const HOUR_MS = 3_600_000;
/** A pushed version stamped beyond max_clock_skew_ms (errors.py MSG_CLOCK_AHEAD, word for word). */
export const clockAhead = (where: string, aheadMs: number, limitMs: number) =>
  invalid(
    `${where}: stamped ${Math.floor(aheadMs / HOUR_MS)} h ahead of the hub's clock, more than ` +
      `max_clock_skew_ms (${Math.floor(limitMs / HOUR_MS)} h) allows: set this device's clock ` +
      "right and sync again (its pending changes are stamped again then)",
  );
export const unauthorized = () => new HubError(401, "invalid_key", MSG.invalidKey);
export const denied = (message: string = MSG.accessDenied) =>
  new HubError(403, "access_denied", message);
export const conflict = (message: string) => new HubError(409, "conflict", message);
export const keyLimit = (limit: number) =>
  conflict(`Key limit reached: an account may hold ${limit} active keys; revoke unused ones first`);
export const shareLimit = (limit: number) =>
  conflict(
    `Share limit reached: an account may have ${limit} key shares waiting; receive them or ` +
      "wait for them to expire (10 minutes)",
  );
export const notFound = (message: string = MSG.notFound) => new HubError(404, "not_found", message);
export const tooLarge = () => new HubError(413, "payload_too_large", MSG.payloadTooLarge);
/** 1,234,567: the numbers of a quota message, grouped as the Python hub writes them. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/**
 * 413 for a push that would take the account past a quota (sync.ts checkQuota). Not
 * payload_too_large: a smaller batch grows the account just the same, and clients tell the two
 * apart by code.
 */
export function quotaExceeded(
  what: "records" | "bytes",
  used: number,
  limit: number,
  added: number,
): HubError {
  const [u, l, a] = [used, limit, added].map(grouped);
  const message =
    what === "records"
      ? `Record quota exceeded: this account holds ${u} records on this hub and may hold ${l}; ` +
        `this push would add ${a}. Deleted records stay on the hub as tombstones, so forgetting ` +
        "memories does not make room: ask the hub's operator to raise the quota " +
        "(the Worker's QUOTA_RECORDS variable)"
      : `Storage quota exceeded: this account holds ${u} bytes on this hub and may hold ${l}; ` +
        `this push would add ${a}. Forget memories you no longer need (nmem forget ID) and sync ` +
        "again, or ask the hub's operator to raise the quota (the Worker's QUOTA_BYTES variable)";
  return new HubError(413, "quota_exceeded", message);
}
export const rateLimited = (seconds: number) =>
  new HubError(429, "rate_limited", MSG.rateLimited, seconds);

/**
 * The clear error for a write D1 could not make (as the Python hub's): 507 storage_full when the
 * database has no room -- SQLite's SQLITE_FULL, a full disk under `wrangler dev`, or D1's own
 * size limit -- and 503 read_only for a read-only database; null for any other failure.
 */
export function refusal(error: unknown): HubError | null {
  const text = error instanceof Error ? error.message : String(error);
  if (/SQLITE_FULL|database or disk is full|maximum (DB|database) size/i.test(text)) {
    return new HubError(507, "storage_full", MSG.storageFull);
  }
  if (/SQLITE_READONLY|readonly database/i.test(text)) {
    return new HubError(503, "read_only", MSG.readOnly);
  }
  return null;
}

/**
 * Run a write no request depends on (rate counters, a key's last use, a device's cursor): when
 * the database cannot take it, the request is served without it, so a full D1 still serves
 * reads. Resolves to false then.
 */
export async function bookkeeping(what: string, write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    const refused = refusal(error);
    if (refused === null) throw error;
    console.warn(`could not record ${what} (${refused.code}): served without it`);
    return false;
  }
}
