import { describe, expect, it } from "vitest";
import {
  EMPTY_DIGEST,
  HISTORY_DEPTH,
  HISTORY_KINDS,
  bucketOf,
  canonicalFields,
  canonicalJson,
  canonicalVersion,
  compareCodePoints,
  hashedFields,
  KINDS,
  MAX_SHARE_CHARS,
  MAX_SHARES_PER_ACCOUNT,
  PATHS,
  SHARE_ID_PATTERN,
  SHARE_TTL_MS,
  inHistory,
  isoMs,
  itemDigest,
  maskKey,
  nextHistory,
  normalCode,
  versionHash,
  xorDigest,
  type Version,
} from "../src/protocol";
import vectors from "../../tests/golden/protocol_v1.json";

interface Golden {
  canonical: { name: string; value: unknown; canonical: string }[];
  invalid_canonical: { name: string; json: string }[];
  versions: { version: Version; canonical_fields: string; bucket: number; item_digest: string }[];
  root_of_versions: string;
  empty_digest: string;
  iso_ms: { ms: number; text: string }[];
  mask_key: { key: string; masked: string }[];
  kinds: string[];
  shares: {
    paths: { share: string; take: string };
    valid_ids: string[];
    invalid_ids: string[];
    max_sealed_chars: number;
    ttl_ms: number;
    max_per_account: number;
    code: { typed: string; misread: string; normal: string };
  };
  history: {
    depth: number;
    kinds: string[];
    next: {
      name: string;
      kind: string;
      history: string;
      replaced: string | null;
      named: string[];
      next: string;
    }[];
    in_history: { name: string; history: string; vhash: string; found: boolean }[];
  };
}

// The same file tests/test_protocol.py reads: both languages must reproduce every field.
const golden = vectors as unknown as Golden;

describe("golden vectors shared with protocol.py", () => {
  it.each(golden.canonical.map((c) => [c.name, c] as const))("canonical: %s", (_, c) => {
    expect(canonicalJson(c.value)).toBe(c.canonical);
  });

  it.each(golden.invalid_canonical.map((c) => [c.name, c] as const))("refused: %s", (_, c) => {
    expect(() => canonicalJson(JSON.parse(c.json))).toThrow();
  });

  it.each(golden.versions.map((c) => [c.version.kind, c] as const))("version: %s", async (_, c) => {
    const { vhash, ...fields } = c.version;
    expect(canonicalJson(hashedFields(fields))).toBe(c.canonical_fields);
    expect(canonicalFields(fields).fields).toBe(c.canonical_fields);
    expect(canonicalFields(fields).body).toBe(canonicalJson(fields.body));
    expect(canonicalVersion(c.canonical_fields, vhash)).toBe(canonicalJson(c.version));
    expect(await versionHash(fields)).toBe(vhash);
    expect(await bucketOf(c.version.kind, c.version.id)).toBe(c.bucket);
    expect(await itemDigest(c.version.kind, c.version.id, vhash)).toBe(c.item_digest);
  });

  it.each(golden.history.next.map((c) => [c.name, c] as const))("history: %s", (_, c) => {
    expect(HISTORY_DEPTH).toBe(golden.history.depth);
    expect([...HISTORY_KINDS]).toEqual(golden.history.kinds);
    expect(nextHistory(c.kind, c.history, c.replaced, c.named)).toBe(c.next);
  });

  it.each(golden.history.in_history.map((c) => [c.name, c] as const))("superseded: %s", (_, c) => {
    expect(inHistory(c.history, c.vhash)).toBe(c.found);
  });

  it("root is the order-independent XOR of the items", () => {
    const items = golden.versions.map((c) => c.item_digest);
    const forward = items.reduce(xorDigest, EMPTY_DIGEST);
    const backward = [...items].reverse().reduce(xorDigest, EMPTY_DIGEST);
    expect(forward).toBe(golden.root_of_versions);
    expect(backward).toBe(golden.root_of_versions);
    expect(items.reduce(xorDigest, forward)).toBe(golden.empty_digest);
  });

  it("kinds and key shares", () => {
    const shares = golden.shares;
    expect([...KINDS]).toEqual(golden.kinds);
    const asPython = (path: string) => path.replace(":share_id", "{share_id}");
    expect(asPython(PATHS.share)).toBe(shares.paths.share);
    expect(asPython(PATHS.shareTake)).toBe(shares.paths.take);
    for (const id of shares.valid_ids) expect(SHARE_ID_PATTERN.test(id)).toBe(true);
    for (const id of shares.invalid_ids) expect(SHARE_ID_PATTERN.test(id)).toBe(false);
    expect(MAX_SHARE_CHARS).toBe(shares.max_sealed_chars);
    expect(SHARE_TTL_MS).toBe(shares.ttl_ms);
    expect(MAX_SHARES_PER_ACCOUNT).toBe(shares.max_per_account);
    expect(normalCode(shares.code.typed)).toBe(shares.code.normal);
    expect(normalCode(shares.code.misread)).toBe(shares.code.normal);
  });

  it("timestamps and masked keys", () => {
    for (const c of golden.iso_ms) expect(isoMs(c.ms)).toBe(c.text);
    for (const c of golden.mask_key) expect(maskKey(c.key)).toBe(c.masked);
  });
});

describe("canonical JSON edges", () => {
  it("orders keys by code point, not UTF-16 unit", () => {
    expect(compareCodePoints("\u{1F600}", "\uE000")).toBeGreaterThan(0);
    expect("\u{1F600}" < "\uE000").toBe(true); // what a plain JavaScript sort would do
    expect(compareCodePoints("ab", "abc")).toBeLessThan(0);
    expect(compareCodePoints("b", "b")).toBe(0);
  });

  it("writes -0 and integral floats as integers, refuses infinities", () => {
    expect(canonicalJson({ a: -0, b: 1e3 })).toBe('{"a":0,"b":1000}');
    expect(() => canonicalJson({ a: Infinity })).toThrow(/integers/);
  });

  it("allows depth 32 and refuses 33, scalars included", () => {
    const nest = (depth: number, leaf: unknown) =>
      Array.from({ length: depth }).reduce<unknown>((inner) => [inner], leaf);
    expect(() => canonicalJson(nest(32, 1))).not.toThrow();
    expect(() => canonicalJson(nest(33, 1))).toThrow(/deeper/);
    expect(() => canonicalJson(nest(33, []))).toThrow(/deeper/);
  });

  it("refuses lone surrogates in keys and values", () => {
    expect(() => canonicalJson({ "\uD800": 1 })).toThrow(/surrogates/);
    expect(() => canonicalJson(["\uDC00"])).toThrow(/surrogates/);
  });
});
