-- One-time invite codes (REGISTRATION = "invite"), the same table as the Python hub's codes.
-- Only the SHA-256 of a code is stored (of the code without dashes, in upper case); used once.
-- scripts/invite.mjs makes them.
CREATE TABLE IF NOT EXISTS codes (
  code_hash  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  used_by    TEXT
);
