-- 0001 initial: the brain's records (what syncs), their change log, and the derived graph.

-- Brain identity (brain_id, name, created_at) and the persisted HLC state ("hlc").
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Small key/value store for the sync engine (cursor per hub, last sync, ...).
CREATE TABLE sync_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The current version of every record (memory, activation, link, conflict), local or remote.
-- pending = 1: written here and not yet acknowledged by the hub. `version` is the canonical
-- JSON of the whole protocol.Version, so it can be pushed as is.
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    vhash TEXT NOT NULL,
    hlc TEXT NOT NULL,
    bucket INTEGER NOT NULL CHECK (bucket BETWEEN 0 AND 255),
    deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    pending INTEGER NOT NULL CHECK (pending IN (0, 1)),
    version TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX records_pending ON records (hlc, kind, id) WHERE pending = 1;
CREATE INDEX records_bucket ON records (bucket);

-- Local Merkle digest: XOR of item digests per bucket, kept in the same transaction as each
-- record write. The root is meta.merkle_root.
CREATE TABLE merkle (
    bucket INTEGER PRIMARY KEY CHECK (bucket BETWEEN 0 AND 255),
    digest TEXT NOT NULL
);
WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 255)
INSERT INTO merkle (bucket, digest) SELECT n, printf('%064d', 0) FROM b;
INSERT INTO meta (key, value) VALUES ('merkle_root', printf('%064d', 0));

-- Materialized memory records. Exactly one of content / ciphertext is set.
CREATE TABLE memories (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    content TEXT,
    ciphertext TEXT,
    encrypted INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
    type TEXT NOT NULL,
    tags TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    event_at INTEGER,
    expires_at INTEGER,
    CHECK ((encrypted = 0 AND content IS NOT NULL AND ciphertext IS NULL)
        OR (encrypted = 1 AND content IS NULL AND ciphertext IS NOT NULL))
);

-- Materialized activation records: per-device counters merged by max (core/reinforce.py).
CREATE TABLE activations (
    memory_id TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Materialized learned links between two memories (a < b).
CREATE TABLE links (
    id TEXT PRIMARY KEY,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX links_a ON links (a);
CREATE INDEX links_b ON links (b);

-- Derived, rebuilt from memories, never synced ------------------------------------------------

-- Concepts. key is the normalized term, or "#" + HMAC of it for an encrypted memory's terms.
CREATE TABLE neurons (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    df INTEGER NOT NULL DEFAULT 0
);

-- memory <-> neuron synapses; two neurons co-occur when a memory holds both.
CREATE TABLE synapses (
    neuron_id INTEGER NOT NULL,
    memory_rid INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    weight REAL NOT NULL,
    PRIMARY KEY (neuron_id, memory_rid)
) WITHOUT ROWID;
CREATE INDEX synapses_memory ON synapses (memory_rid);

-- Typed neuron -> neuron relations the text states (caused_by, leads_to, resolved_by, contradicts).
CREATE TABLE relations (
    src INTEGER NOT NULL,
    dst INTEGER NOT NULL,
    kind TEXT NOT NULL,
    memory_rid INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    PRIMARY KEY (src, dst, kind, memory_rid)
) WITHOUT ROWID;
CREATE INDEX relations_dst ON relations (dst);
CREATE INDEX relations_memory ON relations (memory_rid);

-- Full-text index, rowid = memories.rid. An encrypted memory is indexed by HMAC tokens only.
CREATE VIRTUAL TABLE memory_fts USING fts5 (
    terms,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
