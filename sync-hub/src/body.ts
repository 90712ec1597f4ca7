/**
 * Request bodies. Every body is held under max_body_bytes before any route runs (as the Python
 * hub's BodyLimit does, so 413 comes first there too): a Content-Length over the limit is refused
 * before a byte is read, and the stream is counted as it arrives, so a body without (or lying
 * about) its length is cut off at the limit as well.
 */

import { HubError, MSG, invalid, tooLarge } from "./errors";

/** How much of an oversized streamed body is read (and dropped) before it is cancelled. */
const DRAIN_BYTES = 16 * 1024 * 1024;

export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    // Cancelled, not left unread: workerd holds the reply back until a body is read or cancelled.
    await request.body?.cancel();
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > maxBytes) {
      await discard(reader, total);
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Read and drop the rest of an oversized body, up to DRAIN_BYTES. Replying to a half-read body
 * leaves the connection behind it unusable (workerd under wrangler dev then fails the next
 * request on it); a body beyond the cap is cancelled. Nothing read here is kept.
 */
async function discard(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: number,
): Promise<void> {
  let total = seen;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > DRAIN_BYTES) {
      await reader.cancel();
      return;
    }
  }
}

/** The body as JSON: 415 unless it says application/json, 400 unless it is UTF-8 JSON. */
export function parseJson(request: Request, bytes: Uint8Array): unknown {
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new HubError(415, "unsupported_media_type", MSG.mediaType);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid("body: not valid UTF-8 JSON");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalid("body: malformed JSON");
  }
}
