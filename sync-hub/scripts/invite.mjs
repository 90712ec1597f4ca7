#!/usr/bin/env node
/**
 * Make an invite code for a Worker whose REGISTRATION is "invite", and store its hash in D1.
 *
 *   node scripts/invite.mjs [--expires 7d] [wrangler d1 execute options ...]
 *
 * The code is random (Crockford base32, 100 bits), printed once on stdout and never stored: only
 * its SHA-256 goes to D1, through `wrangler d1 execute nmem --remote` (any other options are
 * passed on, e.g. `--local --persist-to DIR` for a local `wrangler dev`). Nothing is printed but
 * the code, so `CODE=$(node scripts/invite.mjs)` works; wrangler's own output goes to stderr.
 */

import { spawnSync } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // as src/neuralmemory/hub/codes.py
const CHARS = 20;
const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const HUB = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  process.stderr.write(`invite: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let ttl = 7 * UNITS.d;
const at = args.indexOf("--expires");
if (at !== -1) {
  const match = /^(\d{1,6})([smhd])$/.exec(args[at + 1] ?? "");
  if (!match || Number(match[1]) === 0)
    fail("--expires takes a duration such as 30s, 10m, 12h or 7d");
  ttl = Number(match[1]) * UNITS[match[2]];
  args.splice(at, 2);
}
const target = args.includes("--local") ? [] : ["--remote"];

let chars = "";
for (let i = 0; i < CHARS; i++) chars += ALPHABET[randomInt(ALPHABET.length)];
const code = chars.match(/.{4}/g).join("-");
const hash = createHash("sha256").update(chars).digest("hex"); // no dashes, upper case already
const now = Date.now();
const sql =
  "INSERT INTO codes (code_hash, kind, created_at, expires_at) " +
  `VALUES ('${hash}', 'invite', ${now}, ${now + ttl})`;

const wrangler = join(HUB, "node_modules", ".bin", "wrangler");
const run = spawnSync(
  wrangler,
  [
    "d1",
    "execute",
    "nmem",
    ...target,
    ...args,
    "--config",
    join(HUB, "wrangler.toml"),
    "--command",
    sql,
  ],
  { stdio: ["ignore", process.stderr, process.stderr] },
);
if (run.error) fail(`cannot run ${wrangler}: ${run.error.message} (run npm install first)`);
if (run.status !== 0) {
  fail(
    "wrangler could not store the invite (exit " +
      run.status +
      "); if the table codes is missing, apply the migrations first: " +
      "npx wrangler d1 migrations apply nmem --remote",
  );
}
process.stdout.write(code + "\n");
