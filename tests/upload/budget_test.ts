import assert from "#assert";
import { RetryBudget } from "../../src/upload/budget.ts";

Deno.test("retry budget: a burst of perMinute, then perMinute per minute", () => {
  const b = new RetryBudget(60, 0);
  let taken = 0;
  while (b.take(0)) taken++;
  assert.equal(taken, 60, "a thousand failures get 60 retries now, not a thousand");
  assert.equal(b.take(500), false, "half a token after 0.5 s");
  assert.equal(b.take(1000), true, "one per second after that");
  assert.equal(b.take(1000), false);
  assert.equal(b.available(10_000), 9);
  assert.equal(b.available(600_000), 60, "never more than the burst");
});

Deno.test("retry budget: a lower perMinute (hot reload) takes effect at the next refill", () => {
  const b = new RetryBudget(100, 0);
  b.perMinute = 10;
  assert.equal(b.available(0), 10, "capped at the new size");
});
