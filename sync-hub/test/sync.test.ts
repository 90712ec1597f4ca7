import { describe, expect, it } from "vitest";
import { LIMITS } from "../src/limits";
import { EMPTY_DIGEST, bucketOf, itemDigest, xorDigest, type Version } from "../src/protocol";
import { call, newBrain, pull, push, register, version } from "./hub";

/** The root a set of current versions must have: the XOR of their item hashes. */
async function rootOf(versions: Version[]): Promise<string> {
  let root = EMPTY_DIGEST;
  for (const v of versions) root = xorDigest(root, await itemDigest(v.kind, v.id, v.vhash));
  return root;
}

describe("push: compare-and-swap", () => {
  it("accepts new records, acks a retry, fast-forwards, refuses a stale parent", async () => {
    const { key } = await register();
    const brain = newBrain();
    const a1 = await version("a");
    const b1 = await version("b");
    const first = await push(key, brain, [a1, b1]);
    expect(first.status).toBe(200);
    expect(
      first.body.results.map((r: { status: string; seq: number }) => [r.status, r.seq]),
    ).toEqual([
      ["accepted", 1],
      ["accepted", 2],
    ]);
    expect(first.body).toMatchObject({ seq: 2, root: await rootOf([a1, b1]) });

    const retry = await push(key, brain, [a1]);
    expect(retry.body.results[0]).toMatchObject({ status: "unchanged", seq: 1, current: null });
    expect(retry.body.seq).toBe(2);

    const a2 = await version("a", { parent: a1.vhash, deviceId: "dev-b" });
    const stale = await version("a", { parent: null, body: { content: "concurrent edit" } });
    const second = await push(key, brain, [a2, stale], "dev-b");
    expect(second.body.results[0]).toMatchObject({ status: "accepted", seq: 3 });
    expect(second.body.results[1]).toMatchObject({ status: "conflict", seq: null });
    expect(second.body.results[1].current).toEqual({ ...a2, seq: 3 });
    expect(second.body.root).toBe(await rootOf([a2, b1]));
  });

  it("applies successive edits of one record within one push, in order", async () => {
    const { key } = await register();
    const brain = newBrain();
    const v1 = await version("x");
    const v2 = await version("x", { parent: v1.vhash });
    const v3 = await version("x", { parent: v2.vhash, deleted: true });
    const reply = await push(key, brain, [v1, v2, v3]);
    expect(reply.body.results.map((r: { seq: number }) => r.seq)).toEqual([1, 2, 3]);
    const fetched = await call("POST", `/v1/brains/${brain}/fetch`, {
      key,
      body: { keys: [{ kind: "memory", id: "x" }] },
    });
    expect(fetched.body.records).toEqual([{ ...v3, seq: 3 }]);
    const info = await call("GET", `/v1/brains/${brain}`, { key });
    expect(info.body).toMatchObject({ records: 1, seq: 3, root: await rootOf([v3]), devices: 1 });
  });

  it("refuses the whole request when one vhash is wrong, writing nothing", async () => {
    const { key } = await register();
    const brain = newBrain();
    const good = await version("good");
    const bad = { ...(await version("bad")), vhash: `v1:${"0".repeat(64)}` };
    const reply = await push(key, brain, [good, bad]);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe(
      "Invalid request: body.records.1: vhash does not match the record's canonical form",
    );
    expect((await call("GET", `/v1/brains/${brain}/digest`, { key })).status).toBe(404);
  });

  it.each([
    ["kind", { kind: "neuron" }],
    ["id", { id: "../etc/passwd" }],
    ["strength", { strength: 1_000_001 }],
    ["strength", { strength: "5" }],
    ["hlc", { hlc: "yesterday" }],
    ["deleted", { deleted: "yes" }],
    ["extra", { extra: 1 }],
    ["body", { body: { a: 1.5 } }],
    ["body", { body: [1] }],
  ])("400 naming %s for an invalid version", async (field, change) => {
    const { key } = await register();
    const reply = await push(key, newBrain(), [{ ...(await version("v")), ...change } as Version]);
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe("invalid_request");
    expect(reply.body.error).toContain(`body.records.0.${field}`);
  });

  it("refuses an hlc that does not name its author and a tombstone with a body", async () => {
    const { key } = await register();
    const wrongAuthor = await version("h", { deviceId: "dev-a" });
    const forged = { ...wrongAuthor, hlc: wrongAuthor.hlc.replace("dev-a", "dev-z") };
    expect((await push(key, newBrain(), [forged])).body.error).toContain("hlc must end with");
    const tombstone = { ...(await version("t", { deleted: true })), body: { content: "kept?" } };
    expect((await push(key, newBrain(), [tombstone])).body.error).toContain("tombstone");
  });

  it("stays correct under concurrent pushes: one winner per parent, seq gapless", async () => {
    const { key } = await register();
    const brain = newBrain();
    const base = await version("shared");
    await push(key, brain, [base]);
    const edits = await Promise.all(
      Array.from({ length: 8 }, (_, n) => version("shared", { parent: base.vhash, body: { n } })),
    );
    const extra = await Promise.all(Array.from({ length: 8 }, (_, n) => version(`own-${n}`)));
    const replies = await Promise.all(edits.map((edit, n) => push(key, brain, [edit, extra[n]!])));
    const statuses = replies.map((r) => r.body.results[0].status);
    expect(statuses.filter((s) => s === "accepted")).toHaveLength(1);
    expect(statuses.filter((s) => s === "conflict")).toHaveLength(7);
    const seqs = replies.flatMap((r) =>
      r.body.results
        .filter((x: { status: string }) => x.status === "accepted")
        .map((x: { seq: number }) => x.seq),
    );
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, n) => n + 2));
    const winner = edits[statuses.indexOf("accepted")]!;
    const digest = await call("GET", `/v1/brains/${brain}/digest`, { key });
    expect(digest.body).toMatchObject({
      seq: 10,
      records: 9,
      root: await rootOf([winner, ...extra]),
    });
  });
});

describe("pull: the changes feed", () => {
  it("pages by cursor with more, and skips the caller's own versions when asked", async () => {
    const { key } = await register();
    const brain = newBrain();
    const mine = await Promise.all([1, 2, 3].map((n) => version(`m${n}`, { deviceId: "dev-a" })));
    const theirs = await Promise.all([1, 2].map((n) => version(`t${n}`, { deviceId: "dev-b" })));
    await push(key, brain, mine, "dev-a");
    await push(key, brain, theirs, "dev-b");

    const page1 = await pull(key, brain, { cursor: 0, limit: 2 });
    expect(page1.body).toMatchObject({ cursor: 2, more: true, seq: 5 });
    expect(page1.body.records).toEqual([
      { ...mine[0], seq: 1 },
      { ...mine[1], seq: 2 },
    ]);
    const page2 = await pull(key, brain, { cursor: 2, limit: 2 });
    expect(page2.body).toMatchObject({ cursor: 4, more: true });
    const page3 = await pull(key, brain, { cursor: 4, limit: 2 });
    expect(page3.body).toMatchObject({ cursor: 5, more: false });
    expect(page3.body.records).toHaveLength(1);

    const others = await pull(key, brain, { cursor: 0, exclude_device: true });
    expect(others.body.records.map((r: { id: string }) => r.id)).toEqual(["t1", "t2"]);
    expect(others.body).toMatchObject({ cursor: 5, more: false });

    const ownTail = await pull(key, brain, { cursor: 0, exclude_device: true }, "dev-b");
    expect(ownTail.body).toMatchObject({ cursor: 5, more: false }); // moves past its own versions
    expect(ownTail.body.records.map((r: { id: string }) => r.id)).toEqual(["m1", "m2", "m3"]);

    const empty = await pull(key, brain, { cursor: 5 });
    expect(empty.body).toMatchObject({ records: [], cursor: 5, more: false });
  });

  it("records each device's cursor and last sync", async () => {
    const { key } = await register();
    const brain = newBrain();
    await push(key, brain, [await version("d1")], "dev-a");
    await pull(key, brain, {}, "dev-b");
    const devices = await call("GET", `/v1/brains/${brain}/devices`, { key });
    expect(devices.body.devices).toHaveLength(2);
    const [a, b] = devices.body.devices;
    expect(a).toMatchObject({
      device_id: "dev-a",
      name: "dev-a laptop",
      platform: "linux",
      cursor: 0,
    });
    expect(b).toMatchObject({ device_id: "dev-b", cursor: 1 });
    expect(b.last_sync_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("caps limit at max_page_size and refuses a negative cursor", async () => {
    const { key } = await register();
    const brain = newBrain();
    expect((await pull(key, brain, { cursor: -1 })).status).toBe(400);
    expect((await pull(key, brain, { limit: 0 })).status).toBe(400);
    expect((await pull(key, brain, { limit: 10_000 })).status).toBe(200);
  });
});

describe("digest, buckets and fetch", () => {
  it("keeps every bucket digest equal to the XOR of its records' items", async () => {
    const { key } = await register();
    const brain = newBrain();
    const versions = await Promise.all(Array.from({ length: 20 }, (_, n) => version(`r${n}`)));
    await push(key, brain, versions);
    const edited = await version("r0", { parent: versions[0]!.vhash });
    await push(key, brain, [edited]);
    const current = [edited, ...versions.slice(1)];

    const digest = await call("GET", `/v1/brains/${brain}/digest`, { key });
    expect(digest.body.buckets).toHaveLength(256);
    expect(digest.body).toMatchObject({ root: await rootOf(current), seq: 21, records: 20 });
    const expected = Array<string>(256).fill(EMPTY_DIGEST);
    for (const v of current) {
      const bucket = await bucketOf(v.kind, v.id);
      expected[bucket] = xorDigest(expected[bucket]!, await itemDigest(v.kind, v.id, v.vhash));
    }
    expect(digest.body.buckets).toEqual(expected);

    const wanted = [await bucketOf("memory", "r0"), await bucketOf("memory", "r1")];
    const entries = await call("POST", `/v1/brains/${brain}/buckets`, {
      key,
      body: { buckets: wanted },
    });
    const ids = entries.body.entries.map((e: { id: string }) => e.id);
    expect(ids).toContain("r0");
    expect(entries.body.entries.find((e: { id: string }) => e.id === "r0")).toEqual({
      bucket: wanted[0],
      kind: "memory",
      id: "r0",
      vhash: edited.vhash,
      seq: 21,
    });
  });

  it("fetches in the order asked, omitting absent keys", async () => {
    const { key } = await register();
    const brain = newBrain();
    const [x, y] = [await version("x"), await version("y", { kind: "link" })];
    await push(key, brain, [x, y]);
    const keys = [
      { kind: "link", id: "y" },
      { kind: "memory", id: "nope" },
      { kind: "memory", id: "x" },
      { kind: "link", id: "y" },
    ];
    const reply = await call("POST", `/v1/brains/${brain}/fetch`, { key, body: { keys } });
    expect(reply.body.records).toEqual([
      { ...y, seq: 2 },
      { ...x, seq: 1 },
    ]);
  });
});

describe("ownership", () => {
  it("answers 403 Access denied to another account on every brain endpoint", async () => {
    const owner = await register();
    const other = await register();
    const brain = newBrain();
    await push(owner.key, brain, [await version("secret")]);
    const attempts = [
      push(other.key, brain, [await version("intruder")]),
      pull(other.key, brain),
      call("GET", `/v1/brains/${brain}`, { key: other.key }),
      call("GET", `/v1/brains/${brain}/digest`, { key: other.key }),
      call("POST", `/v1/brains/${brain}/buckets`, { key: other.key, body: { buckets: [0] } }),
      call("POST", `/v1/brains/${brain}/fetch`, {
        key: other.key,
        body: { keys: [{ kind: "memory", id: "secret" }] },
      }),
      call("GET", `/v1/brains/${brain}/devices`, { key: other.key }),
    ];
    for (const reply of await Promise.all(attempts)) {
      expect(reply.status).toBe(403);
      expect(reply.body).toEqual({ error: "Access denied", code: "access_denied" });
    }
    const listed = await call("GET", "/v1/brains", { key: other.key });
    expect(listed.body.brains).toEqual([]);
  });

  it("lets only a push with records claim a brain: a pull or an empty push writes nothing", async () => {
    const early = await register();
    const owner = await register();
    const brain = newBrain();
    const empty = await pull(early.key, brain, { cursor: 3 });
    expect(empty.body).toEqual({ records: [], cursor: 0, more: false, seq: 0, root: EMPTY_DIGEST });
    const nothing = await push(early.key, brain, []);
    expect(nothing.body).toEqual({ results: [], seq: 0, root: EMPTY_DIGEST });
    expect((await call("GET", "/v1/brains", { key: early.key })).body.brains).toEqual([]);
    const v = await version("mine");
    expect((await push(owner.key, brain, [v])).body.results[0].status).toBe("accepted");
    for (const reply of [await pull(early.key, brain), await push(early.key, brain, [])]) {
      expect(reply.status).toBe(403);
    }
    const devices = await call("GET", `/v1/brains/${brain}/devices`, { key: owner.key });
    expect(devices.body.devices).toHaveLength(1);
  });

  it("answers 404 Brain not found for an id nobody synced, and 400 for a bad id", async () => {
    const { key } = await register();
    for (const path of ["", "/digest", "/devices"]) {
      const reply = await call("GET", `/v1/brains/${newBrain()}${path}`, { key });
      expect(reply.status).toBe(404);
      expect(reply.body.error).toBe("Brain not found");
    }
    const bad = await call("GET", "/v1/brains/-bad-/digest", { key });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("path.brain_id");
  });
});

describe("status and usage", () => {
  it("reports the account's brains, records, bytes, devices and requests today", async () => {
    const { key, accountId } = await register();
    const v = await version("u");
    await push(key, newBrain(), [v], "dev-a");
    await push(key, newBrain(), [await version("w")], "dev-a");
    const status = await call("GET", "/v1/status", { key });
    expect(status.body).toMatchObject({ account_id: accountId, tier: "free" });
    expect(status.body.usage).toMatchObject({
      brains: 2,
      records: 2,
      devices: 1,
      requests_today: 3,
    });
    expect(status.body.usage.bytes).toBeGreaterThan(0);
    expect(status.body.limits).toEqual(LIMITS);
  });
});
