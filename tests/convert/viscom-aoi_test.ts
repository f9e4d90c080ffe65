/**
 * Tests of the `viscom-aoi` converter: the real 6-board sample in
 * shared/fixtures/stations/viscom-aoi-xml, synthetic panels in tests/fixtures/convert/viscom-aoi/
 * (written for these tests), broken files, re-encodings, a large panel and a fuzz run.
 */
import assert from "#assert";
import type { ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/viscom-aoi.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaves, rejects as expectRejects, step, withoutId } from "./_convert.ts";
import { crlf, utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";
import { detectScore } from "./_detect.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);
const own = (name: string) => Deno.readFileSync(ownFixture("convert", "viscom-aoi", name));
const ownText = (name: string) => new TextDecoder().decode(own(name));
const sample = () => sharedFixture("stations", "viscom-aoi-xml", "rep_1.xml")!;

/** A convert input that collects the warnings the converter reports. */
function withWarnings(input: ConvertInput): { input: ConvertInput; warnings: string[] } {
  const warnings: string[] = [];
  return { input: { ...input, warn: (m) => warnings.push(m) }, warnings };
}

Deno.test({
  name: "viscom-aoi: the real sample is 6 passed boards, false calls on boards 2, 3 and 5",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convert(fileInput(sample()));
    assert.deepEqual(
      reports.map((r) => [r.sn, r.result, r.uut?.testSocketIndex]),
      [3, 4, 5, 6, 7, 8].map((n, i) => [`V10250660040${n}EB847026010`, "P", i + 1]),
    );
    assert.equal(new Set(reports.map((r) => r.id)).size, 6);
    for (const r of reports) {
      assert.equal(r.pn, "B847026_TOP");
      assert.equal(r.machineName, "JV_Line10");
      assert.equal(r.uut?.user, "pk"); // the repair operator
      assert.equal(r.uut?.execTime, 39);
      assert.equal(r.start, "2025-03-07T21:32:52+01:00"); // 20250307 213252, CET
      assert.equal(r.root?.seqCall?.name, "B847026_TOP");
      assert.deepEqual(r.miscInfos, [
        { description: "Variant", text: "01_ME" },
        { description: "Repair result", text: "PASS" },
        { description: "Boards per panel", text: "6" },
        { description: "Viscom SI version", text: "9.40 R2 (20231101)" },
        { description: "Viscom REP version", text: "9.40 R3 (20231101)" },
      ]);
    }
    // Windows go to their board by PCBNumber; every one is a pseudo error (Type 2).
    assert.deepEqual(
      reports.map((r) => leaves(r).map((s) => s.name)),
      [[], ["C43554-2"], ["C4354-3", "C43502-3", "R42613-3"], [], ["R42625-5"], []],
    );
    assert.ok(reports.every((r) => leaves(r).every((s) => s.status === "P")));
    assert.deepEqual(reports[2].root?.steps?.map((s) => s.name), ["False Calls"]);
    const c = leaves(reports[1])[0];
    assert.equal(c.stepType, "ET_PFT");
    assert.equal(
      c.reportText,
      "Defect: Pszeudohiba\nPosition: X=11925 Y=15035\nError type: 2\nPart number: " +
        "SMD_C1206_H1M8\nWindow type: C1206_H1M8_3D\nAnalysis: LAND 15\nSolder joint: 0\n" +
        "Window: C1206_H1M8_3D_LAND_15_0",
    );
    // The same file with CRLF, or as UTF-16, converts the same.
    const text = new TextDecoder().decode(Deno.readFileSync(sample()));
    const again = await convert(convertInput(crlf(text), "rep_1.xml"));
    assert.deepEqual(again.map(withoutId), reports.map(withoutId));
    const wide = await convert(convertInput(utf16le(text), "rep_1.xml"));
    assert.deepEqual(wide.map(withoutId), reports.map(withoutId));
  },
});

Deno.test("viscom-aoi: synthetic panel: X-out, board matched by barcode, unlisted board, warnings", async () => {
  const { input, warnings } = withWarnings(convertInput(own("panel_xout.xml"), "panel.xml"));
  const reports = await convert(input);
  assert.deepEqual(reports.map((r) => [r.sn, r.result, r.uut?.testSocketIndex]), [
    ["SN-A1", "P", 1],
    ["SN-A2", "F", 2],
  ]);
  const [a1, a2] = reports;
  assert.equal(a1.machineName, "S3088-L2"); // Station/Name is empty: NameAOI
  // 02:30:05 (time "23005") does not exist in Oslo on 31 March 2024: moved forward.
  assert.equal(a1.start, "2024-03-31T03:30:05+02:00");
  assert.equal(a1.uut?.execTime, 60.5);
  assert.equal(a1.uut?.user, "Anna");
  assert.deepEqual(leaves(a1).map((s) => [s.name, s.status]), [["R12-1", "P"]]);
  assert.match(leaves(a1)[0].reportText!, /^Defect: Pseudo error\nPosition: X=100 Y=200\n/);
  // Board 2: a real defect (Type 1) by PCBNumber, a pseudo error by Barcode only.
  assert.deepEqual(a2.root?.steps?.map((s) => [s.name, s.status, s.steps?.map((c) => c.name)]), [
    ["Failed", "F", ["U4-2"]],
    ["False Calls", "P", ["C7-2"]],
  ]);
  assert.match(step(a2, "U4-2").reportText!, /^Defect: Solder bridge\n/);
  assert.match(step(a2, "C7-2").reportText!, /^Defect: Type 2\n/); // no ErrorDescription
  const misc = (r: typeof a1) => r.miscInfos!.map((m) => `${m.description}: ${m.text}`);
  assert.deepEqual(misc(a2), [
    "Variant: 2",
    "Repair result: FAIL",
    "Boards per panel: 3",
    "Viscom SI version: 9.1",
    "Fiducial errors: 1",
    "Conversion warning: line 25: unknown element <Conveyor> in <GlobalInformation> skipped",
    'Conversion warning: line 83: window "C9-9" is on board 9, which <PCBInformation> does not ' +
    "list; skipped",
    "Conversion warning: line 43: unknown element <Temperature> in <SinglePCB> skipped",
  ]);
  assert.equal(misc(a1).filter((m) => m.startsWith("Conversion warning")).length, 2);
  // Each warning reaches the agent's log once, the X-out board's too.
  assert.deepEqual(warnings, [
    "line 25: unknown element <Conveyor> in <GlobalInformation> skipped",
    'line 83: window "C9-9" is on board 9, which <PCBInformation> does not list; skipped',
    "line 43: unknown element <Temperature> in <SinglePCB> skipped",
    "panel.xml: <SinglePCB> on line 45: board SN-A3 is marked bad (X-out); no report",
  ]);

  const all = await convert(convertInput(own("panel_xout.xml"), "panel.xml", {
    xOutBoards: "terminated",
  }));
  assert.equal(all.length, 3);
  assert.deepEqual(all.slice(0, 2).map((r) => r.id), reports.map((r) => r.id));
  const a3 = all[2];
  assert.equal(a3.sn, "SN-A3");
  assert.equal(a3.result, "T");
  assert.ok(a3.miscInfos!.some((m) => m.description === "X-out"));
  assert.deepEqual(leaves(a3).map((s) => [s.name, s.status]), [["C8-3", "F"]]);
});

Deno.test("viscom-aoi: an inspection-station file (no repair): Analysis/Result, DST overlap", async () => {
  const [r] = await convert(convertInput(own("inspection_only.xml"), "i.xml"));
  assert.equal(r.sn, "SN-B1");
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "test-operator"); // no Repair/OperatorName: the station's
  assert.equal(r.uut?.testSocketIndex, 1); // SinglePCB@no
  // 02:15 on 27 October 2024 happens twice in Oslo: the earlier one (summer time).
  assert.equal(r.start, "2024-10-27T02:15:00+02:00");
  // R1-1 passed (Analysis/Result 0): not a call.
  assert.deepEqual(leaves(r).map((s) => [s.name, s.status]), [["R2-1", "F"]]);
  assert.equal(leaves(r)[0].reportText, "Defect: Analysis result 5\nWindow: R0402_3D_GENR_30_15");
});

Deno.test("viscom-aoi: unknown verdicts are errors naming the word, never passes", async () => {
  const base = ownText("inspection_only.xml");
  const odd = base.replace("<Result>FAIL</Result>", "<Result>CHECKED</Result>");
  await rejects(
    convertInput(odd, "i.xml"),
    /<SinglePCB> on line 12: unknown board result "CHECKED".*statusWords/,
  );
  const [mapped] = await convert(convertInput(odd, "i.xml", { statusWords: { checked: "P" } }));
  assert.equal(mapped.result, "P");
  const type = ownText("panel_xout.xml").replace("<Type>1</Type>", "<Type>real</Type>");
  await rejects(convertInput(type, "p.xml"), /<Window> on line 63: unknown Result\/Type "real"/);
  const [, typed] = await convert(convertInput(type, "p.xml", { statusWords: { real: "F" } }));
  assert.equal(step(typed, "U4-2").status, "F");
  // A type number other than 2 is a defect, whatever it is.
  const seven = ownText("panel_xout.xml").replace("<Type>2</Type>", "<Type>7</Type>");
  const [a1] = await convert(convertInput(seven, "p.xml"));
  assert.equal(step(a1, "R12-1").status, "F");
});

Deno.test("viscom-aoi: broken structure is an error naming the element and line", async () => {
  const base = ownText("inspection_only.xml");
  await rejects(
    convertInput(base.replace("<Barcode>SN-B1</Barcode>", ""), "i.xml"),
    /<SinglePCB> on line 12 has no <Barcode>/,
  );
  await rejects(
    convertInput(base.replace("<Result>FAIL</Result>", ""), "i.xml"),
    /<SinglePCB> on line 12 \(board SN-B1\) has no <Result>/,
  );
  await rejects(
    convertInput(base.replace("<Result>5</Result>", ""), "i.xml"),
    /<Window> on line 24 \("R2-1"\) has neither Result\/Type nor Analysis\/Result/,
  );
  await rejects(
    convertInput(base.replace("021500", "251500"), "i.xml"),
    /<Inspection> on line 6: Date\/Begin "20241027" and Time\/Begin "251500" are not/,
  );
  await rejects(
    convertInput(base.replace(/<Inspection>[^]*<\/Inspection>/, ""), "i.xml"),
    /<GlobalInformation> on line 3 has no <Inspection>/,
  );
  await rejects(
    convertInput(base.replace(/<PCBInformation>[^]*<\/PCBInformation>/, ""), "i.xml"),
    /<ViscomData> on line 2 has no <PCBInformation>/,
  );
  await rejects(
    convertInput(base.replace(/<SinglePCB[^]*<\/SinglePCB>/, ""), "i.xml"),
    /<PCBInformation> on line 11 lists no <SinglePCB>/,
  );
  await rejects(convertInput(base.slice(0, 500), "i.xml"), /not well-formed XML in i\.xml: line/);
  await rejects(convertInput("<Panel/>", "i.xml"), /root is <Panel>, expected <ViscomData>/);
  await rejects(convertInput(base, "i.xml", { partNumberFrom: "parameter" }), /partNumber/);
});

Deno.test("viscom-aoi: a large panel (500 boards, 5,000 windows)", async () => {
  const boards = Array.from(
    { length: 500 },
    (_, i) =>
      `<SinglePCB no="${i + 1}"><Barcode>B${i + 1}</Barcode><Number>${i + 1}</Number>` +
      `<BadBoardStatus>0</BadBoardStatus><Result>${i % 100 === 0 ? "FAIL" : "PASS"}</Result>` +
      `</SinglePCB>`,
  ).join("\n");
  const windows = Array.from(
    { length: 5000 },
    (_, k) =>
      `<Window id="w"><WinID>R${k}</WinID><PCBNumber>${(k % 500) + 1}</PCBNumber>` +
      `<Result><Type>${k % 1000 === 0 ? 1 : 2}</Type></Result></Window>`,
  ).join("\n");
  const xml =
    `<ViscomData><GlobalInformation><Program><InspectionPlanName>BIG</InspectionPlanName>` +
    `</Program><Inspection><Date><Begin>20250101</Begin></Date><Time><Begin>120000</Begin>` +
    `</Time></Inspection></GlobalInformation><PCBInformation>${boards}</PCBInformation>` +
    `<ComponentInformation>${windows}</ComponentInformation></ViscomData>`;
  const reports = await convert(convertInput(xml, "big.xml"));
  assert.equal(reports.length, 500);
  assert.ok(reports.every((r) => leaves(r).length === 10));
  assert.equal(reports.filter((r) => r.result === "F").length, 5);
  // Windows 0, 1000, … are real defects on board 1.
  assert.equal(leaves(reports[0]).filter((s) => s.status === "F").length, 5);
  assert.equal(new Set(reports.map((r) => r.id)).size, 500);
});

Deno.test({
  name: "viscom-aoi: detect",
  ...needsSharedFixtures,
  fn() {
    const d = (text: string | Uint8Array, name = "x.xml") => detectScore(converter, text, name);
    assert.equal(d(Deno.readFileSync(sample())), 0.95);
    assert.equal(d(own("inspection_only.xml")), 0.95);
    assert.equal(d(utf16le(ownText("panel_xout.xml"))), 0.95);
    assert.equal(d("<!--XML generated by Viscom--><"), 0.3);
    assert.equal(d('<v:ViscomData xmlns:v="urn:x"/>'), 0);
    assert.equal(d("<Panel/>"), 0);
  },
});

Deno.test({
  name: "viscom-aoi: fuzz",
  ...needsSharedFixtures,
  async fn() {
    const stats = await fuzzConverter(converter, [
      Deno.readFileSync(sample()),
      own("panel_xout.xml"),
      own("inspection_only.xml"),
    ], { name: "rep.xml" });
    assertFuzzStats(stats);
    assert.ok(stats.reports >= stats.converted, `reports ${stats.reports}`);
  },
});
