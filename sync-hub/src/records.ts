/**
 * D1 access for the record store: CAS push, the changes feed, the Merkle digest and repair reads.
 *
 * CAS on D1. A push reads a consistent snapshot (one batch: the brain's seq and root, the current
 * rows and buckets it touches), plans it in JavaScript (push.ts) and writes the plan in ONE batch.
 * A D1 batch is a transaction, so the writes land together or not at all. Every write statement of
 * that batch is conditional on `brains.seq` still being the snapshot's seq, and the brain row's seq
 * is bumped by the batch's last statement; every accepted write bumps seq, so if another push
 * landed in between, every statement matches nothing, the last one reports 0 changes, and the push
 * is planned again from a fresh snapshot. The records travel as bound JSON read with json_each, so
 * a push costs a constant number of statements whatever its size.
 */

import { PAGE_BYTES, RECORDS_PARAM_BYTES } from "./limits";
import { BUCKETS, EMPTY_DIGEST, itemDigest, type Kind, type StoredVersion } from "./protocol";
import { recordKey, type Entry, type Incoming, type Plan, type Snapshot } from "./push";

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

// ------------------------------------------------------------------------------------ push

/** The brain row and the current rows and buckets of what `incoming` touches, read atomically. */
export async function readSnapshot(
  db: D1Database,
  brainId: string,
  incoming: readonly Incoming[],
): Promise<Snapshot> {
  const keys = JSON.stringify([
    ...new Map(incoming.map(({ version: v }) => [recordKey(v.kind, v.id), [v.kind, v.id]])).values(),
  ]);
  const buckets = JSON.stringify([...new Set(incoming.map((entry) => entry.bucket))]);
  const [brain, rows, digests] = await db.batch([
    db.prepare("SELECT seq, root, records, bytes FROM brains WHERE brain_id = ?").bind(brainId),
    db
      .prepare(
        `SELECT ${RECORD_COLUMNS} FROM json_each(?2) AS k JOIN records AS r
         ON r.brain_id = ?1 AND r.kind = k.value ->> 0 AND r.id = k.value ->> 1`,
      )
      .bind(brainId, keys),
    db
      .prepare(
        `SELECT b.bucket, b.digest FROM json_each(?2) AS k JOIN buckets AS b
         ON b.brain_id = ?1 AND b.bucket = k.value`,
      )
      .bind(brainId, buckets),
  ]);
  const head = brain!.results[0] as Pick<Snapshot, "seq" | "root" | "records" | "bytes">;
  const current = new Map<string, Entry>();
  for (const row of rows!.results as RecordRow[]) {
    const item = await itemDigest(row.kind, row.id, row.vhash);
    current.set(recordKey(row.kind, row.id), {
      stored: stored(row),
      bucket: row.bucket,
      item,
      size: row.size,
    });
  }
  const bucketRows = digests!.results as { bucket: number; digest: string }[];
  return { ...head, buckets: new Map(bucketRows.map((row) => [row.bucket, row.digest])), current };
}

/**
 * Write a plan if the brain is still at `snapshotSeq`; false when a concurrent push won the race
 * (nothing was written). `device` is the caller's device upsert, which rides in the same batch.
 */
export async function applyPush(
  db: D1Database,
  brainId: string,
  snapshotSeq: number,
  plan: Plan,
  device: D1PreparedStatement,
  now: number,
): Promise<boolean> {
  const guard = "(SELECT seq FROM brains WHERE brain_id = ?1) = ?2";
  const upserts = recordParams(plan.writes).map((param) =>
    db
      .prepare(
        `INSERT INTO records
           (brain_id, kind, id, seq, hlc, device_id, parent, deleted, strength, body, vhash, bucket, size)
         SELECT ?1, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4,
                r.value ->> 5, r.value ->> 6, r.value ->> 7, r.value ->> 8, r.value ->> 9,
                r.value ->> 10, r.value ->> 11
         FROM json_each(?3) AS r WHERE ${guard}
         ON CONFLICT (brain_id, kind, id) DO UPDATE SET
           seq = excluded.seq, hlc = excluded.hlc, device_id = excluded.device_id,
           parent = excluded.parent, deleted = excluded.deleted, strength = excluded.strength,
           body = excluded.body, vhash = excluded.vhash, size = excluded.size`,
      )
      .bind(brainId, snapshotSeq, param),
  );
  const buckets = db
    .prepare(
      `INSERT INTO buckets (brain_id, bucket, digest)
       SELECT ?1, b.value ->> 0, b.value ->> 1 FROM json_each(?3) AS b WHERE ${guard}
       ON CONFLICT (brain_id, bucket) DO UPDATE SET digest = excluded.digest`,
    )
    .bind(brainId, snapshotSeq, JSON.stringify([...plan.buckets]));
  const head = db
    .prepare(
      `UPDATE brains SET seq = ?3, root = ?4, records = ?5, bytes = ?6, last_write_at = ?7
       WHERE brain_id = ?1 AND seq = ?2`,
    )
    .bind(brainId, snapshotSeq, plan.seq, plan.root, plan.records, plan.bytes, now);
  const results = await db.batch([...upserts, buckets, device, head]);
  return results.at(-1)!.meta.changes === 1;
}

/** The rows to write as JSON arrays, split so no bound parameter exceeds RECORDS_PARAM_BYTES. */
function recordParams(writes: readonly Entry[]): string[] {
  const params: string[] = [];
  let rows: string[] = [];
  let bytes = 2;
  for (const { stored: v, bucket, size } of writes) {
    const row = JSON.stringify([
      v.kind, v.id, v.seq, v.hlc, v.device_id, v.parent, v.deleted ? 1 : 0, v.strength,
      // The body was canonicalised when the push was validated; stored as that text.
      JSON.stringify(v.body), v.vhash, bucket, size,
    ]);
    if (rows.length > 0 && bytes + row.length + 1 > RECORDS_PARAM_BYTES) {
      params.push(`[${rows.join(",")}]`);
      rows = [];
      bytes = 2;
    }
    rows.push(row);
    bytes += row.length + 1;
  }
  if (rows.length > 0) params.push(`[${rows.join(",")}]`);
  return params;
}

// ------------------------------------------------------------------------------------ reads

export interface Head {
  seq: number;
  root: string;
  records: number;
}

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
    db.prepare("SELECT seq, root, records FROM brains WHERE brain_id = ?").bind(brainId),
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
    db.prepare("SELECT seq, root, records FROM brains WHERE brain_id = ?").bind(brainId),
    db.prepare("SELECT bucket, digest FROM buckets WHERE brain_id = ?").bind(brainId),
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

export async function readBuckets(
  db: D1Database,
  brainId: string,
  buckets: readonly number[],
): Promise<BucketEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT r.bucket, r.kind, r.id, r.vhash, r.seq FROM records AS r
       WHERE r.brain_id = ?1 AND r.bucket IN (SELECT value FROM json_each(?2))
       ORDER BY r.bucket, r.kind, r.id`,
    )
    .bind(brainId, JSON.stringify(buckets))
    .all<BucketEntry>();
  return results;
}

/** The current versions of `keys`, in the order asked; absent keys are omitted. */
export async function readRecords(
  db: D1Database,
  brainId: string,
  keys: readonly { kind: string; id: string }[],
): Promise<StoredVersion[]> {
  const { results } = await db
    .prepare(
      `SELECT ${RECORD_COLUMNS} FROM records AS r JOIN
         (SELECT k.value ->> '$.kind' AS kind, k.value ->> '$.id' AS id, MIN(k.key) AS position
          FROM json_each(?2) AS k GROUP BY 1, 2) AS k
       ON r.brain_id = ?1 AND r.kind = k.kind AND r.id = k.id ORDER BY k.position`,
    )
    .bind(brainId, JSON.stringify(keys))
    .all<RecordRow>();
  return results.map(stored);
}
