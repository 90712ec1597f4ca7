-- 0003 project: the project a memory belongs to (its body's optional "project": a normalized git
-- remote or folder name, core/project.py), NULL for none. Recall ranks the current project's
-- memories first. Bodies synced before this column existed are read back from `records`.
ALTER TABLE memories ADD COLUMN project TEXT;
UPDATE memories SET project = (
    SELECT json_extract(r.version, '$.body.project') FROM records r
    WHERE r.kind = 'memory' AND r.id = memories.id AND r.deleted = 0
      AND json_type(r.version, '$.body.project') = 'text'
);
CREATE INDEX memories_project ON memories (project);
