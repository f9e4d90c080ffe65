/**
 * Tests of the `teststand-xml` converter: every real sample in the shared fixtures
 * (stations/teststand-xml), our own synthetic fixtures in tests/fixtures/convert/teststand-xml/
 * (written for these tests by a script, not from a real station: a failing classic report with
 * CRLF, Latin-1 bytes and an invalid `<?xml:stylesheet?>`; a batch file with two UUTs and a
 * batch summary; a WATS add-on `<TSReport>` dump), errors, detection and a fuzz run.
 */
import assert from "#assert";
import { converter as atml } from "../../src/convert/converters/atml.ts";
import { converter } from "../../src/convert/converters/teststand-xml.ts";
import {
  needsSharedFixtures,
  ownFixture,
  sharedFixture,
  sharedFixtureFiles,
} from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput } from "./_station.ts";
import {
  allSteps,
  convertValid,
  fromLatin1,
  latin1,
  measurementCount,
  rejects,
  step,
  toLf,
  withoutId,
} from "./_convert.ts";

const own = (name: string) => ownFixture("convert", "teststand-xml", name);
const real = (name: string) => sharedFixture("stations", "teststand-xml", name)!;
const detect = (bytes: Uint8Array, name = "r.xml") =>
  converter.detect!({ head: bytes.subarray(0, 8192), name });

// ---- real samples -------------------------------------------------------------------------

Deno.test({
  name: "teststand-xml: every real sample converts to valid reports and is recognised",
  ...needsSharedFixtures,
  async fn() {
    const files = sharedFixtureFiles("stations/teststand-xml");
    assert.ok(files.length >= 2);
    for (const f of files) {
      const bytes = Deno.readFileSync(f);
      assert.ok(detect(bytes) >= 0.9, f);
      assert.equal(atml.detect!({ head: bytes.subarray(0, 8192), name: f }), 0, f);
      const reports = await convertValid(converter, fileInput(f));
      assert.equal(reports.length, 1, f);
      assert.ok(allSteps(reports[0]).length > 0, f);
    }
  },
});

Deno.test({
  name: "teststand-xml: real standard report TSWithWats2.xml (Reports/Report, WATS types)",
  ...needsSharedFixtures,
  async fn() {
    const [r] = await convertValid(converter, fileInput(real("TSWithWats2.xml")));
    assert.equal(r.sn, "5465466"); // UUT.SerialNumber
    assert.equal(r.pn, "11"); // UUTPartNumber
    assert.equal(r.rev, "1"); // UUTPartRevisionNumber
    assert.equal(r.processCode, 10); // UUTOperationType
    assert.equal(r.result, "P"); // MainSequence Status Passed
    // StartDate 1.7.2022 ("fredag 1. juli 2022") + StartTime 16:52:21.036, Oslo summer time.
    assert.equal(r.start, "2022-07-01T16:52:21.036+02:00");
    assert.equal(r.machineName, "DESKTOP-N9BCJU1");
    assert.equal(r.location, "Production");
    assert.equal(r.purpose, "Debug");
    assert.equal(r.uut?.user, "administrator");
    assert.equal(r.uut?.execTime, 5.0212138);
    assert.equal(r.uut?.testSocketIndex, undefined); // -1 = not a parallel socket
    assert.deepEqual(r.root?.seqCall, {
      path: "C:\\Users\\Public\\Documents\\National Instruments\\TestStand 2020 (64-bit)\\" +
        "Examples\\Demos\\Computer Motherboard Test\\LabVIEW\\Computer Motherboard Test Sequence.seq",
      name: "MainSequence",
      version: "20.0.0.49158",
    });
    const steps = allSteps(r);
    assert.equal(steps.length, 17); // <Report … StepCount='17'>
    assert.equal(measurementCount(r), 9); // 7 pass/fail + 2 numeric limit steps
    assert.deepEqual(
      steps.slice(0, 6).map((s) => [s.name, s.group, s.stepType, s.status]),
      [
        ["Simulation Dialog", "S", "Action", "D"],
        ["Turn Vacuum Table On", "S", "Action", "D"],
        ["Powerup Test", "M", "ET_PFT", "P"],
        ["If", "M", "NI_Flow_If", "D"],
        ["CPU Test", "M", "SequenceCall", "P"],
        ["Register Test", "M", "ET_PFT", "P"],
      ],
    );
    assert.deepEqual(step(r, "CPU Test").steps?.map((s) => s.name), [
      "Register Test",
      "Instruction Set Test",
      "Cache Test",
      "FPU Test",
    ]);
    // <Prop Name='Numeric'><Value>5</Value> Units microseconds, Limits Low 0 High 10, Comp GTLT
    assert.deepEqual(step(r, "Video Test").numericMeas, [
      { compOp: "GTLT", status: "P", value: 5, unit: "microseconds", lowLimit: 0, highLimit: 10 },
    ]);
    // Numeric 6, Limits.Low 5, Comp GT
    assert.deepEqual(step(r, "Keyboard Test").numericMeas, [
      { compOp: "GT", status: "P", value: 6, lowLimit: 5 },
    ]);
    assert.equal(step(r, "If").reportText, "{True}");
    assert.equal(step(r, "Turn Vacuum Table Off").group, "C");
    // TS.StartTime 271367.5231788 − root 271367.3371219 = 0.186 s after the start.
    assert.equal(step(r, "Simulation Dialog").start, "2022-07-01T16:52:21.222+02:00");
    assert.equal(step(r, "Simulation Dialog").tsGuid, "ID#:fcZLdWPO6BG1UABQVsAACA");
    assert.equal(step(r, "Simulation Dialog").totTime, 4.3526266);
  },
});

Deno.test({
  name: "teststand-xml: real WATS add-on dump TSWithWats.xml (TSReport, ReportInfo)",
  ...needsSharedFixtures,
  async fn() {
    const [r] = await convertValid(converter, fileInput(real("TSWithWats.xml")));
    assert.equal(r.id, "f4fb0a29-93b1-4f7f-ada7-672b382774ab"); // ReportInfo ID
    assert.equal(r.sn, "12345");
    assert.equal(r.pn, "PN1");
    assert.equal(r.rev, "1.0");
    assert.equal(r.processCode, 60); // ReportInfo PCode
    assert.equal(r.start, "2022-06-23T10:55:04.3700000+02:00"); // ReportInfo Start, kept
    assert.equal(r.machineName, "VIC-PCBA-003");
    assert.equal(r.location, "Norautron Horten");
    assert.equal(r.purpose, "PCBA Test");
    assert.equal(r.result, "P");
    const [s] = allSteps(r);
    assert.equal(s.name, "Pass/Fail Test");
    assert.equal(s.stepType, "ET_PFT");
    assert.deepEqual(s.booleanMeas, [{ status: "P" }]);
    // EngineStarted 08:51:29.994Z + TS.StartTime 214.4463569 s = 08:55:04.440Z.
    assert.equal(s.start, "2022-06-23T10:55:04.440+02:00");
  },
});

// ---- synthetic fixtures -------------------------------------------------------------------

Deno.test("teststand-xml: failing classic report (CRLF, Latin-1, xml:stylesheet, no WATS types)", async () => {
  const bytes = Deno.readFileSync(own("classic_failed_crlf.xml"));
  assert.ok(detect(bytes) >= 0.9);
  // No part number in the file (no WATS types): the parameter is required.
  await rejects(converter, convertInput(bytes, "classic.xml"), /partNumber/);
  const [r, ...more] = await convertValid(
    converter,
    convertInput(bytes, "classic.xml", { partNumber: "PCB-1", partRevision: "B" }),
  );
  assert.equal(more.length, 0);
  assert.equal(r.sn, "SYN-0001");
  assert.equal(r.pn, "PCB-1");
  assert.equal(r.rev, "B");
  assert.equal(r.result, "F");
  // Year from "torsdag 5. mars 2026" although DateDetails Year says 2025.
  assert.equal(r.start, "2026-03-05T09:15:30.250+01:00");
  assert.equal(r.uut?.user, "opérateur"); // Latin-1 0xE9
  assert.equal(r.uut?.testSocketIndex, 0);
  assert.equal(r.machineName, "STN-SYN-1");
  assert.equal(r.location, "Test lab"); // no Location in StationInfo → the station's
  assert.deepEqual(r.root?.seqCall, {
    path: "C:\\Seq\\Main Test.seq",
    name: "MainSequence",
    version: "3.1.4.0",
  });
  const steps = allSteps(r);
  assert.deepEqual(steps.map((s) => s.name), [
    "Init",
    "Spänning 5V",
    "Ström vila",
    "Rails",
    "Firmware",
    "LED",
    "Not run",
    "Frequency",
    "Gain",
    "Gain",
    "Gain",
    "Operator checks",
    "Ask operator",
    "Run flasher",
    "Overtemp <90 °C & ok",
    "Power off",
  ]);
  assert.equal(measurementCount(r), 12);
  assert.equal(steps[0].start, "2026-03-05T09:15:31.000+01:00"); // 100.25 − 99.5 s
  assert.equal(steps[0].group, "S");
  assert.deepEqual(step(r, "Spänning 5V").numericMeas, [
    { compOp: "GELE", status: "P", value: 5.02, unit: "V", lowLimit: 4.9, highLimit: 5.1 },
  ]);
  // LT keeps its limit in lowLimit; the file's Failed is the measurement's verdict.
  const strom = step(r, "Ström vila");
  assert.deepEqual(strom.numericMeas, [
    { compOp: "LT", status: "F", value: 1.5, unit: "mA", lowLimit: 1 },
  ]);
  assert.equal(strom.causedSeqFailure, true);
  const rails = step(r, "Rails");
  assert.equal(rails.stepType, "ET_MNLT");
  assert.equal(rails.status, "F");
  assert.deepEqual(rails.numericMeas?.map((m) => [m.name, m.compOp, m.status, m.value]), [
    ["3V3", "GELE", "P", 3.31],
    ["12V", "GELE", "F", 12.9],
    ["Ripple", "LOG", "P", 0.013],
  ]);
  assert.deepEqual(step(r, "Firmware").stringMeas, [
    { compOp: "IGNORECASE", status: "P", value: "v2.4.1", limit: "V2.4.1" },
  ]);
  assert.deepEqual(step(r, "LED").booleanMeas, [{ status: "P" }]);
  const skipped = step(r, "Not run");
  assert.equal(skipped.status, "S");
  assert.equal(skipped.stepType, "ET_NLT");
  assert.equal(skipped.numericMeas, undefined); // stale values of skipped steps are dropped
  // EQT, 1000 ± 5 %: absolute limits, nominal in the report text.
  const freq = step(r, "Frequency");
  assert.deepEqual(freq.numericMeas, [
    { compOp: "GELE", status: "P", value: 1010, unit: "Hz", lowLimit: 950, highLimit: 1050 },
  ]);
  assert.match(freq.reportText ?? "", /nominal 1000/);
  const gains = steps.filter((s) => s.name === "Gain");
  assert.deepEqual(gains.map((s) => s.loop), [
    { idx: 0 },
    { idx: 1 },
    { num: 2, passed: 2, failed: 0, endingIndex: 2 },
  ]);
  const sub = step(r, "Operator checks");
  assert.equal(sub.stepType, "SequenceCall");
  assert.deepEqual(sub.seqCall, {
    path: "C:\\Seq\\Sub Tests.seq",
    name: "Operator checks",
    version: "1.2.0",
  });
  assert.deepEqual(step(r, "Ask operator").messagePopup, { button: 1, response: "Looks fine" });
  assert.equal(step(r, "Ask operator").stepType, "MessagePopup");
  assert.deepEqual(step(r, "Run flasher").callExe, { exitCode: 0 });
  assert.equal(step(r, "Overtemp <90 °C & ok").reportText, "Temp 71 °C");
  assert.equal(step(r, "Power off").group, "C");
});

Deno.test("teststand-xml: CRLF and LF give the same report; ids are stable", async () => {
  const crlf = Deno.readFileSync(own("classic_failed_crlf.xml"));
  const params = { partNumber: "PCB-1" };
  const [a] = await convertValid(converter, convertInput(crlf, "a.xml", params));
  const [a2] = await convertValid(converter, convertInput(crlf, "a.xml", params));
  const [b] = await convertValid(converter, convertInput(toLf(crlf), "b.xml", params));
  assert.equal(a.id, a2.id);
  assert.notEqual(a.id, b.id); // different bytes, different file
  assert.deepEqual(withoutId(a), withoutId(b));
});

Deno.test("teststand-xml: batch file → one report per UUT, the batch summary skipped", async () => {
  const bytes = Deno.readFileSync(own("batch_two_uuts.xml"));
  const reports = await convertValid(converter, convertInput(bytes, "batch.xml"));
  assert.equal(reports.length, 2);
  const again = await convertValid(converter, convertInput(bytes, "batch.xml"));
  assert.deepEqual(reports.map((r) => r.id), again.map((r) => r.id));
  assert.notEqual(reports[0].id, reports[1].id);
  const [a, b] = reports;
  assert.deepEqual([a.sn, b.sn], ["B-001", "B-002"]);
  assert.deepEqual([a.result, b.result], ["P", "E"]);
  assert.deepEqual([a.uut?.testSocketIndex, b.uut?.testSocketIndex], [0, 1]);
  for (const r of reports) {
    assert.equal(r.pn, "PCB-9");
    assert.equal(r.rev, "C");
    assert.equal(r.processCode, 50);
    assert.equal(r.uut?.batchSN, "LOT-42");
    assert.equal(r.uut?.fixtureId, "FIX-3");
    assert.equal(r.uut?.comment, "batch run");
    assert.equal(r.location, "Line 2");
    assert.equal(r.purpose, "Production");
    assert.equal(r.start, "2026-03-05T14:02:05.007+01:00");
    assert.deepEqual(r.miscInfos, [
      { description: "Firmware", text: "1.0.7" },
      { description: "Temperature", text: "23.5" },
    ]);
  }
  assert.deepEqual(b.subUnits, [{ partType: "PSU", pn: "PSU-100", sn: "PSU-SN-1", rev: "B" }]);
  assert.equal(b.uut?.errorCode, -17000);
  assert.equal(b.uut?.errorMessage, "Instrument DMM1 timed out");
  const v = step(b, "Voltage");
  assert.equal(v.status, "E");
  assert.equal(v.errorCode, -17000);
  assert.equal(v.errorMessage, "Instrument DMM1 timed out");
  assert.equal(v.numericMeas?.[0].status, "F");
});

Deno.test("teststand-xml: WATS add-on dump (BOM, ReportInfo with offset)", async () => {
  const bytes = Deno.readFileSync(own("tsreport_dump.xml"));
  assert.ok(detect(bytes) >= 0.9);
  const [r] = await convertValid(converter, convertInput(bytes, "dump.xml"));
  assert.equal(r.id, "0d7c1f4e-2b9a-4c55-9e1d-5a6b7c8d9e0f");
  assert.equal(r.start, "2026-02-10T07:45:12.1250000-05:00"); // its own offset, not Oslo's
  assert.deepEqual([r.sn, r.pn, r.rev, r.processCode], ["DUMP-77", "PN-D", "B", 20]);
  assert.equal(r.result, "F");
  assert.deepEqual(step(r, "Measure current").numericMeas, [
    { compOp: "GELT", status: "P", value: 0.25, unit: "A", lowLimit: 0.1, highLimit: 0.5 },
  ]);
  const label = step(r, "Check label");
  assert.deepEqual(label.stringMeas, [
    { compOp: "CASESENSIT", status: "F", value: "ACME-2", limit: "ACME-3" },
  ]);
  assert.equal(label.causedSeqFailure, true);
  assert.deepEqual(r.miscInfos, [{ description: "Operator badge", text: "4711" }]);
});

Deno.test("teststand-xml: parameters override and fill", async () => {
  const bytes = Deno.readFileSync(own("batch_two_uuts.xml"));
  const [r] = await convertValid(
    converter,
    convertInput(bytes, "b.xml", {
      stationName: "LINE2-FCT",
      partNumber: "IGNORED",
      timeZone: "America/New_York",
    }),
  );
  assert.equal(r.machineName, "LINE2-FCT"); // stationName overrides the file
  assert.equal(r.pn, "PCB-9"); // the file's part number wins over the parameter
  assert.equal(r.start, "2026-03-05T14:02:05.007-05:00");
  await rejects(converter, convertInput(bytes, "b.xml", { partNumbr: "X" }), /partNumber/);
  await rejects(converter, convertInput(bytes, "b.xml", { timeZone: "Mars/Base" }), /timeZone/);
});

Deno.test("teststand-xml: active mode recomputes, import mode keeps the file's verdict", async () => {
  // The file says Passed for a value outside its limits.
  const text = fromLatin1(Deno.readFileSync(own("batch_two_uuts.xml")))
    .replace("<Value>3.3</Value>", "<Value>9.9</Value>");
  const [imp] = await convertValid(converter, convertInput(latin1(text), "x.xml"));
  assert.equal(imp.result, "P");
  assert.equal(step(imp, "Voltage").status, "P");
  // The single measurement carries the step's verdict (TestStand stores one for both).
  assert.equal(step(imp, "Voltage").numericMeas?.[0].status, "P");
  assert.ok(imp.miscInfos?.some((m) => m.description === "Status note"));
  const [act] = await convertValid(
    converter,
    convertInput(latin1(text), "x.xml", { testMode: "active" }),
  );
  assert.equal(step(act, "Voltage").status, "F");
});

Deno.test("teststand-xml: broken and foreign files are refused with a clear message", async () => {
  const bytes = Deno.readFileSync(own("batch_two_uuts.xml"));
  // Cut while TestStand was still writing.
  await rejects(converter, convertInput(bytes.subarray(0, 5000), "cut.xml"), /line \d+/);
  await rejects(
    converter,
    convertInput('<?xml version="1.0"?><TestReport><Header/></TestReport>', "other.xml"),
    /not a TestStand XML report/,
  );
  await rejects(converter, convertInput("<Reports></Reports>", "empty.xml"), /no <Report>/);
  const noDate = fromLatin1(bytes).replace(/<Prop Name='StartDate'[\s\S]*?\n<\/Prop>\n/g, "");
  await rejects(converter, convertInput(latin1(noDate), "nodate.xml"), /no start time/);
  const noSn = fromLatin1(bytes).replaceAll("<Value>B-00", "<Value> ").replace(
    /<Value> [12]<\/Value>/g,
    "<Value></Value>",
  );
  await rejects(converter, convertInput(latin1(noSn), "nosn.xml"), /serial number/);
});

Deno.test("teststand-xml: detect", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.ok(detect(Deno.readFileSync(own("batch_two_uuts.xml"))) >= 0.9);
  assert.equal(
    detect(enc('<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf">')),
    0,
  );
  assert.equal(detect(enc("<?xml version='1.0'?><TestResults/>")), 0);
  assert.equal(detect(enc("SerialNumber;PartNumber\n")), 0);
  assert.equal(detect(new Uint8Array(0)), 0);
});

Deno.test("teststand-xml: fuzz", async () => {
  const seeds = ["classic_failed_crlf.xml", "batch_two_uuts.xml", "tsreport_dump.xml"].map((f) =>
    Deno.readFileSync(own(f))
  );
  const stats = await fuzzConverter(converter, seeds, {
    params: { partNumber: "FUZZ-PN" },
    cases: 300,
    name: "fuzz.xml",
  });
  assertFuzzStats(stats);
});
