/**
 * Request validation at the edge, mirroring the pydantic request models of protocol.py:
 * unknown fields are refused, integers and booleans are strict, patterns and lengths are the same.
 * Every failure is a 400 `Invalid request: <where>: <what>`; nothing malformed reaches the store.
 */

import { clockAhead, invalid } from "./errors";
import {
  BUCKETS,
  CanonicalError,
  CODE_PATTERN,
  EMAIL_PATTERN,
  HISTORY_DEPTH,
  HLC_PATTERN,
  ID_PATTERN,
  LABEL_PATTERN,
  KEY_SCOPES,
  KINDS,
  MAX_SHARE_CHARS,
  NAME_PATTERN,
  SEALED_PATTERN,
  SHARE_ID_PATTERN,
  STRENGTH_SCALE,
  VHASH_PATTERN,
  canonicalFields,
  canonicalVersion,
  sha256Hex,
  VHASH_PREFIX,
  type JsonObject,
  type KeyScope,
  type Kind,
  type Version,
} from "./protocol";

export interface DeviceInfo {
  device_id: string;
  name: string;
  platform: string;
}

export interface PushRequest {
  device: DeviceInfo;
  brain_name: string;
  /** Each version with its canonical text, computed once here and reused for size and storage. */
  records: CheckedVersion[];
  /** For a pushed version (by vhash), the versions its device replaced before pushing it. */
  replaces: Map<string, string[]>;
}

export interface CheckedVersion {
  version: Version;
  /** Canonical JSON of the whole version (vhash included): what max_record_bytes limits. */
  canonical: string;
  /** Canonical JSON of its body: what the hub stores. */
  body: string;
}

export interface PullRequest {
  device: DeviceInfo;
  brain_name: string;
  cursor: number;
  limit: number | null;
  exclude_device: boolean;
}

export interface RecordKey {
  kind: Kind;
  id: string;
}

/** Where a bucket listing stopped: the last entry of the previous page. */
export interface BucketPosition {
  bucket: number;
  kind: Kind;
  id: string;
}

export interface BucketsRequest {
  buckets: number[];
  after: BucketPosition | null;
  limit: number | null;
}

type Fields = Record<string, unknown>;

class Fail extends Error {
  constructor(
    readonly where: string,
    readonly what: string,
  ) {
    super(what);
  }
}

/** Run a validator; turn its first failure into the hub's 400. */
function checked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof Fail) throw invalid(`${error.where}: ${error.what}`);
    throw error;
  }
}

/** Where a failure is, as the Python hub names it: body.records.0.vhash, path.brain_id. */
const BODY = "body";
const at = (where: string, key: string | number) => `${where}.${key}`;

/** An opaque JSON object (a record body): its shape is checked here, its text by canonicalFields. */
function jsonObject(value: unknown, where: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Fail(where, "must be an object");
  }
  return value as JsonObject;
}

function object(value: unknown, where: string, allowed: readonly string[]): Fields {
  const fields = jsonObject(value, where);
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key)) throw new Fail(at(where, key), "extra fields not permitted");
  }
  return fields;
}

function required(fields: Fields, key: string, where: string): unknown {
  if (!(key in fields)) throw new Fail(at(where, key), "field required");
  return fields[key];
}

function pattern(value: unknown, where: string, re: RegExp): string {
  if (typeof value !== "string") throw new Fail(where, "must be a string");
  if (!re.test(value)) throw new Fail(where, `String should match pattern '${re.source}'`);
  return value;
}

/** A label (protocol.py Label): 1..64 characters, counted in code points as Python does. */
function label(value: unknown, where: string): string {
  if (typeof value !== "string") throw new Fail(where, "must be a string");
  const length = [...value].length;
  if (length < 1 || length > 64) throw new Fail(where, "must be 1 to 64 characters");
  if (!value.isWellFormed()) throw new Fail(where, "must not contain lone surrogates");
  return pattern(value, where, LABEL_PATTERN);
}

function integer(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new Fail(where, "must be an integer");
  }
  if (value < min || value > max) throw new Fail(where, `must be between ${min} and ${max}`);
  return value;
}

function boolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw new Fail(where, "must be a boolean");
  return value;
}

function list(value: unknown, where: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new Fail(where, "must be a list");
  if (value.length < min || value.length > max) {
    throw new Fail(where, `must hold ${min} to ${max} items`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, where: string, options: readonly T[]): T {
  if (!options.includes(value as T)) throw new Fail(where, `must be one of ${options.join(", ")}`);
  return value as T;
}

const kind = (value: unknown, where: string): Kind => oneOf(value, where, KINDS);

function device(value: unknown, where: string): DeviceInfo {
  const fields = object(value, where, ["device_id", "name", "platform"]);
  return {
    device_id: pattern(required(fields, "device_id", where), at(where, "device_id"), ID_PATTERN),
    name: label(required(fields, "name", where), at(where, "name")),
    platform: "platform" in fields ? label(fields.platform, at(where, "platform")) : "unknown",
  };
}

function brainName(fields: Fields): string {
  const given = fields.brain_name;
  return "brain_name" in fields ? pattern(given, at(BODY, "brain_name"), NAME_PATTERN) : "default";
}

const VERSION_FIELDS = [
  "kind",
  "id",
  "hlc",
  "device_id",
  "parent",
  "deleted",
  "strength",
  "body",
  "vhash",
] as const;

/** Shape checks of one version; the hash is checked by checkVersionHashes (it is async). */
function version(value: unknown, where: string): Version {
  const fields = object(value, where, VERSION_FIELDS);
  const field = (key: string) => at(where, key);
  const hlc = pattern(required(fields, "hlc", where), field("hlc"), HLC_PATTERN);
  const deviceId = pattern(required(fields, "device_id", where), field("device_id"), ID_PATTERN);
  const parent = fields.parent ?? null;
  const out: Version = {
    kind: kind(required(fields, "kind", where), field("kind")),
    id: pattern(required(fields, "id", where), field("id"), ID_PATTERN),
    hlc,
    device_id: deviceId,
    parent: parent === null ? null : pattern(parent, field("parent"), VHASH_PATTERN),
    deleted: "deleted" in fields ? boolean(fields.deleted, field("deleted")) : false,
    strength:
      "strength" in fields ? integer(fields.strength, field("strength"), 0, STRENGTH_SCALE) : 0,
    body: "body" in fields ? jsonObject(fields.body, field("body")) : {},
    vhash: pattern(required(fields, "vhash", where), field("vhash"), VHASH_PATTERN),
  };
  if (hlc.split("-").slice(2).join("-") !== deviceId) {
    throw new Fail(where, "hlc must end with the record's device_id");
  }
  if (out.deleted && Object.keys(out.body).length > 0) {
    throw new Fail(where, "a deleted record (tombstone) must have an empty body");
  }
  return out;
}

/** Canonical texts of each version and a check that its vhash is the hash of its fields. */
async function checkVersionHashes(versions: Version[]): Promise<CheckedVersion[]> {
  return Promise.all(
    versions.map(async (version, index) => {
      const where = `${BODY}.records.${index}`;
      let texts: { fields: string; body: string };
      try {
        texts = canonicalFields(version);
      } catch (error) {
        if (error instanceof CanonicalError) throw invalid(`${where}.body: ${error.message}`);
        throw error;
      }
      if (VHASH_PREFIX + (await sha256Hex(texts.fields)) !== version.vhash) {
        throw invalid(`${where}: vhash does not match the record's canonical form`);
      }
      return {
        version,
        canonical: canonicalVersion(texts.fields, version.vhash),
        body: texts.body,
      };
    }),
  );
}

/**
 * Refuse a push holding a version stamped more than `maxSkewMs` ahead of the hub's clock: taken
 * in, it would win every conflict until the world caught up with it (docs/protocol.md).
 */
export function checkClocks(versions: readonly Version[], now: number, maxSkewMs: number): void {
  versions.forEach((version, index) => {
    const ahead = Number(version.hlc.slice(0, 13)) - now;
    if (ahead > maxSkewMs) throw clockAhead(`${BODY}.records.${index}.hlc`, ahead, maxSkewMs);
  });
}

export async function parsePush(value: unknown): Promise<PushRequest> {
  const {
    device: dev,
    brain_name,
    versions,
    named,
  } = checked(() => {
    const fields = object(value, BODY, ["device", "brain_name", "records", "replaces"]);
    const where = at(BODY, "records");
    const records = list(required(fields, "records", BODY), where, 0, Number.MAX_SAFE_INTEGER);
    const versions = records.map((item, index) => version(item, at(where, index)));
    return {
      device: device(required(fields, "device", BODY), at(BODY, "device")),
      brain_name: brainName(fields),
      versions,
      named: "replaces" in fields ? replaces(fields.replaces, versions) : new Map(),
    };
  });
  return { device: dev, brain_name, records: await checkVersionHashes(versions), replaces: named };
}

/**
 * The push's `replaces`: for a pushed version (by vhash), 1..HISTORY_DEPTH vhashes of versions
 * its device replaced before pushing it (docs/protocol.md, "History"). Every key must name a
 * version of the push.
 */
function replaces(value: unknown, versions: readonly Version[]): Map<string, string[]> {
  const where = at(BODY, "replaces");
  const pushed = new Set(versions.map((v) => v.vhash));
  const named = new Map<string, string[]>();
  for (const [key, item] of Object.entries(jsonObject(value, where))) {
    pattern(key, `${at(where, key)}.[key]`, VHASH_PATTERN);
    const field = at(where, key);
    const vhashes = list(item, field, 1, HISTORY_DEPTH);
    named.set(
      key,
      vhashes.map((vhash, index) => pattern(vhash, at(field, index), VHASH_PATTERN)),
    );
  }
  if ([...named.keys()].some((key) => !pushed.has(key))) {
    throw new Fail(BODY, "replaces: every key must be the vhash of a version in records");
  }
  return named;
}

export function parsePull(value: unknown): PullRequest {
  return checked(() => {
    const fields = object(value, BODY, [
      "device",
      "brain_name",
      "cursor",
      "limit",
      "exclude_device",
    ]);
    const field = (key: string) => at(BODY, key);
    const limit = fields.limit ?? null;
    return {
      device: device(required(fields, "device", BODY), field("device")),
      brain_name: brainName(fields),
      cursor:
        "cursor" in fields
          ? integer(fields.cursor, field("cursor"), 0, Number.MAX_SAFE_INTEGER)
          : 0,
      limit: limit === null ? null : integer(limit, field("limit"), 1, Number.MAX_SAFE_INTEGER),
      exclude_device:
        "exclude_device" in fields
          ? boolean(fields.exclude_device, field("exclude_device"))
          : false,
    };
  });
}

/** A body holding one non-empty list `name` and nothing else: the items and where they are. */
function onlyList(value: unknown, name: string, max: number): [unknown[], string] {
  const where = at(BODY, name);
  return [list(required(object(value, BODY, [name]), name, BODY), where, 1, max), where];
}

const bucket = (value: unknown, where: string) => integer(value, where, 0, BUCKETS - 1);

function position(value: unknown, where: string): BucketPosition {
  const fields = object(value, where, ["bucket", "kind", "id"]);
  return {
    bucket: bucket(required(fields, "bucket", where), at(where, "bucket")),
    kind: kind(required(fields, "kind", where), at(where, "kind")),
    id: pattern(required(fields, "id", where), at(where, "id"), ID_PATTERN),
  };
}

export function parseBuckets(value: unknown): BucketsRequest {
  return checked(() => {
    const fields = object(value, BODY, ["buckets", "after", "limit"]);
    const where = at(BODY, "buckets");
    const buckets = list(required(fields, "buckets", BODY), where, 1, BUCKETS);
    const after = fields.after ?? null;
    const limit = fields.limit ?? null;
    return {
      buckets: buckets.map((item, index) => bucket(item, at(where, index))),
      after: after === null ? null : position(after, at(BODY, "after")),
      limit: limit === null ? null : integer(limit, at(BODY, "limit"), 1, Number.MAX_SAFE_INTEGER),
    };
  });
}

export function parseFetch(value: unknown): RecordKey[] {
  return checked(() => {
    const [keys, where] = onlyList(value, "keys", Number.MAX_SAFE_INTEGER);
    return keys.map((item, index) => {
      const key = object(item, at(where, index), ["kind", "id"]);
      return {
        kind: kind(required(key, "kind", at(where, index)), at(at(where, index), "kind")),
        id: pattern(required(key, "id", at(where, index)), at(at(where, index), "id"), ID_PATTERN),
      };
    });
  });
}

export interface RegisterRequest {
  email: string;
  /** Needed when the hub's registration is "invite". */
  invite: string | null;
}

export function parseRegister(value: unknown): RegisterRequest {
  return checked(() => {
    const fields = object(value, BODY, ["email", "invite"]);
    const email = required(fields, "email", BODY);
    if (typeof email === "string" && [...email].length > 254) {
      throw new Fail(at(BODY, "email"), "must be at most 254 characters");
    }
    const invite = fields.invite ?? null;
    return {
      email: pattern(email, at(BODY, "email"), EMAIL_PATTERN),
      invite: invite === null ? null : pattern(invite, at(BODY, "invite"), CODE_PATTERN),
    };
  });
}

export interface KeyCreateRequest {
  name: string;
  scope: KeyScope;
}

export function parseKeyCreate(value: unknown): KeyCreateRequest {
  return checked(() => {
    const fields = object(value, BODY, ["name", "scope"]);
    return {
      name: label(required(fields, "name", BODY), at(BODY, "name")),
      scope: "scope" in fields ? oneOf(fields.scope, at(BODY, "scope"), KEY_SCOPES) : "device",
    };
  });
}

/** Ids in paths follow the id pattern; anything else is a 400, never a lookup. */
export function parseId(value: string, name: string): string {
  return checked(() => pattern(value, `path.${name}`, ID_PATTERN));
}

/** PUT /v1/shares/{share_id}: the sealed key (protocol.py ShareRequest). */
export function parseShare(value: unknown): string {
  return checked(() => {
    const fields = object(value, BODY, ["sealed"]);
    const sealed = required(fields, "sealed", BODY);
    if (typeof sealed === "string" && (sealed.length < 1 || sealed.length > MAX_SHARE_CHARS)) {
      throw new Fail(at(BODY, "sealed"), `must be 1 to ${MAX_SHARE_CHARS} characters`);
    }
    return pattern(sealed, at(BODY, "sealed"), SEALED_PATTERN);
  });
}

/** A share id in a path: derived from a one-time code (protocol.py SHARE_ID_PATTERN). */
export function parseShareId(value: string): string {
  return checked(() => pattern(value, "path.share_id", SHARE_ID_PATTERN));
}
