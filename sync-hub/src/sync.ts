/**
 * The brain-scoped operations behind the routes: ownership, CAS push and the changes feed.
 * Each takes validated input and returns the wire reply; index.ts only parses and formats.
 */

import { brainOwner, claimBrain, readHeld, upsertDevice, type Held } from "./db";
import { HubError, MSG, bookkeeping, denied, notFound, quotaExceeded, tooLarge } from "./errors";
import { LIMITS } from "./limits";
import {
  EMPTY_DIGEST,
  bucketOf,
  itemDigest,
  utf8Length,
  type Limits,
  type StoredVersion,
} from "./protocol";
import { planPush, type Incoming, type Plan, type PushResult } from "./push";
import { applyPush, readPage, readSnapshot } from "./records";
import type { Caller } from "./auth";
import type { PullRequest, PushRequest } from "./wire";

/** Concurrent pushes changed this push's records this many times in a row: ask to come back. */
const PUSH_ATTEMPTS = 5;

/**
 * Whether the caller's brain exists: false if nobody has pushed to it, 403 if another account
 * owns it. Only a push with records claims a brain (below), so learning an id by pulling it or
 * pushing nothing lets nobody lock its owner out.
 */
async function known(db: D1Database, caller: Caller, brainId: string): Promise<boolean> {
  const owner = await brainOwner(db, brainId);
  if (owner !== null && owner !== caller.accountId) throw denied();
  return owner !== null;
}

/** 403 for another account's brain, 404 for an id nobody has synced. */
export async function requireBrain(db: D1Database, caller: Caller, brainId: string): Promise<void> {
  if (!(await known(db, caller, brainId))) throw notFound(MSG.brainNotFound);
}

export interface PushReply {
  results: PushResult[];
  seq: number;
  root: string;
}

/**
 * 413 quota_exceeded for a plan that takes the account past a quota. Each total must end within
 * its quota or not grow, so at the quota edits that shrink, retries and deletions still land.
 * The totals are the snapshot's: concurrent pushes to other brains of the account may each pass
 * and overshoot by one push, a bound the quota tolerates (docs/protocol.md, Quotas).
 */
function checkQuota(limits: Limits, held: Held, plan: Plan): void {
  const records = limits.max_account_records;
  if (records > 0 && plan.records > 0 && held.records + plan.records > records) {
    throw quotaExceeded("records", held.records, records, plan.records);
  }
  const bytes = limits.max_account_bytes;
  if (bytes > 0 && plan.bytes > 0 && held.bytes + plan.bytes > bytes) {
    throw quotaExceeded("bytes", held.bytes, bytes, plan.bytes);
  }
}

export async function push(
  db: D1Database,
  caller: Caller,
  brainId: string,
  request: PushRequest,
  now: number,
  limits: Limits,
): Promise<PushReply> {
  if (request.records.length > LIMITS.max_records_per_push) throw tooLarge();
  const incoming = await Promise.all(
    request.records.map(async ({ version, canonical, body }): Promise<Incoming> => {
      const size = utf8Length(canonical);
      if (size > LIMITS.max_record_bytes) throw tooLarge();
      return {
        version,
        bucket: await bucketOf(version.kind, version.id),
        item: await itemDigest(version.kind, version.id, version.vhash),
        size,
        body,
        replaces: request.replaces.get(version.vhash) ?? [],
      };
    }),
  );
  if (!(await known(db, caller, brainId))) {
    // Nothing to store claims nothing and registers no device.
    if (incoming.length === 0) return { results: [], seq: 0, root: EMPTY_DIGEST };
    // Over the quota, even the claim must not be written: every record is new to this brain.
    checkQuota(limits, await readHeld(db, caller.accountId), planPush(new Map(), incoming, 0));
    // Two first pushes may race: the loser's claim finds the winner's brain.
    const owner = await claimBrain(db, brainId, caller.accountId, request.brain_name, now);
    if (owner !== caller.accountId) throw denied();
  }
  const device = upsertDevice(db, brainId, request.device, now, null);
  for (let attempt = 0; attempt < PUSH_ATTEMPTS; attempt++) {
    const snapshot = await readSnapshot(db, brainId, incoming);
    const plan = planPush(snapshot.current, incoming, 0);
    checkQuota(limits, snapshot.held, plan);
    if (plan.accepted === 0) {
      // Nothing to swap: the snapshot is the answer, and a push that stores nothing needs no
      // room (a retry of what the hub holds goes through on a full disk).
      await bookkeeping("the device's last sync", () => device.run());
      return { results: plan.results, seq: snapshot.head.seq, root: snapshot.head.root };
    }
    const head = await applyPush(db, brainId, incoming, snapshot, plan, device, now);
    if (head) {
      // The same decisions, numbered from the seq the brain had just before this push landed.
      const { results } = planPush(snapshot.current, incoming, head.seq - plan.accepted);
      return { results, seq: head.seq, root: head.root };
    }
  }
  throw new HubError(503, "busy", "Hub busy, retry", 1);
}

export interface PullReply {
  records: StoredVersion[];
  cursor: number;
  more: boolean;
  seq: number;
  root: string;
}

export async function pull(
  db: D1Database,
  caller: Caller,
  brainId: string,
  request: PullRequest,
  now: number,
): Promise<PullReply> {
  if (!(await known(db, caller, brainId))) {
    // Nobody has pushed to it: an empty page, and nothing written (no brain, no device).
    return { records: [], cursor: 0, more: false, seq: 0, root: EMPTY_DIGEST };
  }
  const limit = Math.min(request.limit ?? LIMITS.page_size, LIMITS.max_page_size);
  const skip = request.exclude_device ? request.device.device_id : null;
  const page = await readPage(db, brainId, request.cursor, limit, skip);
  // As the Python hub: mid-feed, the last record sent; at the end, the brain's seq, so a device
  // that skips its own versions still moves past them.
  const last = page.records.at(-1)?.seq ?? 0;
  const cursor = page.more ? last : Math.max(page.head.seq, last);
  await bookkeeping("the device's cursor", () =>
    upsertDevice(db, brainId, request.device, now, cursor).run(),
  );
  return {
    records: page.records,
    cursor,
    more: page.more,
    seq: page.head.seq,
    root: page.head.root,
  };
}
