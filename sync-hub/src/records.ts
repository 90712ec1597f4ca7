/**
 * D1 access for the record store: CAS push, the changes feed, the Merkle digest and repair reads.
 *
 * CAS on D1. A push reads the current rows it touches (one batch, so consistently), decides in
 * JavaScript (push.ts), then writes in ONE batch, which D1 runs as a transaction: all of it lands
 * or none. The batch's first statement claims the brain for this push (a random push_token), bumps
 * seq and the counters, and does so only if every record the decisions were based on still has the
 * vhash that was read; every later write is conditional on that claim. If a concurrent push changed
 * one of those records in between, nothing is written and the push is decided again from fresh
 * rows. What is written does not depend on anything else: seqs are taken from the brain row at
 * write time, digests are XOR deltas folded in by SQL and counters are increments, so pushes that
 * touch different records never make each other retry. The records travel as bound JSON read with
 * json_each, so a push costs the same five statements whatever its size.
 */

import { FOLD_BUCKETS, ROOT_JOIN, hexOf, words } from "./digests";
import type { Held } from "./db";
import { PAGE_BYTES } from "./limits";
import {
  BUCKETS,
  EMPTY_DIGEST,
  itemDigest,
  type Json,
  type Kind,
  type StoredVersion,
} from "./protocol";
import { ROOT_BUCKET, recordKey, type Entry, type Incoming, type Plan } from "./push";
import type { BucketPosition } from "./wire";

interface RecordRow {
  kind: Kind;
  id: string;
  seq: number;
  hlc: string;
  device_id: string;
  parent: string | null;
  deleted: number;
  strength: number;
  body: string;
  vhash: string;
  bucket: number;
  size: number;
}

/** The columns CAS reads besides a record's version: its history (migration 0005). */
const HEAD_COLUMNS = "r.history";

const RECORD_COLUMNS =
  "r.kind, r.id, r.seq, r.hlc, r.device_id, r.parent, r.deleted, r.strength, r.body, r.vhash, r.bucket, r.size";

function stored(row: RecordRow): StoredVersion {
  return {
    kind: row.kind,
    id: row.id,
    hlc: row.hlc,
    device_id: row.device_id,
    parent: row.parent,
    deleted: row.deleted === 1,
    strength: row.strength,
    body: JSON.parse(row.body),
    vhash: row.vhash,
    seq: row.seq,
  };
}

export interface Head {
  seq: number;
  root: string;
  records: number;
}

const HEAD = `SELECT b.seq, b.records, ${hexOf("root_row")} AS root FROM brains AS b ${ROOT_JOIN}
  WHERE b.brain_id = ?`;

// ------------------------------------------------------------------------------------ push

/** The head, with the totals of the account that owns the brain (for its quota). */
const SNAPSHOT_HEAD = `SELECT b.seq, b.records, ${hexOf("root_row")} AS root,
  (SELECT COALESCE(SUM(records), 0) FROM brains WHERE account_id = b.account_id) AS held_records,
  (SELECT COALESCE(SUM(bytes), 0) FROM brains WHERE account_id = b.account_id) AS held_bytes
  FROM brains AS b ${ROOT_JOIN} WHERE b.brain_id = ?`;

interface HeldColumns {
  held_records: number;
  held_bytes: number;
}

export interface Snapshot {
  head: Head;
  /** The current versions of the records a push touches, by recordKey. */
  current: Map<string, Entry>;
  /** The owner's totals, for its quota. */
  held: Held;
}

/**
 * The brain's head, the current rows of what `incoming` touches and the totals of the account
 * that owns the brain, read together.
 */
export async function readSnapshot(
  db: D1Database,
  brainId: string,
  incoming: readonly Incoming[],
): Promise<Snapshot> {
  const [head, rows] = await db.batch([
    db.prepare(SNAPSHOT_HEAD).bind(brainId),
    db
      .prepare(
        // CROSS JOIN keeps the keys as the outer loop: SQLite would otherwise scan the brain.
        `SELECT ${RECORD_COLUMNS}, ${HEAD_COLUMNS} FROM json_each(?2) AS k CROSS JOIN records AS r
         ON r.brain_id = ?1 AND r.kind = k.value ->> 0 AND r.id = k.value ->> 1`,
      )
      .bind(brainId, JSON.stringify(touchedKeys(incoming))),
  ]);
  const current = new Map<string, Entry>();
  for (const row of rows!.results as (RecordRow & { history: string | null })[]) {
    const item = await itemDigest(row.kind, row.id, row.vhash);
    const { bucket, size, body } = row;
    const entry = { stored: stored(row), bucket, item, size, body, history: row.history ?? "" };
    current.set(recordKey(row.kind, row.id), entry);
  }
  const { held_records, held_bytes, ...top } = head!.results[0] as Head & HeldColumns;
  return { head: top, current, held: { records: held_records, bytes: held_bytes } };
}

function touchedKeys(incoming: readonly Incoming[]): [string, string][] {
  const keys = incoming.map(({ version: v }): [string, string] => [v.kind, v.id]);
  return [...new Map(keys.map((key) => [recordKey(...key), key])).values()];
}

/**
 * Write `plan` (planned with firstSeq 0) if every record in `snapshot` still is as read; the
 * brain's new head, or null when a concurrent push changed one of them (nothing was written).
 * `device` is the caller's device upsert, which rides in the same batch.
 */
export async function applyPush(
  db: D1Database,
  brainId: string,
  incoming: readonly Incoming[],
  snapshot: Snapshot,
  plan: Plan,
  device: D1PreparedStatement,
  now: number,
): Promise<Head | null> {
  const token = crypto.randomUUID();
  const expected = touchedKeys(incoming).map(([kind, id]) => [
    kind,
    id,
    snapshot.current.get(recordKey(kind, id))?.stored.vhash ?? null,
  ]);
  const claim = db
    .prepare(
      `UPDATE brains SET seq = seq + ?3, records = records + ?4, bytes = bytes + ?5,
         last_write_at = ?6, push_token = ?7
       WHERE brain_id = ?1 AND NOT EXISTS (
         SELECT 1 FROM json_each(?2) AS e LEFT JOIN records AS r
           ON r.brain_id = ?1 AND r.kind = e.value ->> 0 AND r.id = e.value ->> 1
         WHERE r.vhash IS NOT e.value ->> 2)
       RETURNING seq`,
    )
    .bind(brainId, JSON.stringify(expected), plan.accepted, plan.records, plan.bytes, now, token);
  const deltas = [...plan.deltas].map(([bucket, delta]) => [bucket, ...words(delta)]);
  const fold = db.prepare(FOLD_BUCKETS).bind(brainId, token, JSON.stringify(deltas));
  // Planned seqs run 1..accepted; the rows get them after the seq the brain had before the claim.
  const upsert = db
    .prepare(
      `INSERT INTO records
         (brain_id, kind, id, seq, hlc, device_id, parent, deleted, strength, body, vhash, bucket, size,
          history)
       SELECT ?1, r.value ->> 0, r.value ->> 1,
              (SELECT seq FROM brains WHERE brain_id = ?1) - ?4 + (r.value ->> 2),
              r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6, r.value ->> 7,
              r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11, r.value ->> 12
       FROM json_each(?3) AS r WHERE (SELECT push_token FROM brains WHERE brain_id = ?1) = ?2
       ON CONFLICT (brain_id, kind, id) DO UPDATE SET
         seq = excluded.seq, hlc = excluded.hlc, device_id = excluded.device_id,
         parent = excluded.parent, deleted = excluded.deleted, strength = excluded.strength,
         body = excluded.body, vhash = excluded.vhash, size = excluded.size,
         history = excluded.history`,
    )
    .bind(brainId, token, JSON.stringify(plan.writes.map(recordRow)), plan.accepted);
  const head = db.prepare(HEAD).bind(brainId);
  const [claimed, , , , after] = await db.batch([claim, fold, upsert, device, head]);
  return claimed!.results.length === 0 ? null : (after!.results[0] as Head);
}

/** A row to write, as the JSON array the upsert reads with json_each. */
function recordRow({ stored: v, bucket, size, body, history }: Entry): Json[] {
  return [
    v.kind,
    v.id,
    v.seq,
    v.hlc,
    v.device_id,
    v.parent,
    v.deleted ? 1 : 0,
    v.strength,
    body,
    v.vhash,
    bucket,
    size,
    history,
  ];
}

// ------------------------------------------------------------------------------------ reads

export interface Page {
  records: StoredVersion[];
  more: boolean;
  head: Head;
}

/**
 * Records with seq > cursor in seq order, without `skipDevice`'s own: at most `limit`, and no more
 * than PAGE_BYTES of them (the first always fits). One row beyond the page is read, without its
 * body, to tell whether more remain. The brain row is read in the same batch, hence consistent.
 */
export async function readPage(
  db: D1Database,
  brainId: string,
  cursor: number,
  limit: number,
  skipDevice: string | null,
): Promise<Page> {
  const [head, page] = await db.batch([
    db.prepare(HEAD).bind(brainId),
    db
      .prepare(
        `SELECT kind, id, seq, hlc, device_id, parent, deleted, strength, vhash, bucket, size,
                fits, CASE WHEN fits THEN full_body END AS body
         FROM (SELECT *, running - size < ?5 AS fits
               FROM (SELECT r.*, r.body AS full_body,
                            SUM(r.size) OVER (ORDER BY r.seq ROWS UNBOUNDED PRECEDING) AS running
                     FROM records AS r
                     WHERE r.brain_id = ?1 AND r.seq > ?2 AND r.device_id IS NOT ?4
                     ORDER BY r.seq LIMIT ?3))
         ORDER BY seq`,
      )
      .bind(brainId, cursor, limit + 1, skipDevice, PAGE_BYTES),
  ]);
  const rows = page!.results as (RecordRow & { fits: number })[];
  const cut = rows.findIndex((row, index) => index === limit || row.fits === 0);
  const records = (cut === -1 ? rows : rows.slice(0, cut)).map(stored);
  return { records, more: records.length < rows.length, head: head!.results[0] as Head };
}

export interface Digest extends Head {
  buckets: string[];
}

export async function readDigest(db: D1Database, brainId: string): Promise<Digest> {
  const [head, rows] = await db.batch([
    db.prepare(HEAD).bind(brainId),
    db
      .prepare(
        `SELECT d.bucket, ${hexOf("d")} AS digest FROM buckets AS d WHERE d.brain_id = ? AND d.bucket < ?`,
      )
      .bind(brainId, ROOT_BUCKET),
  ]);
  const buckets: string[] = Array(BUCKETS).fill(EMPTY_DIGEST);
  for (const row of rows!.results as { bucket: number; digest: string }[]) {
    buckets[row.bucket] = row.digest;
  }
  return { ...(head!.results[0] as Head), buckets };
}

export interface BucketEntry {
  bucket: number;
  kind: Kind;
  id: string;
  vhash: string;
  seq: number;
}

export interface BucketPage {
  entries: BucketEntry[];
  more: boolean;
}

const ENTRY_COLUMNS = "r.bucket, r.kind, r.id, r.vhash, r.seq";

/**
 * The entries of `buckets` after `after` in (bucket, kind, id) order, at most `limit`, and whether
 * more remain (one entry beyond the page is read to tell). At most two statements, each a range
 * scan of records_by_bucket_page (migration 0002) that stops at the page's end: the rest of
 * `after`'s bucket, then the later buckets (SQLite walks an IN list in order, so no sort).
 */
export async function readBuckets(
  db: D1Database,
  brainId: string,
  buckets: readonly number[],
  after: BucketPosition | null,
  limit: number,
): Promise<BucketPage> {
  const start = after ?? { bucket: -1, kind: "", id: "" };
  const wanted = new Set(buckets);
  const later = [...wanted].filter((b) => b > start.bucket).sort((a, b) => a - b);
  const rows: BucketEntry[] = [];
  if (wanted.has(start.bucket)) {
    const { results } = await db
      .prepare(
        `SELECT ${ENTRY_COLUMNS} FROM records AS r
         WHERE r.brain_id = ?1 AND r.bucket = ?2 AND (r.kind, r.id) > (?3, ?4)
         ORDER BY r.kind, r.id LIMIT ?5`,
      )
      .bind(brainId, start.bucket, start.kind, start.id, limit + 1)
      .all<BucketEntry>();
    rows.push(...results);
  }
  if (rows.length <= limit && later.length > 0) {
    const { results } = await db
      .prepare(
        `SELECT ${ENTRY_COLUMNS} FROM records AS r
         WHERE r.brain_id = ?1 AND r.bucket IN (SELECT value FROM json_each(?2))
         ORDER BY r.bucket, r.kind, r.id LIMIT ?3`,
      )
      .bind(brainId, JSON.stringify(later), limit + 1 - rows.length)
      .all<BucketEntry>();
    rows.push(...results);
  }
  return { entries: rows.slice(0, limit), more: rows.length > limit };
}

/** The current versions of `keys`, in the order asked; absent keys are omitted. */
export async function readRecords(
  db: D1Database,
  brainId: string,
  keys: readonly { kind: string; id: string }[],
): Promise<StoredVersion[]> {
  const { results } = await db
    .prepare(
      `SELECT ${RECORD_COLUMNS} FROM
         (SELECT k.value ->> '$.kind' AS kind, k.value ->> '$.id' AS id, MIN(k.key) AS position
          FROM json_each(?2) AS k GROUP BY 1, 2) AS k
       CROSS JOIN records AS r ON r.brain_id = ?1 AND r.kind = k.kind AND r.id = k.id
       ORDER BY k.position`,
    )
    .bind(brainId, JSON.stringify(keys))
    .all<RecordRow>();
  return results.map(stored);
}
