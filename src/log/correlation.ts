/**
 * Correlation ids: a short random id given to a source file when it is first seen. It travels
 * in the queue entry and in every log line about the file and its reports.
 *
 * @module
 */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** A new 10-character correlation id (50 random bits, Crockford base32). */
export function newCorrelationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}
