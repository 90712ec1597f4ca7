/**
 * A fixed one-minute window per key (per client address without a valid key). Isolates share no
 * memory, so the counters live in D1 (db.ts countHit): one row per subject, one write per request.
 */

import { countHit } from "./db";
import { rateLimited } from "./errors";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The UTC day number that usage's requests_today counts. */
export const dayOf = (now: number) => Math.floor(now / DAY_MS);

/**
 * Count this request against `subject`, running `alongside` in the same batch (one round trip);
 * throws 429 with the seconds left in the window once the minute's `perMinute` is spent.
 * A perMinute of 0 counts without limiting (as `nmem serve --rate-limit 0`).
 */
export async function countRequest(
  db: D1Database,
  perMinute: number,
  subject: string,
  accountId: string | null,
  now: number,
  alongside: D1PreparedStatement[] = [],
): Promise<void> {
  const minute = now - (now % MINUTE_MS);
  const [hit] = await db.batch([
    countHit(db, subject, accountId, minute, dayOf(now)),
    ...alongside,
  ]);
  const { hits } = hit!.results[0] as { hits: number };
  if (perMinute > 0 && hits > perMinute) {
    throw rateLimited(Math.max(1, Math.ceil((minute + MINUTE_MS - now) / 1000)));
  }
}
