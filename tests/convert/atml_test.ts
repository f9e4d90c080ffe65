/**
 * Tests of the `atml` converter: every real sample in the shared fixtures (stations/
 * atml-teststand: 2.02, 5.00, 6.01, a 4-socket batch report and a Latin-1 production report),
 * our own synthetic fixtures in tests/fixtures/convert/atml/ (written for these tests by a
 * script, not from a real station: a failing ATML 2.02 report with CRLF, Latin-1 bytes, hex,
 * Infinity and NaN values, thresholds, loops; a two-socket ATML 6.01 batch with a terminated
 * unit), errors, detection and a fuzz run.
 */
import assert from "#assert";
import { converter } from "../../src/convert/converters/atml.ts";
import { converter as tsxml } from "../../src/convert/converters/teststand-xml.ts";
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

const own = (name: string) => ownFixture("convert", "atml", name);
const real = (name: string) => sharedFixture("stations", "atml-teststand", name)!;
const detect = (bytes: Uint8Array, name = "r.xml") =>
  converter.detect!({ head: bytes.subarray(0, 8192), name });

const DEMO = {
  "2.02": "ATML 2.02 [123456789][2 30 27 PM][5 15 2019].XML",
  "5.00": "ATML 5.00 [2 31 11 PM][5 15 2019].xml",
  "6.01": "ATML 6.01 [2 31 52 PM][5 15 2019].xml",
};
const BATCH = "Parallel Testing Strategies_BatchReport.6 45 31 AM..9 13 2022.xml";
const PRODUCTION = "Report_LS2621-1002[Passed][9190300075][2019-03-11][15 06 37].xml";

// ---- real samples -------------------------------------------------------------------------

Deno.test({
  name: "atml: every real sample converts to valid reports and is recognised",
  ...needsSharedFixtures,
  async fn() {
    const files = sharedFixtureFiles("stations/atml-teststand");
    assert.ok(files.length >= 5);
    for (const f of files) {
      const bytes = Deno.readFileSync(f);
      assert.ok(detect(bytes) >= 0.9, f);
      assert.equal(tsxml.detect!({ head: bytes.subarray(0, 8192), name: f }), 0, f);
      const reports = await convertValid(converter, fileInput(f, { partNumber: "PN-PARAM" }));
      assert.ok(reports.length >= 1, f);
    }
  },
});

for (const [version, file] of Object.entries(DEMO)) {
  Deno.test({
    name: `atml: real ${version} demo report (Computer Motherboard Test)`,
    ...needsSharedFixtures,
    async fn() {
      const reports = await convertValid(converter, fileInput(real(file)));
      assert.equal(reports.length, 1);
      const [r] = reports;
      assert.equal(r.sn, "123456789"); // <c:SerialNumber>123456789</c:SerialNumber>
      assert.equal(r.pn, "Ragnar123"); // IdentificationNumber number="Ragnar123" type="Part"
      assert.equal(r.result, "F"); // ResultSet Outcome Failed
      assert.equal(r.machineName, "TS-2016-BETA");
      assert.equal(r.uut?.user, "administrator");
      assert.match(r.start, /^2019-05-15T14:3\d:\d\d\.\d{3}\+02:00$/); // naive → Oslo, CEST
      assert.equal(r.root?.seqCall?.name, "MainSequence");
      assert.match(r.root?.seqCall?.path ?? "", /Computer Motherboard Test Sequence VIC\.seq$/);
      const steps = allSteps(r);
      assert.equal(steps.length, 23); // <ts:NumOfResults value = '23'/>
      assert.equal(measurementCount(r), 10); // 8 pass/fail with a verdict + 2 numeric
      assert.deepEqual(steps.slice(0, 5).map((s) => [s.name, s.group, s.stepType, s.status]), [
        ["Add Partnumber", "S", "Statement", "D"],
        ["Simulation Dialog", "S", "Action", "D"],
        ["Turn Vacuum Table On", "S", "Action", "D"],
        ["Powerup Test", "M", "ET_PFT", "P"],
        ["If", "M", "NI_Flow_If", "D"],
      ]);
      assert.deepEqual(step(r, "CPU Test").steps?.map((s) => s.name), [
        "Register Test",
        "Instruction Set Test",
        "Cache Test",
        "FPU Test",
      ]);
      // <c:Datum value = "5" … nonStandardUnit="microseconds"/>, LimitPair GT 0 / LT 10
      assert.deepEqual(step(r, "Video Test").numericMeas, [
        { compOp: "GTLT", status: "P", value: 5, unit: "microseconds", lowLimit: 0, highLimit: 10 },
      ]);
      // <c:Datum value = "4"/>, SingleLimit comparator="GT" value 5, Outcome Failed
      const kb = step(r, "Keyboard Test");
      assert.deepEqual(kb.numericMeas, [{ compOp: "GT", status: "F", value: 4, lowLimit: 5 }]);
      assert.equal(kb.causedSeqFailure, true);
      // Skipped (2.02 Aborted/Skipped, 5.00 UserDefined/Skipped, 6.01 NotStarted).
      assert.equal(step(r, "CPU Diagnostics").status, "S");
      assert.equal(step(r, "CPU Diagnostics").stepType, "SequenceCall");
      assert.equal(step(r, "ROM Diagnostics").status, "S");
      assert.equal(step(r, "ROM Diagnostics").booleanMeas, undefined);
      assert.equal(step(r, "Keyboard Diagnostics").status, "F");
      assert.equal(step(r, "If").reportText, "{True}");
      if (version !== "2.02") {
        // CriticalFailureStackEntry resultID="69"/… stepName="Keyboard Test"
        assert.equal(r.uut?.stepIdCausedUUTFailure, kb.id);
        assert.equal(kb.causedUUTFailure, true);
      }
    },
  });
}

Deno.test({
  name: "atml: real 2.02 times (naive → station zone), id from uuid",
  ...needsSharedFixtures,
  async fn() {
    const [r] = await convertValid(converter, fileInput(real(DEMO["2.02"])));
    assert.equal(r.id, "33efe64e-770d-11e9-826e-00155d017250"); // TestResults uuid
    assert.equal(r.start, "2019-05-15T14:30:27.058+02:00");
    assert.equal(r.uut?.execTime, 2.17); // 14:30:29.228 − 14:30:27.058
    assert.equal(step(r, "Powerup Test").start, "2019-05-15T14:30:29.088+02:00");
    assert.equal(step(r, "Powerup Test").tsGuid, "ID#:vmGTqrEX5hGzYpiQlqYQ+D");
    const [chicago] = await convertValid(
      converter,
      fileInput(real(DEMO["2.02"]), { timeZone: "America/Chicago" }),
    );
    assert.equal(chicago.start, "2019-05-15T14:30:27.058-05:00");
  },
});

Deno.test({
  name: "atml: real batch report → 4 reports, one per socket, ids from each uuid",
  ...needsSharedFixtures,
  async fn() {
    const file = real(BATCH);
    // Every UUT serial is NONE and there is no part number: the parameter is needed.
    await rejects(converter, fileInput(file), /partNumber/);
    const reports = await convertValid(converter, fileInput(file, { partNumber: "PTS-DEMO" }));
    assert.equal(reports.length, 4);
    assert.deepEqual(reports.map((r) => r.id), [
      "baaa055f-332f-11ed-8520-6045bd92de90",
      "baaa055c-332f-11ed-8520-6045bd92de90",
      "baaa055d-332f-11ed-8520-6045bd92de90",
      "baaa055e-332f-11ed-8520-6045bd92de90",
    ]);
    assert.deepEqual(reports.map((r) => r.uut?.testSocketIndex), [0, 1, 2, 3]);
    for (const r of reports) {
      assert.equal(r.sn, "NONE");
      assert.equal(r.pn, "PTS-DEMO");
      assert.equal(r.result, "P");
      assert.equal(r.machineName, "TestStandDebug");
      assert.equal(allSteps(r).length, 0); // NumOfResults 0
      assert.equal(r.root?.seqCall?.name, "Sequential");
    }
    assert.equal(reports[0].start, "2022-09-13T06:45:31.676+02:00");
    assert.equal(reports[0].uut?.execTime, 29.638); // ts:TotalTime value='29.638'
    assert.equal(reports[3].uut?.batchSN, "BatchSerialNumber"); // <ts:BatchSerialNumber value=…>
  },
});

Deno.test({
  name: "atml: real production report (TestStand 2014, ATML 5.00, ISO-8859-1 step names)",
  ...needsSharedFixtures,
  async fn() {
    const [r] = await convertValid(converter, fileInput(real(PRODUCTION)));
    assert.equal(r.id, "6f320e46-884a-43ff-b09e-b4e019e3db49");
    assert.equal(r.sn, "9190300075");
    assert.equal(r.pn, "LS2621-1002");
    assert.equal(r.result, "P");
    assert.equal(r.machineName, "MEMK1263");
    assert.equal(r.start, "2019-03-11T15:06:37.402+01:00"); // March: CET
    assert.equal(r.uut?.execTime, 233.91);
    assert.deepEqual(r.root?.seqCall, {
      path: "C:\\Test\\P2\\Test_P2_Access.seq",
      name: "MainSequence",
      version: "1.0.0",
    });
    assert.equal(allSteps(r).length, 208); // <ts:NumOfResults value = '208'/>
    // Latin-1 bytes E4 (ä) decoded.
    assert.equal(step(r, "TEQP_24259: ELR - Sätt last Max Effekt").status, "P");
    const seq = step(r, "Sätt Nätspänning 400 Vac"); // TestGroup callerName
    assert.equal(seq.stepType, "SequenceCall");
    assert.equal(seq.seqCall?.name, "SetMainPower");
    // <c:Datum value = "24.2271576" nonStandardUnit="V"/>, GE 22, LE 25
    assert.deepEqual(step(r, "TEQP_47067: Kontrollera testbänkens 24 Vdc matning").numericMeas, [
      { compOp: "GELE", status: "P", value: 24.2271576, unit: "V", lowLimit: 22, highLimit: 25 },
    ]);
    // GE 22.8 and LT 24.36 joined into GELT.
    assert.deepEqual(step(r, "UUTN_93415: Läs spänning från last").numericMeas, [
      { compOp: "GELT", status: "P", value: 23.957, unit: "Vdc", lowLimit: 22.8, highLimit: 24.36 },
    ]);
    // Expected comparator="EQ" value 44
    assert.deepEqual(step(r, "UUTN_61190: Kontrollera Laddningskurva").numericMeas, [
      { compOp: "EQ", status: "P", value: 44, lowLimit: 44 },
    ]);
    // String value, Expected comparator="CIEQ"
    assert.deepEqual(step(r, "UUTS_44115: Access, Kontrollerar kortets parametrar").stringMeas, [
      { compOp: "IGNORECASE", status: "P", value: "90300075", limit: "90300075" },
    ]);
    const popup = step(r, "UINP_46507: Message Popup - Anpassa laddarparametrar");
    assert.deepEqual(popup.messagePopup, { button: 1 });
    const parts = step(r, "PART_29084: Artikelnummer,Serienummer");
    assert.deepEqual(parts.additionalResults?.[2], {
      name: "Motorns Serienummer",
      props: [{
        name: "Motorns Serienummer",
        flags: 0x2000,
        type: "String",
        value: "9190300075-0",
      }],
    });
  },
});

// ---- synthetic fixtures -------------------------------------------------------------------

Deno.test("atml: failing 2.02 report (CRLF, Latin-1, hex/Infinity/NaN, thresholds, loops)", async () => {
  const bytes = Deno.readFileSync(own("atml202_failed_crlf.xml"));
  assert.ok(detect(bytes) >= 0.9);
  const [r, ...more] = await convertValid(
    converter,
    convertInput(bytes, "a.xml", { partNumber: "SYN-PN" }),
  );
  assert.equal(more.length, 0);
  assert.equal(r.id, "5f2b3c4d-1111-4a2b-8c3d-000000000202");
  assert.deepEqual([r.sn, r.pn, r.result], ["ATML-SYN-1", "SYN-PN", "F"]);
  assert.equal(r.uut?.user, "Åsa");
  assert.equal(r.start, "2026-03-05T10:00:00.5+01:00");
  assert.equal(r.uut?.execTime, 20.25);
  assert.equal(r.miscInfos, undefined); // every verdict agrees with its limits
  const steps = allSteps(r);
  assert.deepEqual(steps.map((s) => s.name), [
    "Init fixture",
    "Spänning hex",
    "Open circuit",
    "Noise",
    "Frequency",
    "Outside band",
    "Serial check",
    "Rails",
    "Ask operator",
    "Flash",
    "Looped",
    "Gain",
    "Gain",
    "Gain",
    "Button pressed",
    "Skipped diag",
    "No outcome",
    "Log data",
    "Power down",
  ]);
  assert.equal(steps[0].start, "2026-03-05T10:00:01.100+01:00");
  assert.equal(steps[0].group, "S");
  assert.deepEqual(step(r, "Spänning hex").numericMeas, [
    { compOp: "GELE", status: "P", value: 31, unit: "V", lowLimit: 0, highLimit: 100 }, // 0x1F
  ]);
  const open = step(r, "Open circuit"); // value "Infinity" GT 1e6
  assert.deepEqual(open.numericMeas, [
    { compOp: "GT", status: "P", value: 1.7976931348623157e308, unit: "Ohm", lowLimit: 1e6 },
  ]);
  assert.match(open.reportText ?? "", /Infinity/);
  const noise = step(r, "Noise"); // value "NaN", comparison LOG
  assert.deepEqual(noise.numericMeas, [{ compOp: "LOG", status: "P", unit: "mV" }]);
  assert.match(noise.reportText ?? "", /NaN/);
  const freq = step(r, "Frequency"); // Expected EQ 1000, percentage threshold 5/5
  assert.deepEqual(freq.numericMeas, [
    { compOp: "GELE", status: "P", value: 1010, unit: "Hz", lowLimit: 950, highLimit: 1050 },
  ]);
  assert.match(freq.reportText ?? "", /nominal 1000/);
  // LimitPair operator="OR" LT -1e-3 / GT 1e-3 → outside the band.
  assert.deepEqual(step(r, "Outside band").numericMeas, [
    { compOp: "LTGT", status: "F", value: 5e-4, unit: "A", lowLimit: -1e-3, highLimit: 1e-3 },
  ]);
  assert.deepEqual(step(r, "Serial check").stringMeas, [
    { compOp: "IGNORECASE", status: "P", value: "abc-ÅÖ", limit: "ABC-åö" },
  ]);
  const rails = step(r, "Rails");
  assert.equal(rails.stepType, "ET_MNLT");
  assert.deepEqual(rails.numericMeas?.map((m) => [m.name, m.value, m.lowLimit, m.highLimit]), [
    ["3V3", 3.31, 3.2, 3.4],
    ["5V", 5.01, 4.8, 5.2],
  ]);
  // A TestResult without limits is an additional result, not a measurement.
  assert.deepEqual(rails.additionalResults, [
    {
      name: "Board temperature",
      props: [{ name: "Board temperature", type: "Number", value: "41.5" }],
    },
  ]);
  assert.deepEqual(step(r, "Ask operator").messagePopup, { button: 2, response: "Yes & go" });
  assert.deepEqual(step(r, "Flash").callExe, { exitCode: 0 });
  const looped = step(r, "Looped");
  assert.equal(looped.seqCall?.name, "Looped");
  assert.deepEqual(looped.steps?.map((s) => s.loop), [
    { idx: 0 },
    { idx: 1 },
    { num: 2, passed: 2, failed: 0, endingIndex: 2 },
  ]);
  const pressed = step(r, "Button pressed");
  assert.deepEqual(pressed.booleanMeas, [{ status: "F" }]);
  assert.equal(pressed.causedSeqFailure, true);
  assert.equal(step(r, "Skipped diag").status, "S");
  assert.equal(step(r, "No outcome").status, "D");
  const log = step(r, "Log data");
  assert.equal(log.reportText, "two values logged");
  assert.deepEqual(log.additionalResults, [
    { name: "Motor serial", props: [{ name: "Motor serial", type: "String", value: "M-0042" }] },
  ]);
  assert.equal(step(r, "Power down").group, "C");
});

Deno.test("atml: CRLF and LF give the same report", async () => {
  const crlf = Deno.readFileSync(own("atml202_failed_crlf.xml"));
  const params = { partNumber: "P" };
  const [a] = await convertValid(converter, convertInput(crlf, "a.xml", params));
  const [b] = await convertValid(converter, convertInput(toLf(crlf), "b.xml", params));
  assert.deepEqual(withoutId(a), withoutId(b));
});

Deno.test("atml: 6.01 batch → one report per TestResults, a terminated unit", async () => {
  const bytes = Deno.readFileSync(own("atml601_batch.xml"));
  assert.ok(detect(bytes) >= 0.9);
  const [a, b, ...more] = await convertValid(converter, convertInput(bytes, "b.xml"));
  assert.equal(more.length, 0);
  assert.deepEqual([a.id, b.id], [
    "a0a0a0a0-0000-4000-8000-000000000000",
    "a0a0a0a0-0000-4000-8000-000000000001",
  ]);
  assert.deepEqual([a.sn, b.sn], ["W-100", "W-101"]);
  assert.deepEqual([a.result, b.result], ["P", "T"]);
  assert.deepEqual([a.uut?.testSocketIndex, b.uut?.testSocketIndex], [0, 1]);
  for (const r of [a, b]) {
    assert.equal(r.pn, "WID-601");
    assert.equal(r.uut?.batchSN, "LOT-601");
    assert.equal(r.uut?.user, "oper1");
    assert.equal(r.start, "2026-07-01T23:59:58.900+02:00");
    assert.equal(r.root?.seqCall?.name, "TestUUT");
  }
  assert.deepEqual(step(a, "Current").numericMeas, [
    { compOp: "LE", status: "P", value: 0.2, unit: "A", lowLimit: 0.5 },
  ]);
  assert.equal(step(b, "Terminate here").status, "T");
});

Deno.test("atml: limit pairs in either order", async () => {
  // The upper bound written first (AND), and an OR pair with its upper bound first.
  const text = fromLatin1(Deno.readFileSync(own("atml202_failed_crlf.xml")))
    .replace(
      /<c:Limit comparator="GE"><c:Datum value="0" xsi:type="c:double" nonStandardUnit="V"\/><\/c:Limit>(<c:Limit comparator="LE">.*?<\/c:Limit>)/,
      '$1<c:Limit comparator="GE"><c:Datum value="0" xsi:type="c:double" nonStandardUnit="V"/></c:Limit>',
    )
    .replace(
      /(<c:Limit comparator="LT">.*?<\/c:Limit>)(<c:Limit comparator="GT">.*?<\/c:Limit>)/,
      "$2$1",
    );
  const [r] = await convertValid(
    converter,
    convertInput(latin1(text), "o.xml", { partNumber: "P" }),
  );
  const hex = step(r, "Spänning hex").numericMeas?.[0];
  assert.deepEqual([hex?.compOp, hex?.lowLimit, hex?.highLimit], ["GELE", 0, 100]);
  const band = step(r, "Outside band").numericMeas?.[0];
  assert.deepEqual([band?.compOp, band?.lowLimit, band?.highLimit], ["LTGT", -1e-3, 1e-3]);
});

Deno.test("atml: a pass/fail step's PassFail result is its measurement, not extra data", async () => {
  const text = fromLatin1(Deno.readFileSync(own("atml202_failed_crlf.xml"))).replace(
    /(<tr:Test ID="15" name="Button pressed"[\s\S]*?<tr:Outcome value="Failed"\/>)/,
    '$1<tr:TestResult ID="pf" name="PassFail"><tr:TestData>' +
      '<c:Datum value="false" xsi:type="c:boolean"/></tr:TestData></tr:TestResult>',
  );
  assert.ok(text.includes('name="PassFail"'));
  const [r] = await convertValid(
    converter,
    convertInput(latin1(text), "pf.xml", { partNumber: "P" }),
  );
  const pressed = step(r, "Button pressed");
  assert.deepEqual(pressed.booleanMeas, [{ status: "F" }]);
  assert.equal(pressed.additionalResults, undefined);
});

Deno.test("atml: the batch table's serial fills units that have none", async () => {
  const text = fromLatin1(Deno.readFileSync(own("atml601_batch.xml")))
    .replaceAll("<ts:BatchSerialNumber value='LOT-601'/>", "")
    .replace(
      /(<trc:TestResultsCollection[^>]*>)/,
      '$1<trc:Extension><ts:TSBatchTable batchSerialNumber="TRAY-9" stationID="S" operator="o">' +
        "</ts:TSBatchTable></trc:Extension>",
    );
  const reports = await convertValid(converter, convertInput(latin1(text), "t.xml"));
  assert.deepEqual(reports.map((r) => r.uut?.batchSN), ["TRAY-9", "TRAY-9"]);
});

Deno.test("atml: a repeated uuid keeps the first unit's id and derives the second's", async () => {
  const text = fromLatin1(Deno.readFileSync(own("atml601_batch.xml")))
    .replace("000000000001", "000000000000");
  const [a, b] = await convertValid(converter, convertInput(latin1(text), "dup.xml"));
  assert.equal(a.id, "a0a0a0a0-0000-4000-8000-000000000000");
  assert.notEqual(b.id, a.id);
  const [, b2] = await convertValid(converter, convertInput(latin1(text), "dup.xml"));
  assert.equal(b2.id, b.id); // still deterministic
});

Deno.test("atml: the file's verdict wins over the limits (import), with a status note", async () => {
  const text = fromLatin1(Deno.readFileSync(own("atml202_failed_crlf.xml")))
    .replace('<c:Datum value="1010"', '<c:Datum value="1100"');
  const [r] = await convertValid(
    converter,
    convertInput(latin1(text), "x.xml", { partNumber: "P" }),
  );
  const freq = step(r, "Frequency");
  assert.equal(freq.numericMeas?.[0].value, 1100);
  assert.equal(freq.numericMeas?.[0].status, "P"); // Outcome Passed in the file
  assert.ok(r.miscInfos?.some((m) => /Frequency.*file P, limits F/.test(m.text ?? "")));
});

Deno.test("atml: broken and foreign files are refused with a clear message", async () => {
  const text = fromLatin1(Deno.readFileSync(own("atml601_batch.xml")));
  await rejects(converter, convertInput(latin1(text.slice(0, 2000)), "cut.xml"), /line \d+/);
  await rejects(
    converter,
    convertInput(
      text.replaceAll("urn:IEEE-1636.1:2013:TestResultsCollection", "urn:other"),
      "x.xml",
    ),
    /not an IEEE 1636\.1/,
  );
  await rejects(converter, convertInput("<Reports><Report/></Reports>", "ts.xml"), /not an ATML/);
  await rejects(
    converter,
    convertInput(
      text.replace(/startDateTime="2026-07-01T23:59:58\.900"/, 'startDateTime="yesterday"'),
      "d.xml",
    ),
    /startDateTime "yesterday"/,
  );
  await rejects(
    converter,
    convertInput(text.replace("<c:SerialNumber>W-100</c:SerialNumber>", ""), "sn.xml"),
    /no SerialNumber/,
  );
  await rejects(converter, convertInput(latin1(text), "p.xml", { testMode: "maybe" }), /testMode/);
});

Deno.test("atml: detect", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(
    detect(enc('<tr:TestResults xmlns:tr="http://www.ieee.org/ATML/2007/TestResults">')),
    0.95,
  );
  assert.equal(detect(enc("<TestResults>")), 0.3);
  assert.equal(detect(enc("<Reports><Report Type='UUT'>")), 0);
  assert.equal(detect(enc("random text")), 0);
});

Deno.test("atml: fuzz", async () => {
  const seeds = ["atml202_failed_crlf.xml", "atml601_batch.xml"].map((f) =>
    Deno.readFileSync(own(f))
  );
  const stats = await fuzzConverter(converter, seeds, {
    params: { partNumber: "FUZZ-PN" },
    cases: 300,
    name: "fuzz.xml",
  });
  assertFuzzStats(stats);
});
