import { describe, expect, it } from "vitest";
import { LIMITS } from "../src/limits";
import { newBrain, pull, push, call, register, version } from "./hub";

const DEVICE_KEY =
  "This is a device key: it can only sync. Manage keys with an admin key (the one made at " +
  "registration, or `nmem hub keys create` on the hub machine).";

describe("accounts and keys", () => {
  it("registers an account with a first key shown once, and refuses the same email", async () => {
    const email = `me-${crypto.randomUUID()}@example.com`;
    const first = await call("POST", "/v1/auth/register", { body: { email } });
    expect(first.status).toBe(201);
    expect(first.body.api_key).toMatch(/^nmk_[A-Za-z0-9]{40}$/);
    expect(first.body.key_prefix).toBe(first.body.api_key.slice(0, 12));
    expect(first.body.email).toBe(email);
    const again = await call("POST", "/v1/auth/register", { body: { email } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: "Email already registered", code: "conflict" });
  });

  it("creates, lists and revokes keys; a revoked key gets 401", async () => {
    const { key } = await register();
    const created = await call("POST", "/v1/auth/keys", { key, body: { name: "work-laptop" } });
    expect(created.status).toBe(201);
    expect(created.body.scope).toBe("device");
    const second = created.body.api_key as string;
    expect((await call("GET", "/v1/status", { key: second })).status).toBe(200);
    const listed = await call("GET", "/v1/auth/keys", { key });
    expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual([
      "default",
      "work-laptop",
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(second); // only the prefix is ever shown
    expect(listed.body.keys[1].last_used_at).not.toBeNull();
    const revoked = await call("DELETE", `/v1/auth/keys/${created.body.key_id}`, { key });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ key_id: created.body.key_id, revoked: true });
    const refused = await call("GET", "/v1/status", { key: second });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: "Invalid or expired API key", code: "invalid_key" });
    const after = await call("GET", "/v1/auth/keys", { key });
    expect(after.body.keys[1]).toMatchObject({
      revoked: true,
      revoked_at: revoked.body.revoked_at,
    });
  });

  it("lets a device key sync but not manage keys", async () => {
    const { key } = await register();
    const made = await call("POST", "/v1/auth/keys", { key, body: { name: "phone" } });
    const phone = made.body.api_key as string;
    const attempts = [
      await call("POST", "/v1/auth/keys", { key: phone, body: { name: "mine", scope: "admin" } }),
      await call("GET", "/v1/auth/keys", { key: phone }),
      await call("DELETE", `/v1/auth/keys/${made.body.key_id}`, { key: phone }),
    ];
    for (const reply of attempts) {
      expect(reply.status).toBe(403);
      expect(reply.body).toEqual({ error: DEVICE_KEY, code: "access_denied" });
    }
    const brain = newBrain();
    expect((await push(phone, brain, [await version("p")])).status).toBe(200);
    expect((await pull(phone, brain)).body.records).toHaveLength(1);
    const keys = await call("GET", "/v1/auth/keys", { key });
    expect(keys.body.keys.map((k: { scope: string }) => k.scope)).toEqual(["admin", "device"]);
  });

  it("keeps one admin key: the last cannot be revoked, even by two revocations at once", async () => {
    const { key } = await register();
    const first = (await call("GET", "/v1/auth/keys", { key })).body.keys[0].key_id;
    const alone = await call("DELETE", `/v1/auth/keys/${first}`, { key });
    expect(alone.status).toBe(409);
    expect(alone.body).toEqual({
      error: "Cannot revoke the last admin key: create another admin key first",
      code: "conflict",
    });
    const made = await call("POST", "/v1/auth/keys", {
      key,
      body: { name: "ops", scope: "admin" },
    });
    expect(made.body.scope).toBe("admin");
    const both = await Promise.all([
      call("DELETE", `/v1/auth/keys/${first}`, { key }),
      call("DELETE", `/v1/auth/keys/${made.body.key_id}`, { key: made.body.api_key }),
    ]);
    expect(both.map((reply) => reply.status).sort()).toEqual([200, 409]);
  });

  it("holds at most max_keys_per_account unrevoked keys", async () => {
    const { key } = await register();
    for (let n = 1; n < LIMITS.max_keys_per_account; n++) {
      expect((await call("POST", "/v1/auth/keys", { key, body: { name: `k${n}` } })).status).toBe(
        201,
      );
    }
    const over = await call("POST", "/v1/auth/keys", { key, body: { name: "over" } });
    expect(over.status).toBe(409);
    expect(over.body).toEqual({
      error: `Key limit reached: an account may hold ${LIMITS.max_keys_per_account} active keys; revoke unused ones first`,
      code: "conflict",
    });
    const keys = (await call("GET", "/v1/auth/keys", { key })).body.keys;
    expect(keys).toHaveLength(LIMITS.max_keys_per_account);
    await call("DELETE", `/v1/auth/keys/${keys[1].key_id}`, { key });
    expect((await call("POST", "/v1/auth/keys", { key, body: { name: "again" } })).status).toBe(
      201,
    );
  });

  it("answers 404 for another account's key and leaves it alone", async () => {
    const mine = await register();
    const theirs = await register();
    const keys = await call("GET", "/v1/auth/keys", { key: theirs.key });
    const theirKey = keys.body.keys[0].key_id;
    const attempt = await call("DELETE", `/v1/auth/keys/${theirKey}`, { key: mine.key });
    expect(attempt.status).toBe(404);
    expect(attempt.body.error).toBe("Key not found");
    expect((await call("GET", "/v1/auth/keys", { key: theirs.key })).status).toBe(200);
  });

  it.each([
    ["no header", undefined],
    ["unknown key", `Bearer nmk_${"x".repeat(40)}`],
    ["malformed key", "Bearer nmk_short"],
    ["wrong scheme", `Basic nmk_${"x".repeat(40)}`],
  ])("401 for %s", async (_, authorization) => {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const reply = await call("GET", "/v1/status", { headers });
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe("Invalid or expired API key");
  });

  it("accepts the bearer scheme in any case", async () => {
    const { key } = await register();
    const reply = await call("GET", "/v1/status", { headers: { authorization: `bearer ${key}` } });
    expect(reply.status).toBe(200);
  });

  it("validates register and key bodies", async () => {
    const bad = await call("POST", "/v1/auth/register", { body: { email: "not-an-email" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^Invalid request: body\.email/);
    const { key } = await register();
    const empty = await call("POST", "/v1/auth/keys", { key, body: { name: "" } });
    expect(empty.status).toBe(400);
    const extra = await call("POST", "/v1/auth/keys", { key, body: { name: "x", admin: true } });
    expect(extra.body.error).toContain("body.admin");
    const scope = await call("POST", "/v1/auth/keys", { key, body: { name: "x", scope: "root" } });
    expect(scope.status).toBe(400);
    expect(scope.body.error).toContain("body.scope");
  });
});
