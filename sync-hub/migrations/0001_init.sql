-- Protocol v1 hub schema. Migrations are numbered and append-only; never edit an applied one.
-- Applied by `wrangler d1 migrations apply nmem` or by the Worker itself on first use (src/schema.ts):
-- both record the file name in d1_migrations, and every statement is idempotent, so either order works.
-- Times are milliseconds since the epoch; the wire shows them as ISO 8601 (protocol.ts isoMs).

CREATE TABLE IF NOT EXISTS accounts (
  account_id TEXT PRIMARY KEY,
  email      TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

-- Only the SHA-256 of a key is stored, plus its display prefix.
CREATE TABLE IF NOT EXISTS api_keys (
  key_id       TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts (account_id),
  name         TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  key_prefix   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id, created_at);

-- seq, records and bytes are kept up to date by every push, so status reads never scan.
-- push_token names the push whose batch is being applied (records.ts explains the CAS).
CREATE TABLE IF NOT EXISTS brains (
  brain_id      TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES accounts (account_id),
  name          TEXT NOT NULL,
  seq           INTEGER NOT NULL DEFAULT 0,
  records       INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  last_write_at INTEGER,
  push_token    TEXT
);
CREATE INDEX IF NOT EXISTS brains_by_account ON brains (account_id, created_at);

-- The current version of each record. body is the canonical JSON text of the version's body;
-- size is the canonical byte length of the whole version (what max_record_bytes limits).
CREATE TABLE IF NOT EXISTS records (
  brain_id  TEXT NOT NULL,
  kind      TEXT NOT NULL,
  id        TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  hlc       TEXT NOT NULL,
  device_id TEXT NOT NULL,
  parent    TEXT,
  deleted   INTEGER NOT NULL,
  strength  INTEGER NOT NULL,
  body      TEXT NOT NULL,
  vhash     TEXT NOT NULL,
  bucket    INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  PRIMARY KEY (brain_id, kind, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records (brain_id, seq);
CREATE INDEX IF NOT EXISTS records_by_bucket ON records (brain_id, bucket);

-- Merkle digests as eight 32-bit words w0..w7 (the 64 hex digits, 8 at a time), so that SQL can
-- XOR a change in, (a | b) & ~(a & b), whatever else landed meanwhile: XOR commutes. Rows 0..255
-- are the buckets (absent means empty); row 256 is the brain's root, the XOR of all of them.
CREATE TABLE IF NOT EXISTS buckets (
  brain_id TEXT NOT NULL,
  bucket   INTEGER NOT NULL,
  w0 INTEGER NOT NULL, w1 INTEGER NOT NULL, w2 INTEGER NOT NULL, w3 INTEGER NOT NULL,
  w4 INTEGER NOT NULL, w5 INTEGER NOT NULL, w6 INTEGER NOT NULL, w7 INTEGER NOT NULL,
  PRIMARY KEY (brain_id, bucket)
);

CREATE TABLE IF NOT EXISTS devices (
  brain_id      TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  name          TEXT NOT NULL,
  platform      TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_sync_at  INTEGER,
  cursor        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (brain_id, device_id)
);

-- One row per key (or client address): the current minute's hits for the rate limit and the
-- current day's for usage. Isolates share no memory, so the counters live here.
CREATE TABLE IF NOT EXISTS rate_limits (
  subject      TEXT PRIMARY KEY,
  account_id   TEXT,
  window_start INTEGER NOT NULL,
  hits         INTEGER NOT NULL,
  day          INTEGER NOT NULL,
  day_hits     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limits_by_account ON rate_limits (account_id);
