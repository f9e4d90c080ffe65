/**
 * A Klippel QC unit (header `.txt` + curve folder) through the real agent process: the header
 * may arrive before its folder; the agent waits for the folder inside the conversion, uploads
 * one report with the curve steps, moves only the header into Done, and leaves the curve
 * folder and its files where Klippel wrote them (the watch is not recursive, so no curve file
 * is ever taken, or sent to Error, on its own).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { ownFixture } from "../_fixtures.ts";

const UNIT = "DUT WF8-0042 2023-11-24 23-59-58-0 UTC-0500";
const fixture = (...p: string[]) => ownFixture("convert", "klippel-qc", ...p);

Deno.test("intake klippel: the header before its folder → one report with curves; the folder stays", async () => {
  await using h = await AgentHarness.create({
    converters: [{
      name: "klippel",
      format: "klippel-qc",
      pattern: "*.txt",
      afterSuccess: "move",
      params: { partNumber: "PN-WF8", settleSeconds: 0.5, waitSeconds: 8 },
    }],
  });
  await h.start();
  const drop = h.dropDir("klippel");
  // The header first: Klippel writes it, then the folder.
  await h.drop("klippel", `${UNIT}.txt`, Deno.readFileSync(fixture(`${UNIT}.txt`)));
  const staging = path.join(h.dir, "curves-being-written");
  await Deno.mkdir(staging);
  const curveFiles = [...Deno.readDirSync(fixture(UNIT))].map((e) => e.name).sort();
  for (const f of curveFiles) await Deno.copyFile(fixture(UNIT, f), path.join(staging, f));
  // Usually after the header passed the stability gate (0.2 s): the converter is waiting then.
  await new Promise((r) => setTimeout(r, 1000));
  await Deno.rename(staging, path.join(drop, UNIT));

  await h.waitFor(
    () => h.server.store.list().some((r) => r.report.sn === "WF8-0042"),
    "the report",
  );
  const [stored] = h.server.store.list().filter((r) => r.report.sn === "WF8-0042");
  const report = stored.report as {
    pn: string;
    result: string;
    root: { steps: Array<{ name: string; steps?: Array<{ name: string; chart?: unknown }> }> };
  };
  assert.equal(report.pn, "PN-WF8");
  assert.equal(report.result, "F"); // verdict 2 (Warning) counts as a failure by default
  const acoustic = report.root.steps.find((s) => s.name === "Acoustic");
  assert.deepEqual(acoustic?.steps?.map((s) => s.name), ["spl", "thd", "sens", "res"]);
  assert.ok(acoustic?.steps?.[0].chart, "the spl curve is a chart");

  // Only the header moved; the curve folder is intact; nothing went to Error.
  // A move is a link into Done, then the source's removal: wait for both.
  await h.waitFor(
    async () =>
      (await h.files(path.join(drop, "Done"))).length === 1 &&
      (await h.files(drop)).length === 0,
    "header in Done",
  );
  assert.deepEqual(await h.files(path.join(drop, "Done")), [`${UNIT}.txt`]);
  assert.deepEqual(await h.files(path.join(drop, UNIT)), curveFiles);
  assert.deepEqual(await h.files(path.join(drop, "Error")), []);
  assert.equal(h.server.store.list().length, 1);
});
