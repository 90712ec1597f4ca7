/**
 * The compare-and-swap decision for one push, as pure data: given the current versions of the
 * records a push touches, decide each pushed version in order exactly as docs/protocol.md says
 * (a push may carry successive edits of one record), and compute what to write. Everything it
 * returns besides the decisions is a change relative to the brain (seqs after `firstSeq`, XOR
 * deltas, counter increments), which is what lets records.ts apply it without a whole-brain lock.
 */

import {
  EMPTY_DIGEST,
  inHistory,
  nextHistory,
  xorDigest,
  type StoredVersion,
  type Version,
} from "./protocol";

/** Bucket number of the brain's root digest in the buckets table (the XOR of all 256). */
export const ROOT_BUCKET = 256;

/** What the digest, the counters and the store need of a version besides the version itself. */
interface Derived {
  bucket: number;
  item: string;
  /** Canonical byte length of the whole version. */
  size: number;
  /** Canonical text of the body, as stored. */
  body: string;
}

/** A record as the planner sees it: its stored form, what is derived from it, and the vhashes
 * it held before (protocol.ts nextHistory). */
export interface Entry extends Derived {
  stored: StoredVersion;
  history: string;
}

/** A pushed version, validated, with what is derived from it. */
export interface Incoming extends Derived {
  version: Version;
  /** The vhashes its device replaced before pushing it (the push's `replaces`), kept in the
   * record's history when it is accepted (docs/protocol.md, "History"). */
  replaces: readonly string[];
}

export interface PushResult {
  kind: string;
  id: string;
  vhash: string;
  status: "accepted" | "unchanged" | "conflict";
  seq: number | null;
  current: StoredVersion | null;
  /** On conflict: the record held the pushed version before its current one (an ancestor). */
  superseded: boolean;
}

export interface Plan {
  results: PushResult[];
  /** The final state of every record this push changed (a record pushed twice is written once). */
  writes: Entry[];
  /** How many versions were accepted: the brain's seq grows by this much. */
  accepted: number;
  /** XOR of the items leaving and entering each touched bucket, and ROOT_BUCKET's for the root. */
  deltas: Map<number, string>;
  /** Increments of the brain's record count and byte total. */
  records: number;
  bytes: number;
}

export const recordKey = (kind: string, id: string) => `${kind}:${id}`;

/**
 * Plan `incoming` against `current` (by recordKey), numbering accepted versions from
 * `firstSeq + 1`. The decisions depend only on `current`, so planning again with another
 * `firstSeq` gives the same plan with other seqs.
 */
export function planPush(
  current: ReadonlyMap<string, Entry>,
  incoming: readonly Incoming[],
  firstSeq: number,
): Plan {
  const state = new Map(current);
  const deltas = new Map<number, string>();
  const written = new Map<string, Entry>();
  let [seq, records, bytes] = [firstSeq, 0, 0];
  const fold = (bucket: number, change: string) =>
    deltas.set(bucket, xorDigest(deltas.get(bucket) ?? EMPTY_DIGEST, change));
  const results = incoming.map(({ version, replaces, ...derived }): PushResult => {
    const { bucket, item, size } = derived;
    const key = recordKey(version.kind, version.id);
    const { kind, id, vhash } = version;
    const now = state.get(key);
    if (now && now.stored.vhash === vhash) {
      const seq = now.stored.seq;
      return { kind, id, vhash, status: "unchanged", seq, current: null, superseded: false };
    }
    if (now && now.stored.vhash !== version.parent) {
      const superseded = inHistory(now.history, vhash);
      return { kind, id, vhash, status: "conflict", seq: null, current: now.stored, superseded };
    }
    seq += 1;
    // The old item out (if any) and the new one in: O(1) per write, in any order.
    const change = now ? xorDigest(now.item, item) : item;
    fold(bucket, change);
    fold(ROOT_BUCKET, change);
    records += now ? 0 : 1;
    bytes += size - (now?.size ?? 0);
    const history = now
      ? nextHistory(kind, now.history, now.stored.vhash, replaces)
      : nextHistory(kind, "", null, replaces);
    const entry: Entry = { stored: { ...version, seq }, ...derived, history };
    state.set(key, entry);
    written.set(key, entry);
    return { kind, id, vhash, status: "accepted", seq, current: null, superseded: false };
  });
  const writes = [...written.values()];
  return { results, writes, accepted: seq - firstSeq, deltas, records, bytes };
}
