/**
 * A reload that restarts a converter while its files convert (renamed, or any setting changed):
 * the new converter used to take the files its old self was still converting, so each report
 * was converted, queued and uploaded twice (the duplicate check sees a file only once it is
 * queued). A file in flight is now offered again only once its first taking is done.
 */
import assert from "#assert";
import { AgentHarness, type HarnessConverter } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { installScriptedStarted, started } from "./_scripted.ts";

Deno.test("reload in flight: a converter renamed while its files convert sends each report once", async () => {
  await using h = await AgentHarness.create({
    converters: [{
      name: "scripted",
      module: "./scripted.js",
      afterSuccess: "move",
      params: { startedDir: "./started", slowMs: 1500 },
    }],
    config: { pool: { min: 2, max: 2, timeoutSeconds: 20 } },
  });
  const startedDir = await installScriptedStarted(h);
  await h.start();
  const reports = makeSampleReports(4, { seed: 23 });
  for (const r of reports) await h.drop("scripted", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(async () => (await started(startedDir)).length >= 1, "a conversion running");
  (h.config.converters as HarnessConverter[])[0].name = "scripted-renamed";
  await h.writeConfig();
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id) !== undefined),
    "every report on the server",
    30_000,
  );
  await h.waitFor(async () => (await h.status()).queue.queued === 0, "nothing left queued");
  await new Promise((r) => setTimeout(r, 2000)); // a second taking would be converting by now
  const counts = h.server.store.receiveCounts();
  for (const r of reports) {
    assert.equal(counts[r.id], 1, `report ${r.sn} received ${counts[r.id]}×`);
  }
  assert.equal((await started(startedDir)).length, reports.length, "one conversion per file");
});
