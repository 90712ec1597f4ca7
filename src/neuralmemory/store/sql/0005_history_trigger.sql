-- 0005: the history trigger skips a version it already holds by a WHERE, not by OR IGNORE.
-- Inside a trigger, the outer statement's conflict rule overrides the trigger's own: the change
-- log's upsert turned OR IGNORE into a failure when a restored folder wrote back a version this
-- device had already replaced (UNIQUE constraint failed: history.id, history.vhash).
DROP TRIGGER records_history;
CREATE TRIGGER records_history AFTER UPDATE OF vhash ON records
WHEN old.kind = 'memory' AND old.vhash <> new.vhash
BEGIN
    INSERT INTO history (id, vhash, hlc, version)
    SELECT old.id, old.vhash, old.hlc, old.version
    WHERE NOT EXISTS (SELECT 1 FROM history WHERE id = old.id AND vhash = old.vhash);
END;
