/**
 * Who may register (the REGISTRATION variable) and invite codes, as the Python hub's
 * settings.py and hub/codes.py. A Worker is public, so registration is closed unless the
 * operator opens it or hands out invites (scripts/invite.mjs). The Worker has no local account,
 * hence no pairing: POST /v1/auth/pair is 404 here.
 */

import { sha256Hex } from "./protocol";

export type Registration = "open" | "closed" | "invite";
const MODES: readonly string[] = ["open", "closed", "invite"];

export function registrationFor(env: { REGISTRATION?: string }): Registration {
  const setting = env.REGISTRATION ?? "closed";
  if (!MODES.includes(setting)) {
    throw new Error(`REGISTRATION must be open, closed or invite, not ${JSON.stringify(setting)}`);
  }
  return setting as Registration;
}

/** What is stored and looked up: the SHA-256 of the code without dashes, in upper case, with
 * the letters Crockford base32 leaves out read as the digits they look like (O as 0, I and L
 * as 1). */
export function hashCode(code: string): Promise<string> {
  const normal = code.toUpperCase().replace(/-/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return sha256Hex(normal);
}
