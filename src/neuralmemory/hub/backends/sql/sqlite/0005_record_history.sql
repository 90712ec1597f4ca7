-- Record history. For each record of a kind in protocol HISTORY_KINDS (memory), the vhashes it
-- held before its current version, newest first, space-separated, at most HISTORY_DEPTH (32):
-- a push of one of them is refused as a conflict marked `superseded` (the current version
-- descends from it), so a device restored from a backup takes the version the hub holds instead of
-- treating its stale one as a rival edit (docs/protocol.md, "History").
--
-- Records written before this migration have none (NULL, read as empty): a push of a version they
-- replaced earlier is a plain conflict, as before. Adding a nullable column rewrites no row.
ALTER TABLE records ADD COLUMN history TEXT;
