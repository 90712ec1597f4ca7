-- Key scopes. An admin key may also create, list and revoke the account's keys; a device key only
-- syncs, so a key stolen from a device can no longer make keys or revoke its owner's.
--
-- Earlier hubs had no scopes: every key could do everything. Keys made after registration were
-- made for devices, so they become device keys and keep no power they were never meant to have;
-- the key made at registration (created in the same instant as its account) becomes the admin key,
-- so every account keeps one. New keys are device keys unless asked for otherwise.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'device'
  CHECK (scope IN ('admin', 'device'));

UPDATE api_keys SET scope = 'admin'
WHERE created_at = (SELECT a.created_at FROM accounts AS a WHERE a.account_id = api_keys.account_id);

-- An account whose registration key was revoked would have no admin key left, and no way to make
-- one: its oldest unrevoked key becomes admin instead, so nobody is locked out.
UPDATE api_keys SET scope = 'admin'
WHERE key_id IN (
  SELECT (SELECT k.key_id FROM api_keys AS k
          WHERE k.account_id = a.account_id AND k.revoked_at IS NULL
          ORDER BY k.created_at, k.key_id LIMIT 1)
  FROM accounts AS a
  WHERE NOT EXISTS (SELECT 1 FROM api_keys AS k
                    WHERE k.account_id = a.account_id AND k.revoked_at IS NULL AND k.scope = 'admin')
);
