/**
 * Tests of the `stepwize` converter: the real XSPC in shared/fixtures/stations/stepwize-xspc and
 * the synthetic tests/fixtures/convert/stepwize/fail_dst_night.XSPC (a failure, pass/fail and
 * one-sided limit rows, a step name that comes back, part number from modelNumber, times in
 * the night Oslo leaves summer time), refusals, detection and a fuzz run.
 */
import assert from "#assert";
import { converter } from "../../src/convert/converters/stepwize.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertAutoPicks, assertTakesNoOtherFormat } from "./_detect.ts";
import { fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaves, rejects, step, withoutId } from "./_convert.ts";
import { crlf, utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";

const REAL = () =>
  sharedFixture("stations", "stepwize-xspc", "20250316_133653_CONFIG_AND_RESULTS.XSPC")!;
const OWN = () => ownFixture("convert", "stepwize", "fail_dst_night.XSPC");

Deno.test({
  name: "stepwize: real XSPC: SN65632341, Pass, 233 rows in 52 step sequences",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convertValid(converter, fileInput(REAL()));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "SN65632341");
    assert.equal(r.pn, "PN1");
    assert.equal(r.rev, "A");
    assert.equal(r.result, "P");
    assert.equal(r.processCode, 10);
    assert.ok(r.miscInfos?.some((m) => m.description === "Process name" && m.text === "SW Debug"));
    assert.equal(r.start, "2025-03-16T13:36:53.277+01:00"); // naive, station zone
    assert.equal(r.uut?.execTime, 13814.647); // to the last endDateTime 17:27:07.924
    assert.equal(r.uut?.user, "e");
    assert.deepEqual(r.root?.seqCall, {
      path: "sequenceFileName.xml",
      name: "sequenceFileName.xml",
      version: "1.0.1",
    });
    assert.equal(r.root?.steps?.length, 52);
    assert.equal(leaves(r).length, 233);
    assert.ok(leaves(r).every((s) => s.status === "P"));
    // limitMode "LL <= Value <= UL" → GELE.
    const v24 = step(r, "Verify 24 VDC PS Voltage").steps!.find((s) =>
      s.stepType === "ET_NLT" && s.name === "Verify 24 VDC PS Voltage"
    )!;
    assert.deepEqual(v24.numericMeas, [
      { compOp: "GELE", status: "P", value: 23.95355415344238, lowLimit: 23.9, highLimit: 24.1 },
    ]);
    assert.equal(v24.start, "2025-03-16T13:36:57.477+01:00");
    // "Performed…" (record only) rows are logged, whatever their limitMode says.
    const iteration = leaves(r).find((s) => s.name === "iteration")!;
    assert.deepEqual(iteration.numericMeas, [{ compOp: "LOG", status: "P", value: 0 }]);
    // dataType 2 → an action with the string value as text.
    const overall = leaves(r).find((s) => s.name === "Overall Outcome")!;
    assert.equal(overall.stepType, "Action");
    assert.equal(overall.reportText, "Pass");
    // "Value <= UL" rows → LE (the limit in lowLimit, as WSJF keeps it).
    const le = leaves(r).filter((s) => s.numericMeas?.[0].compOp === "LE");
    assert.equal(le.length, 33);
    assert.deepEqual(
      r.miscInfos?.filter((m) => m.description === "Asset ID").map((m) => m.text),
      ["SN_PCB-001", "VSI_PCB-001"],
    );
    // processCodes resolves the process name.
    const [coded] = await convertValid(
      converter,
      fileInput(REAL(), { processCodes: { "sw debug": 40 } }),
    );
    assert.equal(coded.processCode, 40);
  },
});

Deno.test("stepwize: synthetic: failure, pass/fail, one-sided limits, DST overlap night", async () => {
  const [r] = await convertValid(converter, fileInput(OWN()));
  assert.equal(r.sn, "SW-0099");
  assert.equal(r.pn, "MDL-22"); // partNumber empty → modelNumber
  assert.equal(r.rev, "B"); // revision empty → partRev
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "k.nakamura");
  assert.equal(r.root?.seqCall?.version, "004"); // build empty → version
  // 02:30 on 27 Oct 2024 happens twice in Oslo: the earlier one (+02:00).
  assert.equal(r.start, "2024-10-27T02:30:00.100+02:00");
  assert.equal(r.uut?.execTime, 4.025);
  assert.deepEqual(r.root?.steps?.map((s) => [s.name, s.status]), [
    ["Power On", "P"],
    ["Measure Rails", "F"],
    ["Self Test", "P"],
    ["Measure Rails", "P"], // the name came back: a new sequence
  ]);
  assert.deepEqual(step(r, "Leakage").numericMeas, [
    { compOp: "LT", status: "F", value: 0.002, unit: "A", lowLimit: 0.001 },
  ]);
  assert.deepEqual(step(r, "Watchdog").booleanMeas, [{ status: "P" }]);
  assert.deepEqual(step(r, "5V").numericMeas, [
    { compOp: "GE", status: "P", value: 5.02, unit: "V", lowLimit: 4.75 },
  ]);
  assert.deepEqual(
    r.miscInfos?.filter((m) => m.description === "Asset ID").map((m) => m.text),
    ["FIX-9", "DMM-3"],
  );
  assert.ok(r.miscInfos?.some((m) => m.description === "workOrder" && m.text === "WO-5"));
});

Deno.test("stepwize: refusals name the value", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN()));
  const input = (t: string) => convertInput(t, "x.XSPC");
  await rejects(
    converter,
    input(text.replace("Value &lt; UL", "Value ~ UL")),
    /unknown limitMode "Value ~ UL"/,
  );
  await rejects(
    converter,
    input(text.replace("<dataType>1</dataType>", "<dataType>7</dataType>")),
    /unknown dataType "7"/,
  );
  await rejects(
    converter,
    input(text.replace("<sequencePF>Fail</sequencePF>", "<sequencePF>Maybe</sequencePF>")),
    /sequencePF: unknown verdict "Maybe"/,
  );
  await rejects(
    converter,
    input(text.replace("<stepOutcome>Fail</stepOutcome>", "<stepOutcome>Odd</stepOutcome>")),
    /stepOutcome: unknown verdict "Odd"/,
  );
  await rejects(
    converter,
    input(text.replace("3.31E+0", "three")),
    /stepValue: "three" is not a number/,
  );
  await rejects(
    converter,
    input(text.replace("<serialNumber>SW-0099</serialNumber>", "<serialNumber></serialNumber>")),
    /no serial number/,
  );
  await rejects(
    converter,
    input(text.replace(/<Config_and_Data_Result>[\s\S]*<\/Config_and_Data_Result>\n/, "")),
    /no <Config_and_Data_Result> rows/,
  );
  await rejects(converter, input(text.slice(0, 2000)), /not well-formed XML/);
  await rejects(converter, input("<Other/>"), /not a StepWize file/);
});

Deno.test({
  name: "stepwize: format auto picks its files; detect takes no other format's file",
  ...needsSharedFixtures,
  async fn() {
    await assertAutoPicks(converter, [REAL(), OWN()]);
    const checked = assertTakesNoOtherFormat(converter, ["stepwize-xspc", "stepwize"]);
    assert.ok(checked > 40, `only ${checked} files checked`);
  },
});

Deno.test("stepwize: fuzz (truncated, bit flips, UTF-16, CP1252, CRLF, huge lines)", async () => {
  const stats = await fuzzConverter(converter, [Deno.readFileSync(OWN())], {
    name: "f.XSPC",
    cases: 300,
  });
  assert.ok(stats.converted > 10, `converted ${stats.converted}`);
  assert.ok(stats.rejected > 30, `rejected ${stats.rejected}`);
  assert.equal(stats.reports, stats.converted);
});

Deno.test("stepwize: UTF-16 and CRLF copies convert alike; 20,000 rows", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN()));
  const [base] = await convertValid(converter, convertInput(text, "f.XSPC"));
  for (const other of [utf16le(text), new TextEncoder().encode(crlf(text))]) {
    const [r] = await convertValid(converter, convertInput(other, "f.XSPC"));
    assert.deepEqual(withoutId(r), withoutId(base));
  }
  const row = /<Config_and_Data_Result>[\s\S]*?<\/Config_and_Data_Result>\n/.exec(text)![0];
  const many = text.replace(row, row.repeat(20_000));
  const [r] = await convertValid(converter, convertInput(many, "big.XSPC"));
  assert.equal(leaves(r).length, 20_000 + 4);
  assert.equal(r.root?.steps?.length, 4); // consecutive rows of one stepName share a sequence
});
