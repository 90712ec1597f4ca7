-- 0002 quarantine: records whose current version's body fails its schema (core/bodies.py).
-- They stay in `records` (stored and synced, so brains converge) but are never materialized;
-- a valid version of the record removes its row here. `nmem sync status` lists them.
CREATE TABLE quarantine (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    vhash TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
