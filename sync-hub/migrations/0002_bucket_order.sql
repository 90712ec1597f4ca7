-- Bucket listings are paged in (bucket, kind, id) order: with this index each page is one range
-- scan that stops at the page's end, where records_by_bucket (which ends with the rowid) made a
-- page sort every entry of its buckets. It serves every lookup the index it replaces did.
CREATE INDEX IF NOT EXISTS records_by_bucket_key ON records (brain_id, bucket, kind, id);
DROP INDEX IF EXISTS records_by_bucket;
