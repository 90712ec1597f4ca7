-- The hub's first schema. Append-only: change it with a new numbered file, never by editing this one.
-- Times are milliseconds since the epoch; digests are 64 lowercase hex characters.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    email       TEXT UNIQUE,
    created_at  INTEGER NOT NULL
);

-- A local hub serves requests without a key as this account (docs/protocol.md, local mode).
INSERT INTO accounts (id, email, created_at) VALUES ('local', NULL, 0);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,  -- sha256 of the whole key; the key itself is never stored
    key_prefix    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE brains (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    name           TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    records        INTEGER NOT NULL,
    bytes          INTEGER NOT NULL,
    root           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_write_at  INTEGER
);
CREATE INDEX brains_account ON brains (account_id);

-- Only buckets that ever held a record have a row; a missing row is the empty digest.
CREATE TABLE buckets (
    brain_id  TEXT NOT NULL REFERENCES brains (id),
    bucket    INTEGER NOT NULL,
    digest    TEXT NOT NULL,
    PRIMARY KEY (brain_id, bucket)
);

CREATE TABLE records (
    brain_id   TEXT NOT NULL REFERENCES brains (id),
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    vhash      TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    parent     TEXT,
    deleted    INTEGER NOT NULL,
    strength   INTEGER NOT NULL,
    body       TEXT NOT NULL,     -- canonical JSON, never read by the hub
    size       INTEGER NOT NULL,  -- bytes of the version's canonical JSON
    PRIMARY KEY (brain_id, kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX records_seq ON records (brain_id, seq);
CREATE INDEX records_bucket ON records (brain_id, bucket);

CREATE TABLE devices (
    brain_id       TEXT NOT NULL REFERENCES brains (id),
    device_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    platform       TEXT NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_sync_at   INTEGER,
    cursor         INTEGER NOT NULL,
    PRIMARY KEY (brain_id, device_id)
);

-- Fixed-window counters, kept here (not in process memory) so hub processes sharing a database
-- share the limit.
CREATE TABLE rate_limits (
    subject       TEXT PRIMARY KEY,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL
);

CREATE TABLE usage_daily (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    day         TEXT NOT NULL,
    requests    INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);
