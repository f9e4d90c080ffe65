/**
 * Tests of the `sigmaquest` converter: the real UnitReport in
 * shared/fixtures/stations/sigmaquest-unitreport-xml, the synthetic
 * tests/fixtures/convert/sigmaquest/namespaced_mixed.xml (schema namespace, ISO-8859-1, CRLF,
 * decimal commas, SetUp, ValueInteger/String/Boolean, a Comparison property, Fail Notes, an
 * Error, sub products, station properties, PENDING), refusals, detection and a fuzz run.
 */
import assert from "#assert";
import { converter } from "../../src/convert/converters/sigmaquest.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertAutoPicks, assertTakesNoOtherFormat } from "./_detect.ts";
import { fuzzConverter } from "./_fuzz.ts";
import {
  allSteps,
  convertValid,
  fromLatin1,
  latin1,
  leaves,
  rejects,
  step,
  withoutId,
} from "./_convert.ts";
import { utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";

const REAL = () => sharedFixture("stations", "sigmaquest-unitreport-xml", "testdata_SN651658.xml")!;
const OWN = () => ownFixture("convert", "sigmaquest", "namespaced_mixed.xml");
const COMMA = { decimalSeparator: "," };

Deno.test({
  name: "sigmaquest: real UnitReport SN651658: 55 TestRuns, overall FAIL, lsl/usl limits",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convertValid(converter, fileInput(REAL()));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "SN651658");
    assert.equal(r.pn, "1564678564");
    assert.equal(r.result, "F");
    assert.equal(r.uut?.user, "OP2");
    // The root TestRun starts before the UnitReport's own start-time: the earlier one is used.
    assert.equal(r.start, "2024-12-10T15:34:53+00:00");
    assert.equal(r.uut?.execTime, 83574); // to the UnitReport end-time 2024-12-11T14:47:47
    assert.equal(r.machineName, "TEST-STATION"); // "<No Station>" is not a station name
    assert.ok(
      r.miscInfos?.some((m) => m.description === "Station name" && m.text === "<No Station>"),
    );
    assert.equal(r.root?.seqCall?.name, "OP2");
    // 55 TestRuns = the root + 54 steps below it.
    assert.equal(allSteps(r).length, 54);
    assert.deepEqual(r.root?.steps?.map((s) => [s.name, s.status]), [
      ["MANUFACTURING PRE-TEST", "P"],
      ["INITIAL TUNING AND CHARGING", "P"],
      ["POSITIVE MODE QUAD TUNING AND TESTING", "P"],
      ["NEGATIVE MODE QUAD TUNING AND TESTING", "P"],
      ["MS2 POSITIVE MODE QUAD TUNING AND TESTING", "F"],
    ]);
    const grades = allSteps(r).map((s) => s.status);
    assert.equal(grades.filter((s) => s === "F").length, 2); // + the root = 3 FAIL
    assert.equal(grades.filter((s) => s === "T").length, 5); // PENDING
    assert.equal(grades.filter((s) => s === "P").length, 47); // PASS
    // lsl="0" usl="-2.4000" with -3.4359 graded PASS: the 0 is "not set" → LE -2.4.
    assert.deepEqual(step(r, "Align RF Generator").numericMeas?.[0], {
      name: "MS1 value",
      compOp: "LE",
      status: "P",
      value: -3.4359,
      lowLimit: -2.4,
    });
    assert.deepEqual(step(r, "Gas Inlet Manifold").numericMeas, [
      { compOp: "GELE", status: "P", value: 0.0039323, lowLimit: 0.0035, highLimit: 0.004 },
    ]);
    assert.equal(step(r, "Instrument Preparation").numericMeas?.[0].compOp, "LOG"); // 0 and 0
    assert.match(
      step(r, "Vacuum Check").reportText!,
      /^Attachment DHR: \/\/OP2_TestResults\/.*\.html$/,
    );
    // Valueless PENDING runs are actions with status T; valued ones keep their measurements.
    const pending = allSteps(r).filter((x) => x.name === "Low Mass Position").at(-1)!;
    assert.equal(pending.stepType, "Action");
    assert.equal(pending.status, "T");
    // Every ValueDouble became a measurement.
    const meas = allSteps(r).reduce((n, s) => n + (s.numericMeas?.length ?? 0), 0);
    assert.equal(meas, 175);
    // With zeroLimits "value", the 0 is a limit.
    const [strict] = await convertValid(converter, fileInput(REAL(), { zeroLimits: "value" }));
    assert.equal(step(strict, "Align RF Generator").numericMeas?.[0].compOp, "GELE");
  },
});

Deno.test("sigmaquest: synthetic: namespace, Latin-1, decimal comma, every value kind", async () => {
  const [r] = await convertValid(converter, fileInput(OWN(), COMMA));
  assert.equal(r.sn, "PSU500-0007");
  assert.equal(r.pn, "PSU-500");
  assert.equal(r.rev, "C");
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "Åsa Ström");
  assert.equal(r.machineName, "EOL-Station 4");
  assert.equal(r.location, "Hall B");
  assert.deepEqual(r.root?.seqCall, {
    path: "PSU Final",
    name: "PSU Final",
    version: "EOL Suite 3.1.4",
  });
  assert.equal(r.start, "2024-03-05T09:00:00+01:00"); // the root run started 5 s before the report
  assert.equal(r.uut?.execTime, 155);
  assert.deepEqual(r.subUnits, [
    { partType: "Product", pn: "FAN-40", sn: "FAN-1234", rev: "2" },
    { partType: "Product", pn: "CTRL-1", sn: "CB-77" },
  ]);
  assert.deepEqual(
    r.miscInfos?.map((m) => [m.description, m.text]).filter(([d]) => d !== "Status note"),
    [["Mode", "Production"], ["Rack", "R2"]],
  );
  const setup = step(r, "Setup");
  assert.equal(setup.group, "S");
  assert.deepEqual(setup.numericMeas, [{ compOp: "LOG", status: "P", value: 5 }]);
  const rail = step(r, "12V rail");
  assert.deepEqual(rail.numericMeas, [
    { compOp: "GELE", status: "F", value: 12.71, unit: "V", lowLimit: 11.4, highLimit: 12.6 },
  ]);
  assert.equal(rail.status, "F");
  assert.equal(rail.totTime, 30.5);
  assert.equal(rail.errorMessage, "E42: Load bank warm");
  assert.equal(
    rail.reportText,
    "Rail above limit\nAttachment Plot: //PC17/results/PSU500-0007/12v.html",
  );
  // Comparison "LT (less than)" with lsl 0 (not set) and usl 0.05 → LT 0.05.
  assert.deepEqual(step(r, "Ripple").numericMeas, [
    { compOp: "LT", status: "P", value: 0.021, unit: "V", lowLimit: 0.05 },
  ]);
  // Mixed kinds: a sequence with one step per value.
  const labels = step(r, "Labels");
  assert.equal(labels.stepType, "SequenceCall");
  assert.deepEqual(labels.steps?.map((s) => [s.name, s.stepType]), [
    ["Firmware", "ET_SVT"],
    ["Label present", "ET_PFT"],
    ["Label skew", "ET_NLT"],
  ]);
  assert.deepEqual(step(r, "Firmware").stringMeas, [{
    compOp: "LOG",
    status: "P",
    value: "v2.0.1",
  }]);
  assert.equal(step(r, "Burn-in").status, "T"); // PENDING
  assert.deepEqual(leaves(r).map((s) => s.name), [
    "Setup",
    "12V rail",
    "Ripple",
    "Firmware",
    "Label present",
    "Label skew",
    "Burn-in",
  ]);
  // Grades the file has that the agent does not know can be mapped.
  const text = fromLatin1(Deno.readFileSync(OWN())).replace('grade="PENDING"', 'grade="RETEST"');
  await rejects(
    converter,
    convertInput(latin1(text), "x.xml", COMMA),
    /unknown grade "RETEST".*"grades"/s,
  );
  const [mapped] = await convertValid(
    converter,
    convertInput(latin1(text), "x.xml", { ...COMMA, grades: { retest: "F" } }),
  );
  assert.equal(step(mapped, "Burn-in").status, "F");
});

Deno.test("sigmaquest: refusals name the problem", async () => {
  const text = fromLatin1(Deno.readFileSync(OWN()));
  const input = (t: string) => convertInput(latin1(t), "x.xml", COMMA);
  await rejects(
    converter,
    input(text.replace("LT (less than)", "ABOUT")),
    /unknown comparison "ABOUT"/,
  );
  await rejects(
    converter,
    input(text.replace(">12,71<", ">high<")),
    /value "high" is not a number/,
  );
  await rejects(converter, input(text.replace(">true<", ">perhaps<")), /ValueBoolean "perhaps"/);
  await rejects(
    converter,
    input('<UnitReport><Category/><TestRun name="a" grade="PASS"/></UnitReport>'),
    /no <Product>/,
  );
  await rejects(
    converter,
    input('<UnitReport><Category><Product serial-no="1"/></Category></UnitReport>'),
    /no <TestRun>/,
  );
  await rejects(converter, input("<Reports/>"), /not a SigmaQuest UnitReport/);
  await rejects(
    converter,
    input('<!DOCTYPE r [<!ENTITY a "aaaa">]><UnitReport/>'),
    /refuses entity declarations/,
  );
  // Without the decimal-comma setting the comma values are not numbers.
  await rejects(converter, fileInput(OWN()), /lsl "11,4" is not a number/);
});

Deno.test({
  name: "sigmaquest: format auto picks its files; detect takes no other format's file",
  ...needsSharedFixtures,
  async fn() {
    await assertAutoPicks(converter, [REAL(), OWN()]);
    const checked = assertTakesNoOtherFormat(converter, [
      "sigmaquest-unitreport-xml",
      "sigmaquest",
    ]);
    assert.ok(checked > 40, `only ${checked} files checked`);
  },
});

Deno.test("sigmaquest: fuzz (truncated, bit flips, UTF-16, CP1252, CRLF, huge lines)", async () => {
  const stats = await fuzzConverter(converter, [Deno.readFileSync(OWN())], {
    params: COMMA,
    name: "u.xml",
    cases: 300,
  });
  assert.ok(stats.converted > 10, `converted ${stats.converted}`);
  assert.ok(stats.rejected > 30, `rejected ${stats.rejected}`);
  assert.equal(stats.reports, stats.converted);
});

Deno.test("sigmaquest: UTF-16 and LF copies convert alike; a report of 3,000 TestRuns", async () => {
  const bytes = Deno.readFileSync(OWN());
  const text = fromLatin1(bytes);
  const [base] = await convertValid(converter, convertInput(bytes, "u.xml", COMMA));
  for (const other of [utf16le(text), latin1(text.replaceAll("\r\n", "\n"))]) {
    const [r] = await convertValid(converter, convertInput(other, "u.xml", COMMA));
    assert.deepEqual(withoutId(r), withoutId(base));
  }
  const runs: string[] = [];
  for (let i = 0; i < 3000; i++) {
    runs.push(
      `<TestRun name="T${i}" start-time="2024-01-01T10:00:00Z" grade="${
        i === 1234 ? "FAIL" : "PASS"
      }">` +
        `<Result><ValueDouble name="v" lsl="1" usl="2">1.5</ValueDouble></Result></TestRun>`,
    );
  }
  const big = `<UnitReport><Category><Product part-no="P" serial-no="S"/></Category>` +
    `<TestRun name="Root" start-time="2024-01-01T10:00:00Z" grade="FAIL">` +
    `<TestRun name="Group">${runs.join("\n")}</TestRun></TestRun></UnitReport>`;
  const [r] = await convertValid(converter, convertInput(big, "big.xml"));
  assert.equal(leaves(r).length, 3000);
  assert.equal(r.result, "F");
  assert.equal(step(r, "T1234").status, "F");
  assert.equal(r.start, "2024-01-01T11:00:00+01:00"); // Z, shown in the station zone
});
