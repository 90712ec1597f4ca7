/**
 * Who may register (the REGISTRATION variable) and invite codes, as the Python hub's
 * settings.py and hub/codes.py. A Worker is public, so registration is closed unless the
 * operator opens it or hands out invites (scripts/invite.mjs). The Worker has no local account,
 * hence no pairing: POST /v1/auth/pair is 404 here.
 */

import { normalCode, sha256Hex } from "./protocol";

export type Registration = "open" | "closed" | "invite";
const MODES: readonly string[] = ["open", "closed", "invite"];

export function registrationFor(env: { REGISTRATION?: string }): Registration {
  const setting = env.REGISTRATION ?? "closed";
  if (!MODES.includes(setting)) {
    throw new Error(`REGISTRATION must be open, closed or invite, not ${JSON.stringify(setting)}`);
  }
  return setting as Registration;
}

/** What is stored and looked up: the SHA-256 of the code as compared (normalCode). */
export function hashCode(code: string): Promise<string> {
  return sha256Hex(normalCode(code));
}
