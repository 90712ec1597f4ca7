/**
 * A fixed one-minute window per key (per client address without a valid key), and one per
 * account over all its keys. Isolates share no memory, so the counters live in D1 (db.ts
 * countHits): one row per subject, all of a request's counted by one statement. The counts are
 * bookkeeping a request never depends on: a database that cannot take them (full, read-only)
 * serves the request uncounted, so a full D1 still serves reads (docs/protocol.md).
 */

import { countHits, type Subject } from "./db";
import { bookkeeping, rateLimited } from "./errors";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The UTC day number that usage's requests_today counts. */
export const dayOf = (now: number) => Math.floor(now / DAY_MS);

/** The counter every key of one account shares (account_rate_limit_per_minute). */
export const accountSubject = (accountId: string) => `acct:${accountId}`;

/** A counter and its limit per minute (0 counts without limiting). */
export interface Budget extends Subject {
  perMinute: number;
}

/**
 * Count this request against every budget, running `alongside` in the same batch (one round
 * trip); throws 429 with the seconds left in the window once any budget's minute is spent.
 */
export async function countRequest(
  db: D1Database,
  budgets: readonly Budget[],
  now: number,
  alongside: D1PreparedStatement[] = [],
): Promise<void> {
  const minute = now - (now % MINUTE_MS);
  let counted: D1Result | undefined;
  const write = async () => {
    [counted] = await db.batch([countHits(db, budgets, minute, dayOf(now)), ...alongside]);
  };
  if (!(await bookkeeping("a request's counts", write))) return; // served uncounted
  const hits = new Map(
    (counted!.results as { subject: string; hits: number }[]).map((r) => [r.subject, r.hits]),
  );
  const spent = budgets.some(
    ({ subject, perMinute }) => perMinute > 0 && hits.get(subject)! > perMinute,
  );
  if (spent) throw rateLimited(Math.max(1, Math.ceil((minute + MINUTE_MS - now) / 1000)));
}
