import assert from "#assert";
import { CircuitBreaker } from "../../src/upload/breaker.ts";

Deno.test("breaker: closed → open after the threshold → half-open probe → closed on success", () => {
  const b = new CircuitBreaker(3, 1000);
  assert.equal(b.failure(0), false);
  assert.equal(b.failure(0), false);
  assert.equal(b.allows(), true);
  assert.equal(b.failure(100), true, "the third consecutive failure opens it");
  assert.equal(b.state, "open");
  assert.equal(b.allows(), false);
  assert.equal(b.openedAt, 100);
  assert.equal(b.probeDue(500), false, "one probe per interval");
  assert.equal(b.probeDue(1100), true);
  assert.equal(b.probeDue(500, true), true, "a person may force one");
  b.probing(1100);
  assert.equal(b.state, "half-open");
  assert.equal(b.probeDue(1200), false, "no second probe while one runs");
  b.failure(1300);
  assert.equal(b.state, "open", "a failed probe opens it again");
  assert.equal(b.probeDue(1300), false);
  assert.equal(b.probeDue(2100), true, "the interval counts from the last probe");
  b.probing(2100);
  assert.equal(b.success(), true, "a good probe closes it");
  assert.equal(b.state, "closed");
  assert.equal(b.failures, 0);
  assert.equal(b.openedAt, null);
});

Deno.test("breaker: a success resets the count; reset() forgets an open state", () => {
  const b = new CircuitBreaker(2, 1000);
  b.failure();
  assert.equal(b.success(), false, "it was closed");
  assert.equal(b.failure(), false, "the count started over");
  assert.equal(b.failure(), true);
  b.reset();
  assert.equal(b.state, "closed");
  assert.equal(b.failures, 0);
});
