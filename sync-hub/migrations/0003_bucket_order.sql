-- Bucket listings are paged in (bucket, kind, id) order. This index holds all a page reads, so a
-- page is one range scan of it that stops at the page's end and never visits the table, where
-- records_by_bucket (which ends with the rowid) made a page sort every entry of its buckets. It
-- serves every lookup the index it replaces did.
CREATE INDEX IF NOT EXISTS records_by_bucket_page ON records (brain_id, bucket, kind, id, vhash, seq);
DROP INDEX IF EXISTS records_by_bucket;
