/**
 * Merkle digests as D1 stores them: eight 32-bit words per digest (buckets table, w0..w7), so SQL
 * can fold a change in with XOR, written (a | b) & ~(a & b) as SQLite has no XOR operator. 32-bit
 * words keep every value a safe JavaScript number on the way in and out.
 */

import { ROOT_BUCKET } from "./push";

const WORDS = [0, 1, 2, 3, 4, 5, 6, 7];

/** A 64-digit hex digest as its eight words. */
export const words = (digest: string): number[] =>
  WORDS.map((n) => parseInt(digest.slice(n * 8, n * 8 + 8), 16));

/** SQL for the hex digest of buckets row `alias` (a missing row prints as 64 zeros). */
export const hexOf = (alias: string) =>
  `printf('${"%08x".repeat(8)}', ${WORDS.map((n) => `${alias}.w${n}`).join(", ")})`;

/** SQL joining a brain `b` to its root row as `root_row`. */
export const ROOT_JOIN = `LEFT JOIN buckets AS root_row
  ON root_row.brain_id = b.brain_id AND root_row.bucket = ${ROOT_BUCKET}`;

/** SQL: fold the bucket rows of the JSON array [[bucket, w0, ..., w7], ...] in ?3 by XOR. */
export const FOLD_BUCKETS = `INSERT INTO buckets (brain_id, bucket, ${WORDS.map((n) => `w${n}`).join(", ")})
  SELECT ?1, d.value ->> 0, ${WORDS.map((n) => `d.value ->> ${n + 1}`).join(", ")}
  FROM json_each(?3) AS d WHERE (SELECT push_token FROM brains WHERE brain_id = ?1) = ?2
  ON CONFLICT (brain_id, bucket) DO UPDATE SET
  ${WORDS.map((n) => `w${n} = (w${n} | excluded.w${n}) & ~(w${n} & excluded.w${n})`).join(",\n  ")}`;
