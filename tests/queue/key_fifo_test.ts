import assert from "node:assert/strict";
import { KeyFifo } from "../../src/queue/key_fifo.ts";

function key(ms: number, seq: number, id: string = crypto.randomUUID()): string {
  return `${String(ms).padStart(13, "0")}-${String(seq).padStart(4, "0")}-${id}`;
}

function drain(f: KeyFifo): string[] {
  const out: string[] = [];
  for (let k = f.shift(); k !== undefined; k = f.shift()) out.push(k);
  return out;
}

Deno.test("key fifo: pushed keys come back exactly, in order, across chunks", () => {
  const f = new KeyFifo();
  const keys: string[] = [];
  for (let i = 0; i < 10_000; i++) keys.push(key(1_764_000_000_000 + i, i % 10_000));
  // Keys that don't pack: an upper-case id, a non-UUID id, a short time.
  keys.splice(17, 0, key(1_764_000_000_017, 1, crypto.randomUUID().toUpperCase()));
  keys.splice(5000, 0, key(1_764_000_004_999, 2, "station-7_report 12"));
  keys.splice(9000, 0, key(42, 3));
  for (const k of keys) f.push(k);
  assert.equal(f.length, keys.length);
  assert.equal(f.peek(), keys[0]);
  assert.deepEqual(drain(f), keys);
  assert.equal(f.length, 0);
  assert.equal(f.shift(), undefined);
  assert.equal(f.peek(), undefined);
  f.push(keys[3]); // usable again once empty
  assert.equal(f.shift(), keys[3]);
});

Deno.test("key fifo: unshift puts keys back at the front, the last one first", () => {
  const f = new KeyFifo();
  const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => key(1_764_000_000_000 + i, i));
  f.push(a);
  f.push(b);
  assert.equal(f.shift(), a);
  f.unshift(a);
  f.unshift(c);
  f.addRun([e]);
  f.push(d);
  assert.equal(f.length, 5);
  assert.equal(f.peek(), c);
  assert.deepEqual(drain(f), [c, a, e, b, d]);
});

Deno.test("key fifo: runs merge into folder-listing order (string order of the keys)", () => {
  const f = new KeyFifo();
  const keys: string[] = [];
  for (let i = 0; i < 9_000; i++) {
    // Few distinct times, so sequence and id decide many ties.
    keys.push(key(1_764_000_000_000 + (i % 7), i % 3));
  }
  keys.push(key(1_764_000_000_003, 1, "ODD-id"), key(1_764_000_000_003, 1, "0dd"));
  const shuffled = [...keys].sort(() => Math.random() - 0.5);
  for (let i = 0; i < shuffled.length; i += 700) f.addRun(shuffled.slice(i, i + 700));
  assert.equal(f.length, keys.length);
  assert.equal(f.minTime(), 1_764_000_000_000);
  assert.deepEqual(drain(f), [...keys].sort());
});

Deno.test("key fifo: a run added while keys are taken joins the merge", () => {
  const f = new KeyFifo();
  const keys = Array.from({ length: 300 }, (_, i) => key(1_764_000_000_000 + i, 0));
  f.addRun(keys.filter((_, i) => i % 2 === 0));
  const first = [f.shift(), f.shift()];
  assert.deepEqual(first, [keys[0], keys[2]]);
  f.addRun(keys.filter((_, i) => i % 2 === 1)); // keys[1] is now the oldest
  assert.equal(f.peek(), keys[1]);
  assert.deepEqual(drain(f), keys.filter((k) => !first.includes(k)));
});

Deno.test("key fifo: min time looks at the front, the runs and the back", () => {
  const f = new KeyFifo();
  assert.equal(f.minTime(), null);
  f.push(key(1_764_000_000_500, 0));
  assert.equal(f.minTime(), 1_764_000_000_500);
  f.addRun([key(1_764_000_000_300, 0)]);
  assert.equal(f.minTime(), 1_764_000_000_300);
  f.unshift(key(1_764_000_000_100, 0));
  assert.equal(f.minTime(), 1_764_000_000_100);
});
