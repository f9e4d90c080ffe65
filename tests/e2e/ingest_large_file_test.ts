/**
 * A file of thousands of reports (a synthetic STDF lot) through the real agent: its reports are
 * queued in batches while it converts, and the file's post-action waits for the last one. Killed
 * (-9) with part of its reports queued, the agent finds the file still in the drop folder at the
 * restart and converts it again: every report reaches the server (those queued before the kill
 * are queued again under the same ids, which the server upserts), nothing ends in Error.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { writeLargeStdf } from "../../scripts/bench/convert.ts";
import { cgroupUnavailable, MemoryCgroup } from "../hostile/_cgroup.ts";

Deno.test("ingest: a 4 MB STDF file (3,000+ reports) killed -9 mid-file loses nothing", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "stdf", format: "stdf", pattern: "*.stdf" }],
    config: { pool: { min: 1, max: 1, timeoutSeconds: 120 } },
  });
  const file = path.join(h.dir, "lot.stdf");
  const { parts } = writeLargeStdf(file, 4);
  const queued = path.join(h.dataDir, "queue", "queued");
  const count = async (dir: string) => (await h.files(dir).catch(() => [])).length;

  // No uploads before the kill (the server is down): what is queued is in the queue folder.
  await h.server.stop();
  await h.start();
  await h.drop("stdf", "lot.stdf", await Deno.readFile(file));
  // Some batches queued, not all: the file is mid-way.
  await h.waitFor(async () => (await count(queued)) >= 500, "the first batch queued", 60_000);
  const before = await count(queued);
  await h.kill9();
  assert.ok(before < parts, `killed mid-file (${before} of ${parts} queued)`);
  assert.deepEqual(
    await h.files(h.dropDir("stdf")),
    ["lot.stdf"],
    "the file waits in the drop folder",
  );

  await h.server.start();
  await h.start();
  await h.waitFor(
    () => h.server.stats().reports === parts,
    `all ${parts} reports on the server`,
    120_000,
  );
  await h.waitFor(async () => (await h.files(h.dropDir("stdf"))).length === 0, "the file deleted");
  assert.deepEqual(await h.files(path.join(h.dir, "drop", "stdf", "Error")).catch(() => []), []);
  assert.ok(h.server.stats().receives >= parts, "re-sends only of the same ids");
  await h.stop();
});

Deno.test({
  name: "ingest: a 20 MB STDF file (15,000+ reports) converts under a real 320 MiB memory limit",
  ignore: cgroupUnavailable !== null,
  async fn() {
    await using cg = await MemoryCgroup.create(320 * 1024 * 1024);
    await using h = await AgentHarness.create({
      converters: [{ name: "stdf", format: "stdf", pattern: "*.stdf" }],
      config: { pool: { min: 1, max: 1, timeoutSeconds: 300 }, log: { level: "warning" } },
    });
    const file = path.join(h.dir, "lot.stdf");
    const { parts } = writeLargeStdf(file, 20);
    await h.start({}, cg.via());
    await h.drop("stdf", "lot.stdf", await Deno.readFile(file));
    await Deno.remove(file);
    await h.waitFor(() => h.server.stats().reports === parts, `${parts} reports`, 300_000);
    await h.waitFor(async () => (await h.files(h.dropDir("stdf"))).length === 0, "file deleted");
    assert.equal(await cg.oomKills(), 0, "never killed for memory");
    console.log(`peak ${(await cg.peakBytes() / 1048576).toFixed(0)} MiB for ${parts} reports`);
    await h.stop();
  },
});
