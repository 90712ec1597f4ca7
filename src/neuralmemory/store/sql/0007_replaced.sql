-- 0007 replaced: the versions of a memory this device replaced before its hub held them -- a
-- pending version coalesced into a newer local edit, rewritten on top of the hub's version after
-- a conflict, or displaced by a hub version. The memory's next push names them (`replaces`), so
-- the hub keeps them in the record's history and answers a later push of one of them (from this
-- folder restored from a backup, or a copy of it) as `superseded`, not as a rival edit
-- (docs/protocol.md, "History"). Kept by a trigger, so no write path can forget it; a row
-- leaves once the hub holds a version of the memory written after it.
CREATE TABLE IF NOT EXISTS replaced (
    id TEXT NOT NULL,
    vhash TEXT NOT NULL,
    hlc TEXT NOT NULL,
    PRIMARY KEY (id, vhash)
) WITHOUT ROWID;
-- A WHERE, not OR IGNORE: in a trigger the outer upsert's conflict rule would override it
-- (0005_history_trigger.sql).
CREATE TRIGGER IF NOT EXISTS records_replaced AFTER UPDATE OF vhash ON records
WHEN old.kind = 'memory' AND old.pending = 1 AND old.vhash <> new.vhash
BEGIN
    INSERT INTO replaced (id, vhash, hlc)
    SELECT old.id, old.vhash, old.hlc
    WHERE NOT EXISTS (SELECT 1 FROM replaced WHERE id = old.id AND vhash = old.vhash);
END;
