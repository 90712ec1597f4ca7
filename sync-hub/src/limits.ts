/**
 * The limits this hub advertises in /v1/hub/info (clients size their batches to fit them).
 *
 * They are the protocol defaults except max_body_bytes. A push costs a constant number of D1
 * statements whatever its record count (the records travel as one bound JSON parameter per
 * RECORDS_PARAM_BYTES, see records.ts), so max_records_per_push keeps the default 500 well inside
 * the free plan's 50 queries per invocation. The body cap is lower than the default 4 MiB because
 * every pushed byte is parsed, canonicalised and hashed within the free plan's CPU budget per
 * request, and bound into D1 parameters whose size D1 caps (2 MB per value).
 */

import type { Limits } from "./protocol";

export const LIMITS: Readonly<Limits> = {
  max_body_bytes: 1024 * 1024,
  max_records_per_push: 500,
  max_record_bytes: 512 * 1024,
  page_size: 500,
  max_page_size: 1000,
  max_fetch_keys: 500,
  rate_limit_per_minute: 1200,
};

/** Most bytes of one bound JSON parameter, safely under D1's 2 MB per value. */
export const RECORDS_PARAM_BYTES = 1_000_000;

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
