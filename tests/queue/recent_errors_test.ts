/**
 * Status from memory: the newest error entries and their sidecars are kept by the queue, so a
 * /status or /health poll reads nothing from error/; the listing is read once at start-up, and
 * again only for the few sidecars needed after a listed entry left error/.
 */
import assert from "#assert";
import path from "#path";
import { Queue } from "../../src/queue/queue.ts";
import { RECENT_ERRORS } from "../../src/queue/error_info.ts";
import { entry } from "./_entry.ts";

const sidecar = (id: string, reason: string) => ({
  reason,
  lastStatus: 400,
  serverMessage: "Authorization: Basic c2VjcmV0dG9rZW4= rejected",
  permanent: true,
  retryAt: null,
  correlationId: "c-" + id,
  id,
  source: `/drop/${id}.json`,
  sn: "SN-" + id,
  pn: "PN",
});

/** Enqueues, claims and fails `n` entries, oldest first; their keys in that order. */
async function failMany(q: Queue, n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `e${String(i).padStart(3, "0")}`;
    await q.enqueue([entry(id)]);
    const c = (await q.claim())!;
    await q.fail(c.key, sidecar(id, `rejected ${id}`));
    keys.push(c.key);
  }
  return keys;
}

Deno.test("recent errors come from memory: newest first, redacted, no read of error/ per poll", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const q = await Queue.open(dir);
    const keys = await failMany(q, RECENT_ERRORS + 5);
    const newest = keys.slice(-RECENT_ERRORS).reverse();

    // The sidecars go behind the queue's back: a poll that read error/ would lose them.
    const errorDir = path.join(q.dir, "error");
    for await (const e of Deno.readDir(errorDir)) {
      if (e.name.endsWith(".error.json")) await Deno.remove(path.join(errorDir, e.name));
    }
    const listed = await q.recentErrors();
    assert.deepEqual(listed.map((e) => e.key), newest, "the newest, newest first");
    assert.equal(listed[0].reason, `rejected e${String(RECENT_ERRORS + 4).padStart(3, "0")}`);
    assert.doesNotMatch(JSON.stringify(listed), /c2VjcmV0dG9rZW4=/, "secrets masked");
    assert.equal((await q.recentErrors(3)).length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recent errors: read from error/ at start-up; a requeued entry makes room for an older one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await failMany(await Queue.open(dir), RECENT_ERRORS + 2);
    const q = await Queue.open(dir); // a restart
    await q.loaded();
    const listed = await q.recentErrors();
    assert.deepEqual(listed.map((e) => e.key), keys.slice(-RECENT_ERRORS).reverse());
    assert.equal(listed[0].attempts, 1, "the sidecar as written");

    const newestTwo = keys.slice(-2);
    assert.equal(await q.requeueErrors((k) => newestTwo.includes(k)), 2);
    const after = await q.recentErrors();
    assert.deepEqual(
      after.map((e) => e.key),
      keys.slice(0, RECENT_ERRORS).reverse(),
      "the two requeued are gone; the two older ones are read in their place",
    );
    assert.equal(after.at(-1)!.reason, "rejected e000");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
