/**
 * The compare-and-swap decision for one push, as pure data: given a consistent snapshot of the
 * records the push touches, decide each version in order exactly as docs/protocol.md says, and
 * compute the rows, bucket digests and brain counters to write. records.ts reads the snapshot
 * and writes the plan in one D1 batch guarded by the snapshot's seq (see applyPush there).
 */

import { xorDigest, EMPTY_DIGEST, type StoredVersion, type Version } from "./protocol";

/** A record as the planner sees it: its stored form plus what the digest and counters need. */
export interface Entry {
  stored: StoredVersion;
  bucket: number;
  item: string;
  size: number;
}

/** A pushed version, validated, with its bucket, item hash and canonical size computed. */
export interface Incoming {
  version: Version;
  bucket: number;
  item: string;
  size: number;
}

export interface Snapshot {
  seq: number;
  root: string;
  records: number;
  bytes: number;
  /** Current digests of the buckets the push touches; a missing bucket is empty. */
  buckets: Map<number, string>;
  /** Current records the push touches, by recordKey. */
  current: Map<string, Entry>;
}

export interface PushResult {
  kind: string;
  id: string;
  vhash: string;
  status: "accepted" | "unchanged" | "conflict";
  seq: number | null;
  current: StoredVersion | null;
}

export interface Plan {
  results: PushResult[];
  /** The final state of every record this push changed (a record pushed twice is written once). */
  writes: Entry[];
  buckets: Map<number, string>;
  seq: number;
  root: string;
  records: number;
  bytes: number;
}

export const recordKey = (kind: string, id: string) => `${kind}:${id}`;

export function planPush(snapshot: Snapshot, incoming: readonly Incoming[]): Plan {
  const state = new Map(snapshot.current);
  const buckets = new Map(snapshot.buckets);
  const written = new Map<string, Entry>();
  let { seq, root, records, bytes } = snapshot;
  const results = incoming.map(({ version, bucket, item, size }): PushResult => {
    const key = recordKey(version.kind, version.id);
    const { kind, id, vhash } = version;
    const now = state.get(key);
    if (now && now.stored.vhash === vhash) {
      return { kind, id, vhash, status: "unchanged", seq: now.stored.seq, current: null };
    }
    if (now && now.stored.vhash !== version.parent) {
      return { kind, id, vhash, status: "conflict", seq: null, current: now.stored };
    }
    seq += 1;
    // XOR the old item out (if any) and the new one in: O(1) per write, order-independent.
    const change = now ? xorDigest(now.item, item) : item;
    buckets.set(bucket, xorDigest(buckets.get(bucket) ?? EMPTY_DIGEST, change));
    root = xorDigest(root, change);
    records += now ? 0 : 1;
    bytes += size - (now?.size ?? 0);
    const entry: Entry = { stored: { ...version, seq }, bucket, item, size };
    state.set(key, entry);
    written.set(key, entry);
    return { kind, id, vhash, status: "accepted", seq, current: null };
  });
  const touched = new Set([...written.values()].map((entry) => entry.bucket));
  const changedBuckets = new Map([...buckets].filter(([bucket]) => touched.has(bucket)));
  return { results, writes: [...written.values()], buckets: changedBuckets, seq, root, records, bytes };
}
