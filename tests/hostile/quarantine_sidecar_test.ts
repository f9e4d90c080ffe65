/**
 * A quarantined entry takes its error sidecar along (no `.error.json` left in error/ describing
 * an entry that is not there), and start-up sweeps notes whose entry is gone. Real queue
 * folders, a real corrupted entry file, and the real agent process for the sweep.
 */
import assert from "#assert";
import path from "#path";
import { Queue } from "../../src/queue/queue.ts";
import { entry } from "../queue/_entry.ts";
import { AgentHarness } from "../e2e/_harness.ts";

const isWindows = Deno.build.os === "windows";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

async function mode(file: string): Promise<string> {
  return ((await Deno.stat(file)).mode! & 0o777).toString(8);
}

Deno.test("quarantine: an entry that failed before goes to quarantine with its sidecar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "quarantine-sidecar-" });
  try {
    const q = await Queue.open(dir);
    const [key] = await q.enqueue([entry("a")]);
    const claimed = await q.claim();
    assert.equal(claimed?.key, key);
    await q.fail(key, {
      reason: "HTTP 500: the server failed",
      lastStatus: 500,
      serverMessage: "the server failed",
      permanent: false,
      retryAt: new Date(Date.now() - 1000).toISOString(),
      correlationId: "c-a",
      id: "a",
      source: "/drop/a.json",
      sn: "SN-a",
      pn: "PN",
    });
    assert.equal(await q.requeueDue(), 1);
    const queue = path.join(dir, "queue");
    assert.deepEqual(await names(path.join(queue, "error")), [`${key}.error.json`], "history kept");
    // The disk mangles the waiting entry.
    await Deno.writeTextFile(path.join(queue, "queued", `${key}.json`), "not an entry");

    assert.equal(await q.claim(), null, "nothing readable to upload");
    assert.deepEqual(await names(path.join(queue, "error")), [], "no sidecar left behind");
    assert.deepEqual(await names(path.join(queue, "quarantine")), [
      `${key}.error.json`,
      `${key}.json`,
      `${key}.reason.txt`,
    ]);
    const info = JSON.parse(
      await Deno.readTextFile(path.join(queue, "quarantine", `${key}.error.json`)),
    );
    assert.equal(info.attempts, 1, "its history is kept for the person");
    assert.deepEqual([q.counts().error, q.counts().quarantine], [0, 1]);
    if (!isWindows) {
      for (const f of [`${key}.error.json`, `${key}.reason.txt`]) {
        assert.equal(await mode(path.join(queue, "quarantine", f)), "600", f);
      }
    }

    // And a restart keeps the quarantined entry with its notes.
    const again = await Queue.open(dir);
    assert.equal(again.counts().quarantine, 1);
    assert.equal((await names(path.join(queue, "quarantine"))).length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("quarantine: at start-up the agent removes sidecars and reason files whose entry is gone", async () => {
  await using h = await AgentHarness.create();
  const queue = path.join(h.dataDir, "queue");
  for (const d of ["error", "quarantine"]) {
    await Deno.mkdir(path.join(queue, d), { recursive: true });
  }
  const base = Date.now() - 60_000;
  const key = (n: number) => `${base + n}-000${n}-0000000${n}-0000-4000-8000-00000000000${n}`;
  const sidecar = (k: string) =>
    JSON.stringify({
      reason: "HTTP 500",
      attempts: 1,
      lastStatus: 500,
      serverMessage: null,
      permanent: true,
      retryAt: null,
      failedAt: new Date().toISOString(),
      correlationId: "c",
      id: k.slice(19),
      source: "/drop/x.json",
      sn: "SN",
      pn: "PN",
    });
  // Orphans: a sidecar in error/ and notes in quarantine/ whose entries a person deleted.
  await Deno.writeTextFile(path.join(queue, "error", `${key(1)}.error.json`), sidecar(key(1)));
  await Deno.writeTextFile(path.join(queue, "quarantine", `${key(2)}.reason.txt`), "x corrupt\n");
  await Deno.writeTextFile(path.join(queue, "quarantine", `${key(2)}.error.json`), sidecar(key(2)));
  // A quarantined entry with its notes stays whole.
  await Deno.writeTextFile(path.join(queue, "quarantine", `${key(3)}.json`), "not an entry");
  await Deno.writeTextFile(path.join(queue, "quarantine", `${key(3)}.reason.txt`), "x corrupt\n");
  await Deno.writeTextFile(path.join(queue, "quarantine", `${key(3)}.error.json`), sidecar(key(3)));

  await h.start();
  assert.deepEqual(await names(path.join(queue, "error")), []);
  assert.deepEqual(await names(path.join(queue, "quarantine")), [
    `${key(3)}.error.json`,
    `${key(3)}.json`,
    `${key(3)}.reason.txt`,
  ]);
  const s = await h.status();
  assert.deepEqual([s.queue.error, s.queue.quarantine], [0, 1]);
  assert.equal(await h.stop(), 0);
});
