import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upsertDevice } from "../src/db";
import {
  bucketOf,
  canonicalFields,
  canonicalVersion,
  itemDigest,
  utf8Length,
  type Version,
} from "../src/protocol";
import { planPush, type Incoming } from "../src/push";
import { applyPush, readSnapshot } from "../src/records";
import { call, device, newBrain, push, register, version } from "./hub";

async function incoming(v: Version): Promise<Incoming> {
  const { fields, body } = canonicalFields(v);
  return {
    version: v,
    bucket: await bucketOf(v.kind, v.id),
    item: await itemDigest(v.kind, v.id, v.vhash),
    size: utf8Length(canonicalVersion(fields, v.vhash)),
    body,
    replaces: [],
  };
}

/** Read a snapshot for `v`, let `meanwhile` run, then try to write the stale plan. */
async function racedPush(brain: string, v: Version, meanwhile: () => Promise<unknown>) {
  const pushed = [await incoming(v)];
  const snapshot = await readSnapshot(env.DB, brain, pushed);
  const plan = planPush(snapshot.current, pushed, 0);
  await meanwhile();
  const stamp = upsertDevice(env.DB, brain, device("dev-race"), Date.now(), null);
  return applyPush(env.DB, brain, pushed, snapshot, plan, stamp, Date.now());
}

describe("CAS on D1 batches", () => {
  it("writes nothing when a record it decided on changed after it was read", async () => {
    const { key } = await register();
    const brain = newBrain();
    const base = await version("r");
    await push(key, brain, [base]);
    const mine = await version("r", { parent: base.vhash, body: { by: "me" } });
    const theirs = await version("r", { parent: base.vhash, body: { by: "them" } });
    const head = await racedPush(brain, mine, () => push(key, brain, [theirs]));
    expect(head).toBeNull();
    const fetched = await call("POST", `/v1/brains/${brain}/fetch`, {
      key,
      body: { keys: [{ kind: "memory", id: "r" }] },
    });
    expect(fetched.body.records).toEqual([{ ...theirs, seq: 2 }]);
    const info = await call("GET", `/v1/brains/${brain}`, { key });
    expect(info.body).toMatchObject({ seq: 2, records: 1 });
  });

  it("lands on top of a concurrent push that touched other records, without a retry", async () => {
    const { key } = await register();
    const brain = newBrain();
    await push(key, brain, [await version("first")]);
    const mine = await version("mine");
    const other = await version("other");
    const head = await racedPush(brain, mine, () => push(key, brain, [other]));
    expect(head).toMatchObject({ seq: 3, records: 3 });
    const fetched = await call("POST", `/v1/brains/${brain}/fetch`, {
      key,
      body: { keys: [{ kind: "memory", id: "mine" }] },
    });
    expect(fetched.body.records).toEqual([{ ...mine, seq: 3 }]);
    const digest = await call("GET", `/v1/brains/${brain}/digest`, { key });
    expect(digest.body.root).toBe(head!.root);
  });
});
