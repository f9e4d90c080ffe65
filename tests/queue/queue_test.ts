import assert from "#assert";
import path from "#path";
import { type FsOps, realFsOps } from "../../src/queue/fs_ops.ts";
import { Queue } from "../../src/queue/queue.ts";
import { keyId, listNames, STATES } from "../../src/queue/layout.ts";
import { decodeEntry } from "../../src/queue/entry.ts";
import { entry } from "./_entry.ts";

/** Every state folder's entry ids, read from disk. */
async function onDisk(dataDir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of [...STATES, "tmp", "quarantine"]) {
    out[s] = (await listNames(path.join(dataDir, "queue", s)))
      .filter((n) => n.endsWith(".json") && !n.endsWith(".error.json"))
      .map((n) => keyId(n.slice(0, -5))).sort();
  }
  return out;
}

Deno.test("enqueue, claim, complete: files move through the state folders", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  await q.enqueue([entry("a"), entry("b")]);
  assert.deepEqual((await onDisk(dir)).queued, ["a", "b"]);
  const c = await q.claim();
  assert.equal(c?.envelope.id, "a");
  assert.deepEqual(new TextDecoder().decode((await q.readBody(c!))!), `{"id":"a"}`);
  assert.deepEqual((await onDisk(dir)).processing, ["a"]);
  await q.complete(c!.key);
  const disk = await onDisk(dir);
  assert.deepEqual(disk.completed, ["a"]);
  assert.deepEqual(disk.queued, ["b"]);
  assert.deepEqual(q.counts(), {
    queued: 1,
    processing: 0,
    completed: 1,
    error: 0,
    quarantine: 0,
    retrying: 0,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a transient failure goes to error with a sidecar, then back to queued when due", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  await q.enqueue([entry("a")]);
  const c = (await q.claim())!;
  const retryAt = new Date(Date.now() + 60_000).toISOString();
  const info = await q.fail(c.key, {
    reason: "server answered 503",
    lastStatus: 503,
    serverMessage: "busy",
    permanent: false,
    retryAt,
    correlationId: "c-a",
    id: "a",
    source: "/drop/a.json",
    sn: "SN-a",
    pn: "PN",
  });
  assert.equal(info.attempts, 1);
  const sidecar = JSON.parse(
    await Deno.readTextFile(path.join(dir, "queue", "error", c.key + ".error.json")),
  );
  assert.equal(sidecar.lastStatus, 503);
  assert.equal(sidecar.serverMessage, "busy");
  assert.equal(await q.requeueDue(Date.now()), 0, "not due yet");
  assert.equal(await q.requeueDue(Date.now() + 61_000), 1);
  const again = (await q.claim())!;
  assert.equal(again.attempts, 1, "the attempt count survives the round trip");
  const info2 = await q.fail(again.key, { ...sidecar, permanent: true, retryAt: null });
  assert.equal(info2.attempts, 2);
  assert.equal(await q.requeueDue(Date.now() + 1e9), 0, "permanent errors wait for a person");
  assert.equal(await q.requeueErrors(), 1);
  assert.equal((await q.claim())!.attempts, 0, "a person's requeue starts afresh");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("start-up recovery: processing back to queued, tmp removed, corrupt entries quarantined", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  await q.enqueue([entry("a"), entry("b"), entry("c")]);
  const a = (await q.claim())!; // left in processing: the agent "died"
  // A half-written temporary file and a truncated queued entry.
  await Deno.writeTextFile(path.join(dir, "queue", "tmp", "junk.json"), '{"v":1,');
  const qd = path.join(dir, "queue", "queued");
  const bName = (await listNames(qd)).find((n) => n.includes("-b"))!;
  const bytes = await Deno.readFile(path.join(qd, bName));
  await Deno.writeFile(path.join(qd, bName), bytes.subarray(0, bytes.length - 3));

  const quarantined: string[] = [];
  const q2 = await Queue.open(dir, { onQuarantine: (k) => quarantined.push(keyId(k)) });
  await q2.loaded();
  assert.deepEqual((await onDisk(dir)).tmp, []);
  assert.equal(q2.counts().queued, 3);
  const ids: string[] = [];
  for (let c = await q2.claim(); c; c = await q2.claim()) {
    if (await q2.readBody(c)) {
      ids.push(c.envelope.id);
      await q2.complete(c.key);
    }
  }
  assert.deepEqual(ids.sort(), ["a", "c"]);
  assert.deepEqual(quarantined, ["b"]);
  assert.equal(q2.counts().quarantine, 1);
  const reason = await Deno.readTextFile(
    path.join(dir, "queue", "quarantine", bName.replace(".json", ".reason.txt")),
  );
  assert.match(reason, /body is \d+ bytes/);
  assert.equal(a.envelope.id, "a", "the entry left in processing is among the recovered");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("completed entries are pruned beyond the configured count", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir, { keepCompletedCount: 2 });
  await q.enqueue(["a", "b", "c", "d"].map((id) => entry(id)));
  for (let c = await q.claim(); c; c = await q.claim()) await q.complete(c.key);
  assert.equal(await q.pruneCompleted(), 2);
  assert.deepEqual((await onDisk(dir)).completed, ["c", "d"]);
  await Deno.remove(dir, { recursive: true });
});

/** Dies (throws, and every later call throws) after `limit` operations; a write may be torn. */
class CrashingOps implements FsOps {
  count = 0;
  dead = false;
  constructor(readonly limit: number) {}
  #step(): void {
    if (this.dead) throw new Error("process is dead");
    if (this.count++ >= this.limit) {
      this.dead = true;
      throw new Error(`injected crash at step ${this.limit}`);
    }
  }
  async writeNew(file: string, chunks: Uint8Array[]) {
    if (!this.dead && this.count === this.limit) {
      // Torn write: half the bytes reach the file, then the process dies.
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) all.set(c, o), o += c.length;
      await Deno.writeFile(file, all.subarray(0, all.length >> 1));
    }
    this.#step();
    return realFsOps.writeNew(file, chunks);
  }
  rename(from: string, to: string) {
    this.#step();
    return realFsOps.rename(from, to);
  }
  syncDir(dir: string) {
    this.#step();
    return realFsOps.syncDir(dir);
  }
  remove(file: string) {
    this.#step();
    return realFsOps.remove(file);
  }
}

/** A workload touching every transition; records which ids the queue acknowledged. */
async function workload(q: Queue, acked: Set<string>, done: Set<string>): Promise<void> {
  for (const id of ["r1", "r2"]) {
    await q.enqueue([entry(id)]);
    acked.add(id);
  }
  await q.enqueue([entry("r3"), entry("r4")]);
  acked.add("r3").add("r4");
  const c1 = (await q.claim())!;
  await q.complete(c1.key);
  done.add(c1.envelope.id);
  const c2 = (await q.claim())!;
  await q.fail(c2.key, {
    reason: "503",
    lastStatus: 503,
    serverMessage: null,
    permanent: false,
    retryAt: new Date(0).toISOString(),
    correlationId: "x",
    id: c2.envelope.id,
    source: "",
    sn: "",
    pn: "",
  });
  await q.requeueDue();
  const c3 = (await q.claim())!;
  await q.release(c3.key);
  for (let c = await q.claim(); c; c = await q.claim()) {
    await q.complete(c.key);
    done.add(c.envelope.id);
  }
}

Deno.test("crash after every single write/fsync/rename: recovery loses no acknowledged report", async () => {
  // Count the steps of a clean run first.
  const probeDir = await Deno.makeTempDir();
  const probe = new CrashingOps(Infinity);
  await workload(await Queue.open(probeDir, { ops: probe }), new Set(), new Set());
  const steps = probe.count;
  await Deno.remove(probeDir, { recursive: true });
  assert.ok(steps > 20, `the workload has ${steps} steps`);

  for (let limit = 0; limit <= steps; limit++) {
    const dir = await Deno.makeTempDir();
    const acked = new Set<string>();
    const done = new Set<string>();
    const ops = new CrashingOps(limit);
    try {
      await workload(await Queue.open(dir, { ops }), acked, done);
    } catch (e) {
      assert.match((e as Error).message, /injected crash|process is dead/, `step ${limit}`);
    }
    // Restart with real operations: recovery must reach a consistent state.
    const q = await Queue.open(dir);
    const disk = await onDisk(dir);
    assert.deepEqual(disk.tmp, [], `step ${limit}: tmp cleaned`);
    assert.deepEqual(disk.processing, [], `step ${limit}: nothing left in processing`);
    const everywhere = [...disk.queued, ...disk.completed, ...disk.error];
    assert.equal(
      new Set(everywhere).size,
      everywhere.length,
      `step ${limit}: no entry in two states`,
    );
    for (const id of acked) {
      assert.ok(everywhere.includes(id), `step ${limit}: acknowledged report ${id} was lost`);
    }
    for (const id of done) {
      assert.ok(disk.completed.includes(id), `step ${limit}: completed ${id} came back`);
    }
    // Everything still readable drains to completed.
    await q.requeueErrors();
    for (let c = await q.claim(); c; c = await q.claim()) {
      const body = await q.readBody(c);
      if (body) {
        assert.equal(decodeEntry(await Deno.readFile(c.file)).envelope.id, c.envelope.id);
        await q.complete(c.key);
      }
    }
    const after = await onDisk(dir);
    for (const id of acked) assert.ok(after.completed.includes(id), `step ${limit}: ${id} drained`);
    assert.deepEqual(after.quarantine, [], `step ${limit}: nothing acknowledged was corrupt`);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recount: entries removed from queued/ by hand stop being counted, and not twice", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  const keys = await q.enqueue(["a", "b", "c", "d"].map((id) => entry(id)));
  for (const k of keys.slice(1, 3)) {
    await Deno.remove(path.join(dir, "queue", "queued", k + ".json"));
  }
  assert.equal(q.counts().queued, 4, "before the recount the queue can't know");
  await q.recount(); // notes the enqueue's moves: the queue was not still
  await q.recount();
  assert.equal(q.counts().queued, 2);
  // The uploader reaching the removed ones skips them without counting them out again.
  const a = await q.claim();
  assert.equal(a?.envelope.id, "a");
  assert.equal(q.counts().queued, 1);
  const d = await q.claim();
  assert.equal(d?.envelope.id, "d");
  assert.equal(q.counts().queued, 0);
  assert.equal(await q.claim(), null);
  assert.equal(q.backlog(), 2, "a and d in flight");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("recount: entries moved out and back are never counted below zero", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  const keys = await q.enqueue(["a", "b", "c"].map((id) => entry(id)));
  const queued = path.join(dir, "queue", "queued");
  const aside = path.join(dir, "aside");
  await Deno.mkdir(aside);
  for (const k of keys) await Deno.rename(path.join(queued, k + ".json"), path.join(aside, k));
  await q.recount(); // notes the enqueue's moves: the queue was not still
  await q.recount();
  assert.equal(q.counts().queued, 0);
  for (const k of keys) await Deno.rename(path.join(aside, k), path.join(queued, k + ".json"));
  for (const id of ["a", "b", "c"]) {
    assert.ok(q.counts().queued >= 0);
    assert.equal((await q.claim())?.envelope.id, id);
  }
  assert.equal(q.counts().queued, 0);
  assert.equal(q.counts().processing, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a state folder removed by hand is made again; the entry is not forgotten", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  await q.enqueue([entry("a")]);
  await Deno.remove(path.join(dir, "queue", "processing"), { recursive: true });
  const c = await q.claim();
  assert.equal(c?.envelope.id, "a");
  await Deno.remove(path.join(dir, "queue", "completed"), { recursive: true });
  await q.complete(c!.key);
  assert.deepEqual((await onDisk(dir)).completed, ["a"]);
  assert.equal(q.counts().processing, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an entry removed from processing/ while it uploads is forgotten, and said", async () => {
  const dir = await Deno.makeTempDir();
  const removed: string[] = [];
  const q = await Queue.open(dir, { onRemoved: (key, state) => removed.push(`${state}:${key}`) });
  await q.enqueue([entry("a"), entry("b"), entry("c")]);
  const [a, b, c] = [await q.claim(), await q.claim(), await q.claim()];
  for (const x of [a, b, c]) await Deno.remove(x!.file);
  await q.complete(a!.key);
  await q.fail(b!.key, {
    reason: "rejected",
    lastStatus: 400,
    serverMessage: null,
    permanent: true,
    retryAt: null,
    correlationId: "c-b",
    id: "b",
    source: "/drop/b.json",
    sn: "SN-b",
    pn: "PN",
  });
  await q.release(c!.key);
  const counts = q.counts();
  assert.ok(
    Object.values(counts).every((n) => n === 0),
    `nothing counted: ${JSON.stringify(counts)}`,
  );
  assert.deepEqual(removed, [a, b, c].map((x) => `processing:${x!.key}`));
  const disk = await onDisk(dir);
  assert.deepEqual([disk.completed, disk.error, disk.queued], [[], [], []]);
  assert.deepEqual(await listNames(path.join(dir, "queue", "error")), [], "no orphan sidecar");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("start-up: a folder or a link named like an entry in queued/ goes to quarantine", async () => {
  const dir = await Deno.makeTempDir();
  const q0 = await Queue.open(dir);
  const [key] = await q0.enqueue([entry("a")]);
  const queued = path.join(dir, "queue", "queued");
  const outside = path.join(dir, "outside.json");
  await Deno.copyFile(path.join(queued, key + ".json"), outside);
  await Deno.mkdir(path.join(queued, "9999999999999-0001-x.json"));
  await Deno.symlink(outside, path.join(queued, "9999999999999-0002-y.json"));
  const q = await Queue.open(dir);
  await q.loaded();
  assert.equal(q.counts().queued, 1);
  assert.equal(q.counts().quarantine, 2);
  assert.equal((await q.claim())?.envelope.id, "a");
  assert.equal(await q.claim(), null);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("error/ and tmp/ removed by hand are made again: a failure and an enqueue still record", async () => {
  const dir = await Deno.makeTempDir();
  const q = await Queue.open(dir);
  await q.enqueue([entry("a")]);
  const c = (await q.claim())!;
  await Deno.remove(path.join(dir, "queue", "error"), { recursive: true });
  await Deno.remove(path.join(dir, "queue", "tmp"), { recursive: true });
  await q.fail(c.key, {
    reason: "server answered 503",
    lastStatus: 503,
    serverMessage: null,
    permanent: false,
    retryAt: new Date(Date.now() + 60_000).toISOString(),
    correlationId: "c-a",
    id: "a",
    source: "/drop/a.json",
    sn: "SN-a",
    pn: "PN",
  });
  assert.deepEqual((await onDisk(dir)).error, ["a"]);
  await Deno.remove(path.join(dir, "queue", "tmp"), { recursive: true });
  await q.enqueue([entry("b")]);
  assert.deepEqual((await onDisk(dir)).queued, ["b"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an entry removed from error/ by hand is forgotten; the other retries go on", async () => {
  const dir = await Deno.makeTempDir();
  const removed: string[] = [];
  const q = await Queue.open(dir, { onRemoved: (key, state) => removed.push(`${state}:${key}`) });
  await q.enqueue([entry("a"), entry("b")]);
  const claimed = [(await q.claim())!, (await q.claim())!];
  for (const c of claimed) {
    await q.fail(c.key, {
      reason: "server answered 503",
      lastStatus: 503,
      serverMessage: null,
      permanent: false,
      retryAt: new Date(Date.now() - 1000).toISOString(),
      correlationId: "c",
      id: c.envelope.id,
      source: "/drop/x.json",
      sn: "SN",
      pn: "PN",
    });
  }
  await Deno.remove(path.join(dir, "queue", "error", claimed[0].key + ".json"));
  assert.equal(await q.requeueDue(), 1);
  assert.deepEqual(removed, [`error:${claimed[0].key}`]);
  assert.equal(q.counts().error, 0);
  assert.equal((await q.claim())?.envelope.id, "b");
  // b keeps its history beside it while queued; a's sidecar went with it.
  assert.deepEqual(await listNames(path.join(dir, "queue", "error")), [
    claimed[1].key + ".error.json",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("start-up: a non-entry that can't be quarantined is skipped and said; the rest loads", async () => {
  const dir = await Deno.makeTempDir();
  const q0 = await Queue.open(dir);
  await q0.enqueue([entry("a"), entry("b")]);
  await Deno.mkdir(path.join(dir, "queue", "queued", "0000000000001-0001-x.json"));
  const ops: FsOps = {
    ...realFsOps,
    rename: (from, to) =>
      to.includes("quarantine")
        ? Promise.reject(new Deno.errors.PermissionDenied("injected"))
        : realFsOps.rename(from, to),
  };
  const q = await Queue.open(dir, { ops });
  assert.equal((await q.claim())?.envelope.id, "a");
  assert.equal((await q.claim())?.envelope.id, "b");
  await assert.rejects(() => q.claim(), /x\.json is a folder, not an entry.*remove it by hand/);
  assert.equal(await q.claim(), null, "said once");
  await Deno.remove(dir, { recursive: true });
});
