/**
 * Retry timing: full-jitter exponential backoff, and the server's Retry-After.
 *
 * @module
 */

/**
 * Full jitter: a random delay between 0 and min(max, initial × 2^(attempt−1)), so that many
 * failed reports don't all retry at the same moment. `attempt` counts from 1.
 */
export function fullJitterMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/**
 * Parses a Retry-After header: delay-seconds or an HTTP date. Returns milliseconds from `now`
 * (never negative), or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
