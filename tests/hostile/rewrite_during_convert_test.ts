/**
 * A tester that reuses one file name, with the real agent process: version 1 is read, version 2
 * replaces it while version 1 converts (a slow custom converter holds the conversion open). The
 * post-action must not touch version 2: both versions' reports reach the server, and version 2
 * is deleted, moved or kept only after its own conversion. Replaced by rename (most testers) and
 * rewritten in place (same inode).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { logRecords } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";
import { installScriptedStarted, started } from "./_scripted.ts";

const cases: { afterSuccess: "delete" | "move" | "keep"; rewrite: "rename" | "in place" }[] = [
  { afterSuccess: "delete", rewrite: "rename" },
  { afterSuccess: "move", rewrite: "in place" },
  { afterSuccess: "keep", rewrite: "rename" },
];

for (const { afterSuccess, rewrite } of cases) {
  Deno.test(`rewrite during conversion (${afterSuccess}, replaced ${rewrite}): the new version is converted, not lost`, async () => {
    await using h = await AgentHarness.create({
      converters: [{
        name: "scripted",
        module: "./scripted.js",
        afterSuccess,
        params: { startedDir: "./started", slowMs: 1500 },
      }],
      config: { pool: { min: 1, max: 1, timeoutSeconds: 20 } },
    });
    const startedDir = await installScriptedStarted(h);
    await h.start();
    const v1 = makeSampleReport(1, { seed: 31 });
    const v2 = makeSampleReport(2, { seed: 31 });
    const file = await h.drop("scripted", "unit.json", JSON.stringify(v1));
    await h.waitFor(async () => (await started(startedDir)).length === 1, "version 1 converting");
    if (rewrite === "rename") await h.drop("scripted", "unit.json", JSON.stringify(v2));
    else await Deno.writeTextFile(file, JSON.stringify(v2));

    await h.waitFor(
      () => h.server.store.get(v1.id) !== undefined && h.server.store.get(v2.id) !== undefined,
      "both versions' reports on the server",
      30_000,
    );
    const drop = h.dropDir("scripted");
    if (afterSuccess === "delete") {
      await h.waitFor(async () => (await h.files(drop)).length === 0, "version 2 deleted");
    } else if (afterSuccess === "move") {
      const done = path.join(drop, "Done");
      // A move is a link into Done, then the source's removal: wait for both, not the first.
      await h.waitFor(
        async () => (await h.files(done)).length === 1 && (await h.files(drop)).length === 0,
        "version 2 moved",
      );
      assert.equal(
        await Deno.readTextFile(path.join(done, "unit.json")),
        JSON.stringify(v2),
        "Done holds version 2, the only one still on disk",
      );
    } else {
      await h.waitFor(async () => {
        const kept = await logRecords(h);
        return kept.filter((r) => /Queued report/.test(r.message)).length === 2;
      }, "both versions queued");
      assert.equal(await Deno.readTextFile(file), JSON.stringify(v2), "version 2 is kept");
    }
    const records = await logRecords(h);
    assert.ok(
      records.some((r) => /changed while it was converted/.test(r.message)),
      "the agent says why it left the file",
    );
    // Each version was converted once; the kept one is not taken again.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await started(startedDir)).length, 2, "two conversions, one per version");
    assert.deepEqual(await h.files(path.join(drop, "Error")), []);
  });
}
