/**
 * The poison-file record on its own (src/watch/poison.ts), across simulated deaths: a breaker
 * that is dropped without `stopping()` is a death; a clean stop is not; a file that changed or
 * went away is forgotten; a torn last line is ignored; the record survives its own compaction.
 */
import assert from "#assert";
import path from "#path";
import { POISON_DEATHS, PoisonBreaker, type PoisonFile } from "../../src/watch/poison.ts";
import { identityOf } from "../../src/watch/source_file.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agent-poison-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function dropFile(dir: string, name: string, text: string): Promise<PoisonFile> {
  const p = path.join(dir, name);
  await Deno.writeTextFile(p, text);
  return { path: p, ...identityOf(await Deno.lstat(p)) };
}

Deno.test("poison record: deaths while converting are counted; a clean stop and a finished file are not", async () => {
  await withDir(async (dir) => {
    const record = path.join(dir, "index", "converting.log");
    const bad = await dropFile(dir, "bad.json", "bad");
    const good = await dropFile(dir, "good.json", "good");
    for (let death = 1; death <= POISON_DEATHS; death++) {
      const b = (await PoisonBreaker.open(record))!;
      assert.equal(b.deaths(bad), death - 1);
      assert.equal(b.condemned(bad), false);
      await b.begin(bad);
      await b.begin(good);
      b.end(good); // converted; the agent then "dies" with bad still converting
      await b.close();
    }
    const after = (await PoisonBreaker.open(record))!;
    assert.equal(after.deaths(bad), POISON_DEATHS);
    assert.ok(after.condemned(bad));
    assert.equal(after.suspect(good), false, "a file that finished before the death is not blamed");

    // A clean stop: the file converting then is not blamed.
    const slow = await dropFile(dir, "slow.json", "slow");
    await after.begin(slow);
    await after.stopping();
    await after.begin(await dropFile(dir, "late.json", "late")); // started while stopping
    await after.close();
    const next = (await PoisonBreaker.open(record))!;
    assert.equal(next.deaths(slow), 0);
    assert.equal(next.suspect(await dropFile(dir, "late.json", "late")), false);
    assert.equal(next.deaths(bad), POISON_DEATHS, "earlier deaths survive the rewrite");

    // Sent to Error (gone from its path): forgotten; the same name with other content is new.
    await Deno.remove(bad.path);
    await next.settle(bad);
    await next.close();
    const fixed = await dropFile(dir, "bad.json", "fixed, and longer");
    const last = (await PoisonBreaker.open(record))!;
    assert.equal(last.deaths(bad), 0);
    assert.equal(last.suspect(fixed), false);
    await last.close();
  });
});

Deno.test("poison record: a torn last line and a changed file are ignored; compaction keeps the state", async () => {
  await withDir(async (dir) => {
    const record = path.join(dir, "converting.log");
    const a = await dropFile(dir, "a.json", "a");
    const c = await dropFile(dir, "c.json", "c");
    const b = (await PoisonBreaker.open(record))!;
    await b.begin(a);
    await b.begin(c);
    await b.close();
    await Deno.writeTextFile(record, '+ ["/x/half-writ', { append: true });
    await Deno.writeTextFile(c.path, "c, rewritten by the tester"); // another version now
    const b2 = (await PoisonBreaker.open(record))!;
    assert.equal(b2.deaths(a), 1);
    assert.equal(b2.suspect(c), false, "the record names a version of c that is gone");
    // Thousands of conversions later (compaction runs), a is still a suspect.
    for (let k = 0; k < 2200; k += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        path: `/none/${k + i}`,
        size: 1,
        mtimeMs: 1,
        dev: null,
        ino: null,
      }));
      await Promise.all(batch.map((f) => b2.begin(f)));
      for (const f of batch) b2.end(f);
    }
    await b2.close();
    const lines = (await Deno.readTextFile(record)).split("\n").length;
    assert.ok(lines < 1000, `compacted (${lines} lines)`);
    const b3 = (await PoisonBreaker.open(record))!;
    assert.equal(b3.deaths(a), 1, "a clean run since: no new death, the old one kept");
    await b3.close();
  });
});
