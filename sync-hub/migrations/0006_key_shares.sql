-- Key shares (`nmem keys share` / `nmem keys receive`): a brain key sealed on the device under a
-- one-time code the hub never sees, kept under an id derived from that code. A share is deleted
-- when it is taken, and once expired by the next share request of any account.
CREATE TABLE key_shares (
    id          TEXT PRIMARY KEY,  -- s- and 32 hex digits, derived from the code
    account_id  TEXT NOT NULL,
    sealed      TEXT NOT NULL,     -- base64, at most MAX_SHARE_CHARS
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX key_shares_account ON key_shares (account_id);
CREATE INDEX key_shares_expires ON key_shares (expires_at);
