-- Bucket listings are paged in (bucket, kind, id) order with ids compared byte by byte (COLLATE
-- "C", as SQLite and the Worker compare them, whatever this database's locale). With this index
-- a page is one range scan that stops at the page's end, and (INCLUDE) needs no visit to the
-- table. It serves every lookup by (brain_id, bucket) the index it replaces did.
CREATE INDEX records_bucket_page ON records (brain_id, bucket, kind COLLATE "C", id COLLATE "C")
    INCLUDE (vhash, seq);
DROP INDEX records_bucket;
