/**
 * `followSymlinks: false` holds for every folder on a file's way, not only its last name, with
 * the real agent process: a subfolder of a recursive watch folder replaced by a link to a
 * private folder after its file was seen, and the watch folder itself replaced by one, lead the
 * agent nowhere. The private file is not read, not uploaded, not deleted; the swapped watch
 * folder is a health reason until it is put back, and then files are taken again.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { expectCleared, expectReason, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";

/** A private folder outside every configured one, holding a valid report readable by root only. */
async function privateReport(h: AgentHarness, seed: number) {
  const dir = path.join(h.dir, "victim");
  await Deno.mkdir(dir);
  const report = makeSampleReport(seed, { seed });
  const text = JSON.stringify(report);
  const file = path.join(dir, "valid.json");
  await Deno.writeTextFile(file, text, { mode: 0o600 });
  return { dir, file, report, text };
}

Deno.test("watch path swap: a subfolder replaced by a link to a private folder after discovery is not followed", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf", recursive: true, pattern: "*.json" }],
    // Rescans rarely: the gate, not a rescan (which never enters a link), looks at the file next.
    config: { intake: { stableSeconds: 1, rescanSeconds: 30, emptyFileSeconds: 5 } },
  });
  const victim = await privateReport(h, 61);
  await h.start();
  const drop = h.dropDir("json");
  const sub = path.join(drop, "d");
  await Deno.mkdir(sub);
  await Deno.writeTextFile(path.join(sub, "valid.json"), "x"); // a name the writer wants
  await h.waitFor(() => /Seen \S*\/d\/valid\.json/.test(h.output), "d/valid.json seen");
  await Deno.rename(sub, path.join(drop, "d.old"));
  await Deno.symlink(victim.dir, sub);

  await waitLog(
    h,
    (rs) => rs.some((r) => /d\/valid\.json is not taken: .*symbolic link/.test(r.message)),
    "the agent refusing the file below the swapped folder",
  );
  // Still working: a later file is taken.
  const later = makeSampleReport(62);
  await h.drop("json", "later.json", JSON.stringify(later));
  await h.waitFor(() => h.server.store.get(later.id) !== undefined, "the later file uploaded");

  assert.equal(h.server.store.get(victim.report.id), undefined, "the private report was uploaded");
  assert.equal(await Deno.readTextFile(victim.file), victim.text, "the private file is untouched");
  assert.ok((await Deno.lstat(sub)).isSymlink, "the link is left as it is");
  assert.doesNotMatch(h.output, new RegExp(`sn ${victim.report.sn}`));
});

Deno.test("watch path swap: the watch folder itself replaced by a link is refused (health), and taken from again once put back", async () => {
  await using h = await AgentHarness.create({
    config: { intake: { stableSeconds: 0.5, rescanSeconds: 1, emptyFileSeconds: 5 } },
  });
  const victim = await privateReport(h, 63);
  await h.start();
  const first = makeSampleReport(64);
  await h.drop("json", "first.json", JSON.stringify(first));
  await h.waitFor(() => h.server.store.get(first.id) !== undefined, "the first file uploaded");

  const drop = h.dropDir("json");
  const moved = `${drop}.old`;
  await Deno.rename(drop, moved);
  await Deno.symlink(victim.dir, drop);
  await expectReason(
    h,
    /watch folder \S*drop\/json \(converter json\) refused: .*symbolic link/,
    "degraded",
  );

  // Put back: the reason clears and files are taken again.
  await Deno.remove(drop);
  await Deno.rename(moved, drop);
  await expectCleared(h, /watch folder .* refused/);
  const after = makeSampleReport(65);
  await h.drop("json", "after.json", JSON.stringify(after));
  await h.waitFor(
    () => h.server.store.get(after.id) !== undefined,
    "a file after the fix uploaded",
  );

  assert.equal(h.server.store.get(victim.report.id), undefined, "the private report was uploaded");
  assert.equal(await Deno.readTextFile(victim.file), victim.text, "the private file is untouched");
  assert.doesNotMatch(h.output, new RegExp(`sn ${victim.report.sn}`));
});
