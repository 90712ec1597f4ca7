import { describe, expect, it } from "vitest";
import { call, register } from "./hub";

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
    const second = created.body.api_key as string;
    const listed = await call("GET", "/v1/auth/keys", { key: second });
    expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual([
      "default",
      "work-laptop",
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(second); // only the prefix is ever shown
    expect(listed.body.keys[1].last_used_at).not.toBeNull();
    const revoked = await call("DELETE", `/v1/auth/keys/${created.body.key_id}`, { key });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ key_id: created.body.key_id, revoked: true });
    const refused = await call("GET", "/v1/auth/keys", { key: second });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: "Invalid or expired API key", code: "invalid_key" });
    const after = await call("GET", "/v1/auth/keys", { key });
    expect(after.body.keys[1]).toMatchObject({
      revoked: true,
      revoked_at: revoked.body.revoked_at,
    });
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
  });
});
