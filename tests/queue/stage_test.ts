/**
 * The enqueue as intake does it: the queue writes each entry in tmp/ (written, fsynced, never
 * acknowledged), renames it into queued/ and fsyncs the folder; and the in-memory body cache
 * that spares the uploader a read.
 */
import assert from "#assert";
import path from "#path";
import { type FsOps, realFsOps } from "../../src/queue/fs_ops.ts";
import { Queue } from "../../src/queue/queue.ts";
import { listNames } from "../../src/queue/layout.ts";
import { decodeEntry, sha256Hex } from "../../src/queue/entry.ts";
import { BodyCache } from "../../src/queue/body_cache.ts";
import { KeyedLog } from "../../src/watch/keyed_log.ts";
import { entry } from "./_entry.ts";

const names = (dir: string, state: string) => listNames(path.join(dir, "queue", state));

Deno.test("an enqueue leaves complete entries in queued/ and nothing in tmp/, in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const q = await Queue.open(dir);
    const keys = await q.enqueue([entry("a"), entry("b")]);
    assert.equal(keys.length, 2);
    assert.deepEqual(await names(dir, "tmp"), [], "renamed out of tmp/");
    assert.deepEqual((await names(dir, "queued")).sort(), keys.map((k) => k + ".json").sort());
    for (const k of keys) {
      const { envelope, body } = decodeEntry(
        await Deno.readFile(path.join(dir, "queue", "queued", k + ".json")),
      );
      assert.equal(envelope.bodySha256, sha256Hex(body));
    }
    assert.equal(q.counts().queued, 2);
    assert.equal((await q.claim())!.envelope.id, "a", "FIFO in the order given");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("written to tmp/ but not renamed (a crash in between): nothing is queued after a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let renames = 0;
    const crashing: FsOps = {
      ...realFsOps,
      rename(from, to) {
        if (++renames === 1) return Promise.reject(new Error("killed"));
        return realFsOps.rename(from, to);
      },
    };
    const q = await Queue.open(dir, { ops: crashing });
    // What a kill -9 between the write and the rename leaves: a complete file in tmp/.
    await realFsOps.writeNew(path.join(q.dir, "tmp", "left.json"), [new Uint8Array(8)]);
    await assert.rejects(() => q.enqueue([entry("a")]), /killed/);
    assert.equal(q.counts().queued, 0, "not acknowledged, not queued");
    const q2 = await Queue.open(dir);
    await q2.loaded();
    assert.deepEqual(await names(dir, "tmp"), [], "start-up empties tmp/");
    assert.equal(q2.counts().queued, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write removes what it wrote, queues nothing, and throws", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let writes = 0;
    const ops: FsOps = {
      ...realFsOps,
      async writeNew(file, chunks) {
        if (++writes === 2) {
          await Deno.writeFile(file, chunks[0]); // torn: the envelope line only
          throw Object.assign(new Error("No space left on device"), { code: "ENOSPC" });
        }
        await realFsOps.writeNew(file, chunks);
      },
    };
    const q = await Queue.open(dir, { ops });
    await assert.rejects(
      () => q.enqueue([entry("a"), entry("b"), entry("c")]),
      /No space left/,
    );
    assert.deepEqual(await names(dir, "tmp"), []);
    assert.deepEqual(await names(dir, "queued"), []);
    assert.equal(q.counts().queued, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a committed body is uploaded from memory; without the cache it is read and checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const q = await Queue.open(dir);
    await q.enqueue([entry("a", '{"id":"a","x":1}')]);
    const c = (await q.claim())!;
    assert.ok(c.body, "held in memory since the enqueue");
    assert.equal(new TextDecoder().decode(c.body), '{"id":"a","x":1}');
    const onDisk = decodeEntry(await Deno.readFile(c.file));
    assert.deepEqual(onDisk.body, c.body, "the file holds the same bytes");
    assert.equal(c.bodyOffset, (await Deno.readFile(c.file)).indexOf(0x0a) + 1);
    await q.complete(c.key);

    const uncached = await Queue.open(path.join(dir, "other"), { cacheBytes: 0 });
    await uncached.enqueue([entry("b")]);
    const d = (await uncached.claim())!;
    assert.equal(d.body, undefined, "not held");
    assert.equal(new TextDecoder().decode((await uncached.readBody(d))!), '{"id":"b"}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the body cache holds at most its byte budget, the oldest first", () => {
  const cache = new BodyCache(10, 6);
  const e = (n: number) => ({ envelope: {} as never, body: new Uint8Array(n) });
  cache.add("k1", e(4));
  cache.add("k2", e(7)); // larger than one entry may be
  cache.add("k3", e(4));
  cache.add("k4", e(4)); // over the budget: the newest is left out
  assert.equal(cache.bytes, 8);
  assert.equal(cache.take("k2"), undefined);
  assert.equal(cache.take("k4"), undefined);
  assert.equal(cache.take("k1")?.body.length, 4);
  assert.equal(cache.bytes, 4);
  assert.equal(cache.take("k1"), undefined, "taken once");
});

Deno.test("index lines set at once are written together and all survive a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = path.join(dir, "seen.log");
    const log = await KeyedLog.open(file);
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.set(`k${i}`, `v${i}`)));
    await log.delete("k7");
    await log.close();
    const again = await KeyedLog.open(file);
    assert.equal(again.size, 199);
    assert.equal(again.get("k199"), "v199");
    assert.equal(again.get("k7"), undefined);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
