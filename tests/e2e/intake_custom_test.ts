/**
 * Custom converters with the real agent process: a module file named in the config (relative
 * to it) is loaded into the pool, TypeScript and relative imports included; one that can't be
 * loaded leaves its files in the drop folder, says why in status, and once the module is fixed
 * the files convert without a restart.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const fixtures = path.resolve(import.meta.dirname!, "../fixtures/converters");

Deno.test("intake custom: a TypeScript module beside the config converts; a broken one holds its files until fixed", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "typed", module: "./converters/typed.ts" },
      { name: "later", module: "./converters/later.js" },
    ],
  });
  const dir = path.join(h.dir, "converters");
  await Deno.mkdir(dir);
  for (const f of ["typed.ts", "typed_helper.ts"]) {
    await Deno.copyFile(path.join(fixtures, f), path.join(dir, f));
  }
  await h.start();
  await h.drop("typed", "unit.csv", "SN-T1;PN-T;P");
  await h.drop("later", "waiting.txt", "OK LATER-1");
  await h.waitFor(
    () => h.server.store.list().some((r) => r.report.sn === "SN-T1"),
    "the TypeScript converter's report",
  );
  const typed = h.server.store.list().find((r) => r.report.sn === "SN-T1")!.report;
  assert.equal(typed.pn, "PN-T");
  assert.equal(typed.machineName, "E2E-ST");

  await h.waitFor(async () => {
    const s = await h.status();
    return s.health.reasons.some((r: string) =>
      /converter later can't be loaded: .*later\.js can't be read/.test(r)
    );
  }, "status naming the converter that can't be loaded");
  assert.deepEqual(
    await h.files(h.dropDir("later")),
    ["waiting.txt"],
    "its file waits in the drop folder",
  );
  assert.deepEqual(
    await h.files(path.join(h.dropDir("later"), "Error")),
    [],
    "not the file's fault: not in Error",
  );

  await Deno.copyFile(path.join(fixtures, "moody.js"), path.join(dir, "later.js"));
  await h.waitFor(
    () => h.server.store.list().some((r) => r.report.sn === "LATER-1"),
    "the waiting file converted after the fix",
  );
  await h.waitFor(
    async () => !(await h.status()).health.reasons.some((r: string) => /can't be loaded/.test(r)),
    "the problem cleared",
  );
});
