import assert from "#assert";
import { fullJitterMs, parseRetryAfter } from "../../src/upload/backoff.ts";

Deno.test("fullJitterMs: between 0 and min(max, initial × 2^(attempt-1))", () => {
  assert.equal(fullJitterMs(1, 1000, 30_000, () => 0.999999), 1000);
  assert.equal(fullJitterMs(3, 1000, 30_000, () => 0.5), 2000);
  assert.equal(fullJitterMs(10, 1000, 30_000, () => 1), 30_000, "capped at max");
  assert.equal(fullJitterMs(10, 1000, 30_000, () => 0), 0, "full jitter reaches 0");
  for (let a = 1; a < 12; a++) {
    const d = fullJitterMs(a, 200, 2000);
    assert.ok(d >= 0 && d <= Math.min(2000, 200 * 2 ** (a - 1)));
  }
});

Deno.test("parseRetryAfter: delay-seconds, an HTTP date counted from the given now, junk", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter(" 0 "), 0);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter("soon"), null);
  const serverNow = Date.parse("Wed, 01 Jan 2025 10:00:00 GMT");
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 10:00:05 GMT", serverNow), 5000);
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 09:59:00 GMT", serverNow), 0, "past: no wait");
});
