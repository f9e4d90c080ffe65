/**
 * The ingest transaction identifies a file before converting it: a file identical to one
 * already queued costs a read and a hash, and is never converted or written to the queue again.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const fixtures = path.resolve(import.meta.dirname!, "../fixtures/converters");

Deno.test("ingest: a re-dropped identical file is skipped before conversion; a changed one converts", async () => {
  const log = path.join(await Deno.makeTempDir({ prefix: "agent-dedup-" }), "conversions.log");
  await Deno.writeTextFile(log, "");
  await using h = await AgentHarness.create({
    converters: [{ name: "c", module: path.join(fixtures, "counting.js"), params: { log } }],
  });
  await h.start();

  await h.drop("c", "first.txt", "OK SN-DUP-1");
  await h.waitFor(() => h.server.stats().reports === 1, "the first file's report");
  await h.waitFor(async () => (await h.files(h.dropDir("c"))).length === 0, "first.txt removed");

  await h.drop("c", "again.txt", "OK SN-DUP-1"); // the same bytes under another name
  await h.waitFor(
    async () => (await h.files(h.dropDir("c"))).length === 0,
    "again.txt taken (as a duplicate)",
  );
  await h.drop("c", "other.txt", "OK SN-DUP-2");
  await h.waitFor(() => h.server.stats().reports === 2, "the changed file's report");

  const converted = (await Deno.readTextFile(log)).split("\n").filter(Boolean);
  assert.deepEqual(converted, ["first.txt", "other.txt"], "the duplicate was never converted");
  assert.equal(h.server.stats().receives, 2, "nor queued and sent again");
  assert.deepEqual(await h.files(path.join(h.dataDir, "queue", "tmp")), [], "nothing staged");
  await Deno.remove(path.dirname(log), { recursive: true });
});
