#!/usr/bin/env node
/**
 * Make a new admin key for the account with this email, and store its hash in D1: the way back
 * into an account whose keys were all revoked or lost (the Python hub's `nmem hub keys create`).
 *
 *   node scripts/admin-key.mjs --email EMAIL [--name NAME] [wrangler d1 execute options ...]
 *
 * The key is random (nmk_ + 40 base62 characters, as src/auth.ts makes them), printed once on
 * stdout and never stored: the INSERT that `wrangler d1 execute nmem --remote` runs holds only its
 * SHA-256 and display prefix, and is printed on stderr before it runs. Any other options are
 * passed on (e.g. `--local --persist-to DIR` for a local `wrangler dev`). Nothing but the key goes
 * to stdout, so `KEY=$(node scripts/admin-key.mjs --email me@example.com)` works. An unknown
 * email stores nothing and prints no key. Like a key made with POST /v1/auth/keys, but not held
 * back by the key cap: recovery must always work.
 */

import { spawnSync } from "node:child_process";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_CHARS = 40;
const KEY_DISPLAY_CHARS = 12; // as src/protocol.ts
// As src/protocol.ts: emails and key names carry no control characters.
const EMAIL = /^[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$/;
const LABEL = /^[^\x00-\x1f\x7f]{1,64}$/;
const HUB = join(dirname(fileURLToPath(import.meta.url)), "..");

/** SQL text literal: the only quoting an email or a name needs in SQLite. */
const text = (value) => `'${value.replaceAll("'", "''")}'`;

/**
 * A new admin key for `email`: the key (to show once) and the one statement that stores it,
 * which inserts a row only if an account has that email.
 */
export function adminKey(email, name, now) {
  if (!EMAIL.test(email) || email.length > 254)
    throw new Error(`${JSON.stringify(email)} is not an email`);
  if (!LABEL.test(name))
    throw new Error("a key name is 1 to 64 characters, without control characters");
  let key = "nmk_";
  for (let i = 0; i < KEY_CHARS; i++) key += BASE62[randomInt(BASE62.length)];
  const keyId = `key_${randomBytes(10).toString("hex")}`;
  const hash = createHash("sha256").update(key).digest("hex");
  const sql =
    "INSERT INTO api_keys (key_id, account_id, name, key_hash, key_prefix, created_at, scope) " +
    `SELECT ${text(keyId)}, account_id, ${text(name)}, ${text(hash)}, ` +
    `${text(key.slice(0, KEY_DISPLAY_CHARS))}, ${now}, 'admin' ` +
    `FROM accounts WHERE email = ${text(email)} RETURNING key_id`;
  return { key, keyId, sql };
}

function fail(message) {
  process.stderr.write(`admin-key: ${message}\n`);
  process.exit(2);
}

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const value = args[at + 1];
  if (value === undefined) fail(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}

function main() {
  const args = process.argv.slice(2);
  const email = option(args, "--email", null);
  if (email === null) fail("--email EMAIL is required: the account's email");
  const name = option(args, "--name", "recovery");
  const target = args.includes("--local") ? [] : ["--remote"];
  let made;
  try {
    made = adminKey(email, name, Date.now());
  } catch (error) {
    fail(error.message);
  }
  const wrangler = join(HUB, "node_modules", ".bin", "wrangler");
  const command = ["d1", "execute", "nmem", ...target, ...args];
  process.stderr.write(`Running: wrangler ${command.join(" ")} --command "${made.sql}"\n`);
  const run = spawnSync(
    wrangler,
    [...command, "--config", join(HUB, "wrangler.toml"), "--json", "--command", made.sql],
    { stdio: ["ignore", "pipe", process.stderr], encoding: "utf8" },
  );
  if (run.error) fail(`cannot run ${wrangler}: ${run.error.message} (run npm install first)`);
  if (run.status !== 0) {
    fail(
      `wrangler could not store the key (exit ${run.status}); if the table api_keys is missing, ` +
        "apply the migrations first: npx wrangler d1 migrations apply nmem --remote",
    );
  }
  // The row the INSERT returned: none when no account has that email.
  const stored = JSON.parse(run.stdout).flatMap((result) => result.results ?? []);
  if (stored.length !== 1) {
    fail(
      `no account has the email ${email}; list them with: npx wrangler d1 execute nmem ` +
        `${[...target, ...args].join(" ")} --command "SELECT account_id, email, created_at FROM accounts"`,
    );
  }
  process.stderr.write(`New admin key ${made.keyId} for ${email}, shown this once:\n`);
  process.stdout.write(made.key + "\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
