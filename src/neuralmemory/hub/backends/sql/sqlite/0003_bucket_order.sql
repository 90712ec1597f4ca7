-- Bucket listings are paged in (bucket, kind, id) order. This index holds all a page reads, so a
-- page is one range scan of it that stops at the page's end and never visits the table (where
-- each entry's row, body and all, costs a lookup: ten times slower on a big brain). It serves
-- every lookup by (brain_id, bucket) the index it replaces did.
CREATE INDEX records_bucket_page ON records (brain_id, bucket, kind, id, vhash, seq);
DROP INDEX records_bucket;
