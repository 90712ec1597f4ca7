/** Helpers for the HTTP tests: the Worker called through its real fetch handler, in workerd. */

import { exports } from "cloudflare:workers";
import { versionHash, type Json, type JsonObject, type Kind, type Version } from "../src/protocol";

export interface Reply {
  status: number;
  headers: Headers;
  // The tests read replies loosely, as a client would.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface CallOptions {
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | null = null;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await exports.default.fetch(`http://hub${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

const unique = () => crypto.randomUUID().slice(0, 8);

/** A fresh account; its first key. */
export async function register(): Promise<{ key: string; accountId: string }> {
  const reply = await call("POST", "/v1/auth/register", {
    body: { email: `u-${unique()}@example.com` },
  });
  if (reply.status !== 201)
    throw new Error(`register: ${reply.status} ${JSON.stringify(reply.body)}`);
  return { key: reply.body.api_key, accountId: reply.body.account_id };
}

export const newBrain = () => `brain-${unique()}`;

export const device = (id = "dev-a") => ({
  device_id: id,
  name: `${id} laptop`,
  platform: "linux",
});

let tick = 0;

/** A valid version of (kind, id) by `deviceId`, with a real vhash. */
export async function version(
  id: string,
  options: {
    kind?: Kind;
    deviceId?: string;
    parent?: string | null;
    body?: JsonObject;
    deleted?: boolean;
    strength?: number;
  } = {},
): Promise<Version> {
  const deviceId = options.deviceId ?? "dev-a";
  tick += 1;
  const fields = {
    kind: options.kind ?? "memory",
    id,
    hlc: `${String(1732460000000 + tick).padStart(13, "0")}-0000-${deviceId}`,
    device_id: deviceId,
    parent: options.parent ?? null,
    deleted: options.deleted ?? false,
    strength: options.strength ?? 0,
    body: options.deleted ? {} : (options.body ?? { content: `note ${id}` }),
  };
  return { ...fields, vhash: await versionHash(fields) };
}

export async function push(
  key: string,
  brain: string,
  records: Version[],
  deviceId = "dev-a",
): Promise<Reply> {
  return call("POST", `/v1/brains/${brain}/push`, {
    key,
    body: { device: device(deviceId), records } as unknown as Json,
  });
}

export async function pull(
  key: string,
  brain: string,
  extra: Record<string, unknown> = {},
  deviceId = "dev-a",
): Promise<Reply> {
  return call("POST", `/v1/brains/${brain}/pull`, {
    key,
    body: { device: device(deviceId), ...extra },
  });
}
