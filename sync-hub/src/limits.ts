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
 */

import type { Limits } from "./protocol";

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
  max_clock_skew_ms: 24 * 60 * 60 * 1000,
};

/** A pull page stops adding records once it holds this many bytes, so replies stay bounded. */
export const PAGE_BYTES = LIMITS.max_body_bytes * 4;

/**
 * The advertised limits with the rate set by the RATE_LIMIT_PER_MINUTE variable (wrangler.toml
 * [vars], or `wrangler dev --var`); 0 counts requests without limiting them.
 */
export function limitsFor(env: { RATE_LIMIT_PER_MINUTE?: string }): Limits {
  const setting = env.RATE_LIMIT_PER_MINUTE;
  if (setting === undefined) return { ...LIMITS };
  if (!/^\d+$/.test(setting)) {
    throw new Error(`RATE_LIMIT_PER_MINUTE must be a whole number, not ${JSON.stringify(setting)}`);
  }
  return { ...LIMITS, rate_limit_per_minute: Number(setting) };
}
