/**
 * What a sync costs on D1, measured: the figures in README.md's free-tier budget come from here
 * (run `npm test -- budget` to print them). The assertions hold the properties the budget rests
 * on: a constant number of queries per request, far under the free plan's 50, and a cost that
 * grows with what changed, never with the size of the brain.
 */

import { describe, expect, it } from "vitest";
import { LIMITS } from "../src/limits";
import { BUCKETS, type Version } from "../src/protocol";
import { device, newBrain, version } from "./hub";
import { meteredHub, type Usage } from "./meter";

const FREE_PLAN_QUERIES = 50;
const FULL = LIMITS.max_records_per_push;

/** A memory of a typical size: a few sentences, tags, type and times. */
const memoryBody = (n: number) => ({
  content:
    `Decision ${n}: keep the sync hub on D1; batches are sized by bytes and retried. `.repeat(4),
  type: "decision",
  tags: ["sync", "hub", `topic-${n % 17}`],
  priority: 5,
  created_at: 1732460000000 + n,
});

async function records(from: number, count: number, prefix = "m"): Promise<Version[]> {
  return Promise.all(
    Array.from({ length: count }, (_, n) =>
      version(`${prefix}-${from + n}`, { body: memoryBody(from + n) }),
    ),
  );
}

type Hub = ReturnType<typeof meteredHub>;

async function seeded(hub: Hub, size: number): Promise<{ key: string; brain: string }> {
  const { reply } = await hub("POST", "/v1/auth/register", null, {
    email: `${newBrain()}@example.com`,
  });
  const key = reply.api_key as string;
  const brain = newBrain();
  for (let from = 0; from < size; from += FULL) {
    const pushed = await hub("POST", `/v1/brains/${brain}/push`, key, {
      device: device("dev-a"),
      records: await records(from, Math.min(FULL, size - from)),
    });
    expect(pushed.status).toBe(200);
  }
  return { key, brain };
}

const show = (what: string, usage: Usage) =>
  console.info(
    `${what.padEnd(44)} queries ${String(usage.queries).padStart(2)}  rows read ${String(usage.rowsRead).padStart(5)}  rows written ${String(usage.rowsWritten).padStart(5)}`,
  );

describe("D1 cost per request", () => {
  it("is constant in queries and grows with the change, not the brain", async () => {
    const costs: Record<string, Usage[]> = {};
    for (const size of [200, 2500]) {
      const hub = meteredHub();
      const { key, brain } = await seeded(hub, size);
      const step = async (what: string, method: string, path: string, body?: unknown) => {
        const { status, reply, usage } = await hub(method, path, key, body);
        expect(status).toBe(200);
        (costs[what] ??= []).push(usage);
        show(`${what} (brain of ${size})`, usage);
        return reply;
      };
      const pulled = await step("pull, caught up", "POST", `/v1/brains/${brain}/pull`, {
        device: device("dev-b"),
        cursor: size,
        exclude_device: true,
      });
      const edits = await records(size, 4, "new");
      await step("push of 4 new records", "POST", `/v1/brains/${brain}/push`, {
        device: device("dev-a"),
        records: edits,
      });
      await step("pull of those 4 by the other device", "POST", `/v1/brains/${brain}/pull`, {
        device: device("dev-b"),
        cursor: pulled.cursor,
        exclude_device: true,
      });
      const changed = await Promise.all(
        edits.map((edit, n) => version(edit.id, { parent: edit.vhash, body: memoryBody(n + 1) })),
      );
      await step("push of 4 edits", "POST", `/v1/brains/${brain}/push`, {
        device: device("dev-a"),
        records: changed,
      });
      await step(`push of ${FULL} new records (a full push)`, "POST", `/v1/brains/${brain}/push`, {
        device: device("dev-a"),
        records: await records(size + 10, FULL, "bulk"),
      });
      await step("digest", "GET", `/v1/brains/${brain}/digest`);
      await step("status", "GET", "/v1/status");
    }
    for (const [what, [small, big]] of Object.entries(costs)) {
      expect(big!.queries, what).toBeLessThanOrEqual(FREE_PLAN_QUERIES / 4);
      expect(big!.queries, what).toBe(small!.queries);
      // Rows differ by index depth, new versus updated bucket rows and the once-a-second
      // last_used_at write: a few percent, never in proportion to the brain (12.5 times larger).
      // A digest reads one row per non-empty bucket: at most 257 (the root's row included),
      // besides the key, its counter and its account's.
      if (what === "digest") {
        expect(big!.rowsRead).toBeLessThanOrEqual(BUCKETS + 1 + 14);
        continue;
      }
      for (const rows of ["rowsRead", "rowsWritten"] as const) {
        expect(Math.abs(big![rows] - small![rows]), `${what}: ${rows}`).toBeLessThanOrEqual(
          5 + small![rows] / 10,
        );
      }
    }
  });

  it("stores a typical brain in little space", async () => {
    const hub = meteredHub();
    const before = (await hub("GET", "/v1/health", null)).usage.sizeAfter;
    const { key } = await seeded(hub, 2500);
    const after = (await hub("GET", "/v1/status", key)).usage.sizeAfter;
    const perRecord = (after - before) / 2500;
    console.info(
      `storage: ${Math.round(perRecord)} bytes per record of ~${JSON.stringify(memoryBody(1)).length} body bytes`,
    );
    expect(perRecord).toBeLessThan(2048);
  });
});
