/**
 * Conversion warnings and streamed converters in the real agent process (tests/e2e/_harness.ts:
 * the agent, its pool workers and the test server): an i3070 log cut at 80 columns is converted
 * and uploaded with its warnings in the report's misc info, one counted log line and the
 * `conversion_warnings_total` metric; a multi-site STDF lot goes through the streaming path
 * (`convertStream`) of a real worker, found by `format: "auto"`, one report per part.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";
import { agentLog } from "../e2e/_upload.ts";
import { checkExposition, sampleValue } from "../control/_prom.ts";
import { ownFixture } from "../_fixtures.ts";
import { StdfWriter } from "./_stdf_writer.ts";

/** Two sites, every PIR before the PRRs, one part without a PART_ID. */
function lot(): Uint8Array {
  const w = new StdfWriter("little");
  w.far().mir({ lotId: "E2E-LOT", partType: "E2E-PN", startT: 1_700_000_000 });
  w.pir(1, 1).pir(1, 2);
  for (const site of [1, 2]) {
    w.ptr({ num: 7, site, result: site, text: "vref", low: 0.5, high: 1.5, units: "V" });
  }
  w.prr({ site: 2, flag: 0x08, x: 1, y: 2 }).prr({ site: 1, flag: 0, partId: "P1" });
  return w.mrr().bytes();
}

Deno.test("agent: warnings of a cut i3070 log, and a streamed STDF lot", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "ict", format: "i3070" }, { name: "ate", format: "auto" }],
  });
  await h.start();
  await h.drop(
    "ict",
    "cut_80_columns.log",
    Deno.readFileSync(ownFixture("convert", "i3070", "cut_80_columns.log")),
  );
  await h.drop("ate", "lot.stdf", lot());
  const bySn = (sn: string) => h.server.store.list().find((r) => r.report.sn === sn);
  await h.waitFor(
    () => ["SYN8000417", "E2E-LOT-P1", "E2E-LOT-X1Y2"].every((sn) => bySn(sn)),
    "the board and both parts on the server",
  );
  const board = bySn("SYN8000417")!.report as {
    result: string;
    miscInfos: { description: string; text: string }[];
  };
  assert.equal(board.result, "F");
  const notes = board.miscInfos.filter((m) => m.description === "Conversion warning");
  assert.equal(notes.length, 11);
  assert.match(notes[0].text, /^line 9: \{@A-MEA record not closed on its line/);
  assert.deepEqual(
    [bySn("E2E-LOT-P1")!.report.result, bySn("E2E-LOT-X1Y2")!.report.result],
    ["P", "F"],
  );

  await h.waitFor(
    async () => (await agentLog(h)).some((l) => /converted with 15 warning\(s\)/.test(l.message)),
    "warning line in the log",
  );
  const line = (await agentLog(h)).find((l) => /converted with 15 warning\(s\)/.test(l.message))!;
  assert.equal(line.level, "WARNING");
  assert.match(
    line.message,
    /cut_80_columns\.log converted with 15 warning\(s\) \(i3070\): line 9: /,
  );
  const e = checkExposition(await (await h.control("/metrics")).text());
  assert.equal(sampleValue(e, "wats_agent_conversion_warnings_total", { converter: "ict" }), 15);
});
