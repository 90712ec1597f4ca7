/**
 * The limits this hub advertises in /v1/hub/info (clients size their batches to fit them).
 *
 * Queries: a push costs a constant 11 D1 statements whatever its record count (the records travel
 * as bound JSON read with json_each, see records.ts), far inside the free plan's 50 per request.
 * CPU: every pushed byte is parsed, canonicalised and hashed, and the free plan allows 10 ms of CPU
 * per request. Measured on Node 20 (the same V8 as workerd), 500 typical records (277 KB) take
 * 5 ms warm and up to 17 ms in a cold isolate, so a push here holds at most 250 records and
 * 256 KiB, under half of that; a client simply sends more, smaller pushes. It also bounds the
 * push's records as one bound JSON parameter: re-escaping the body text at most doubles it, so it
 * stays far under D1's 2 MB per value.
 *
 * A bucket listing page is parsed from D1's reply and written again as JSON: 2000 entries (about
 * 300 KB) stay well inside the CPU budget, where the Python hub's 5000 would not.
 *
 * Quotas: a D1 database on the free plan holds 500 MB, indexes and every account included, so
 * one account may store 200,000 records and 200 MB of them by default (the Python hub: a
 * million and 1 GiB); the QUOTA_RECORDS and QUOTA_BYTES variables change that.
 */

import { HISTORY_DEPTH, type Limits } from "./protocol";

/** All keys of an account may together make this many times one key's requests. */
const ACCOUNT_RATE_FACTOR = 4;

export const LIMITS: Readonly<Limits> = {
  max_body_bytes: 256 * 1024,
  max_records_per_push: 250,
  max_record_bytes: 192 * 1024,
  page_size: 500,
  max_page_size: 1000,
  max_fetch_keys: 500,
  max_bucket_entries: 2000,
  rate_limit_per_minute: 1200,
  max_keys_per_account: 100,
  account_rate_limit_per_minute: ACCOUNT_RATE_FACTOR * 1200,
  max_account_records: 200_000,
  max_account_bytes: 200_000_000,
  max_clock_skew_ms: 24 * 60 * 60 * 1000,
  max_replaced: HISTORY_DEPTH,
};

/** A pull page stops adding records once it holds this many bytes, so replies stay bounded. */
export const PAGE_BYTES = LIMITS.max_body_bytes * 4;

/** The variables (wrangler.toml [vars], or `wrangler dev --var`) that set the limits. */
export interface LimitVars {
  /** Per key (per client address without one); 0 counts without limiting. */
  RATE_LIMIT_PER_MINUTE?: string;
  /** All keys of one account together; 0: off; unset: 4 times RATE_LIMIT_PER_MINUTE. */
  ACCOUNT_RATE_LIMIT_PER_MINUTE?: string;
  /** Records and bytes one account may store; 0: no quota. */
  QUOTA_RECORDS?: string;
  QUOTA_BYTES?: string;
}

function whole(env: LimitVars, name: keyof LimitVars, otherwise: number): number {
  const setting = env[name];
  if (setting === undefined) return otherwise;
  if (!/^\d+$/.test(setting)) {
    throw new Error(`${name} must be a whole number, not ${JSON.stringify(setting)}`);
  }
  return Number(setting);
}

/** The advertised limits as the variables set them. */
export function limitsFor(env: LimitVars): Limits {
  const perKey = whole(env, "RATE_LIMIT_PER_MINUTE", LIMITS.rate_limit_per_minute);
  return {
    ...LIMITS,
    rate_limit_per_minute: perKey,
    account_rate_limit_per_minute: whole(
      env,
      "ACCOUNT_RATE_LIMIT_PER_MINUTE",
      ACCOUNT_RATE_FACTOR * perKey,
    ),
    max_account_records: whole(env, "QUOTA_RECORDS", LIMITS.max_account_records),
    max_account_bytes: whole(env, "QUOTA_BYTES", LIMITS.max_account_bytes),
  };
}
