-- One-time codes: invites (POST /v1/auth/register on a hub whose registration is "invite") and
-- pairing codes (POST /v1/auth/pair). Only the SHA-256 of a code is stored; a code is used once.
CREATE TABLE codes (
    code_hash   TEXT PRIMARY KEY,  -- sha256 of the code in upper case without dashes
    kind        TEXT NOT NULL,     -- invite | pair
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     TEXT               -- the account an invite made, or the key a pairing made
);
