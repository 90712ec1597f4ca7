-- Bucket listings are paged in (bucket, kind, id) order with ids compared byte by byte (COLLATE
-- "C", as SQLite and the Worker compare them, whatever this database's locale): with this index
-- each page is one range scan that stops at the page's end. It also serves every lookup by
-- (brain_id, bucket) the index it replaces did.
CREATE INDEX records_bucket_key ON records (brain_id, bucket, kind COLLATE "C", id COLLATE "C");
DROP INDEX records_bucket;
