/**
 * Intake never misses a file, with the real agent process: a burst of 1,000 files written
 * faster than the watcher can report them, files renamed into the folder from elsewhere, and
 * files written into subfolders the moment they are made. Each reaches the server exactly once.
 * (The 10,000-file burst and its timing are in scripts/bench/intake.ts.)
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

Deno.test("intake burst: 1,000 files at once, renames into the folder and new subfolders: all uploaded once", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody, recursive: true }],
    config: { intake: { stableSeconds: 0.2, rescanSeconds: 2, emptyFileSeconds: 2 } },
  });
  await h.start();
  const drop = h.dropDir("moody");
  const expected: string[] = [];
  for (let i = 0; i < 1000; i++) { // synchronous writes: the watcher's queue overflows
    Deno.writeTextFileSync(path.join(drop, `burst-${i}.txt`), `OK B-${i}`);
    expected.push(`B-${i}`);
  }
  const outside = path.join(h.dir, "elsewhere");
  await Deno.mkdir(outside);
  for (let i = 0; i < 10; i++) {
    await Deno.writeTextFile(path.join(outside, `moved-${i}.txt`), `OK M-${i}`);
    await Deno.rename(path.join(outside, `moved-${i}.txt`), path.join(drop, `moved-${i}.txt`));
    expected.push(`M-${i}`);
  }
  for (let d = 0; d < 15; d++) { // written before the watcher can add the new folder
    Deno.mkdirSync(path.join(drop, `line-${d}`, "today"), { recursive: true });
    Deno.writeTextFileSync(path.join(drop, `line-${d}`, "today", "result.txt"), `OK S-${d}`);
    expected.push(`S-${d}`);
  }

  await h.waitFor(
    () => h.server.store.size === expected.length,
    `${expected.length} reports on the server`,
    240_000,
  );
  const got = h.server.store.list().map((r) => r.report.sn as string);
  assert.deepEqual(got.sort(), expected.sort());
  assert.equal(h.server.store.totalReceives, expected.length, "each report received exactly once");
  const s = await h.status();
  assert.equal(s.converters[0].converted, expected.length);
  assert.equal(s.converters[0].failed, 0);
  // The last sources are deleted after their commit, which the upload may outrun.
  await h.waitFor(async () => (await h.files(drop)).length === 0, "every source deleted");
});
