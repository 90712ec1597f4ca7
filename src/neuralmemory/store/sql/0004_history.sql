-- 0004 history: what `nmem show` tells of a memory, kept on this device.
-- `superseded_by`: the memory that replaced this one (its body's optional "superseded_by"); a
-- superseded memory stays, out of recall. Bodies synced before this column are read back.
ALTER TABLE memories ADD COLUMN superseded_by TEXT;
UPDATE memories SET superseded_by = (
    SELECT json_extract(r.version, '$.body.superseded_by') FROM records r
    WHERE r.kind = 'memory' AND r.id = memories.id AND r.deleted = 0
      AND json_type(r.version, '$.body.superseded_by') = 'text'
);
-- `nmem list` walks memories newest first.
CREATE INDEX memories_created ON memories (created_at, rid);

-- Every version a memory record had here before its current one (records holds the current
-- one): local edits, and versions pulled from other devices. Kept by a trigger, so no write path
-- can forget it; a record's first version costs nothing here (only replaced versions are kept).
CREATE TABLE history (
    id TEXT NOT NULL,
    vhash TEXT NOT NULL,
    hlc TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (id, vhash)
) WITHOUT ROWID;
CREATE TRIGGER records_history AFTER UPDATE OF vhash ON records
WHEN old.kind = 'memory' AND old.vhash <> new.vhash
BEGIN
    INSERT OR IGNORE INTO history (id, vhash, hlc, version)
    VALUES (old.id, old.vhash, old.hlc, old.version);
END;
