import assert from "#assert";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { converter } from "../../src/convert/converters/wstf.ts";
import { unitReportId } from "../../src/convert/ids.ts";
import { allSteps, type Any, measurementCount, stepNamed } from "./_compare.ts";
import { fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput, station } from "./_station.ts";

const own = (name: string) => ownFixture("convert", "wstf", name);
const convert = (file: string, params: Record<string, unknown> = {}) =>
  converter.convert(fileInput(file, params)) as Any[];

Deno.test("wstf: registered under its name", async () => {
  assert.equal(await builtinConverters.wstf(), converter);
});

Deno.test("wstf: two units, CRLF, Windows-1252, decimal comma, DST gap, multi rows, charts", () => {
  const input = fileInput(own("two-units.txt"), { decimalSeparator: "," });
  const rs = converter.convert(input) as Any[];
  assert.equal(rs.length, 2);
  const [a, b] = rs;
  assert.deepEqual([a.id, b.id], [unitReportId(input.sha256, 0), unitReportId(input.sha256, 1)]);
  assert.deepEqual(
    [a.sn, a.pn, a.rev, a.processCode, a.result, a.machineName, a.start],
    ["WSTF-1", "WSTF-PN", "B", 30, "P", "TXT-ST", "2025-03-30T03:30:00+02:00"], // 02:30 is in the gap
  );
  assert.deepEqual(a.uut, { user: "Anna", execTime: 12.5, testSocketIndex: 2 });
  assert.deepEqual(a.root.seqCall, { path: "check.seq", name: "check.seq", version: "2.0" });
  assert.deepEqual(a.subUnits, [{ partType: "Display", pn: "DSP-1", sn: "DSP-SN", rev: "A" }]);
  assert.deepEqual(a.miscInfos, [{ description: "Line", text: "L7" }]);
  const seq = stepNamed(a, "Spänning");
  assert.equal(seq.stepType, "SequenceCall");
  assert.deepEqual(seq.steps!.map((s) => s.name), ["Vcc", "Rails"]);
  assert.deepEqual(stepNamed(a, "Vcc").numericMeas, [
    { compOp: "GELE", status: "P", value: 3.3, unit: "V", lowLimit: 3.2, highLimit: 3.4 },
  ]);
  assert.equal(stepNamed(a, "Vcc").totTime, 0.1);
  const rails = stepNamed(a, "Rails");
  assert.equal(rails.stepType, "ET_MNLT");
  assert.equal(rails.status, "P");
  assert.deepEqual(rails.numericMeas!.map((m) => [m.name, m.value, m.status]), [
    ["5V", 5.01, "P"], // the control character in the name is gone
    ["12V", 12, "P"],
  ]);
  const curve = stepNamed(a, "Curve");
  assert.equal(curve.stepType, "WATS_XYGMNLT");
  assert.deepEqual(curve.chart, {
    chartType: "Line",
    label: "Sweep",
    xLabel: "Time",
    xUnit: "s",
    yLabel: "Level",
    yUnit: "V",
    series: [{ dataType: "XYG", name: "level", xdata: "0;1;2", ydata: "1;2;4" }],
  });
  assert.deepEqual(stepNamed(a, "FW").stringMeas, [
    { compOp: "IGNORECASE", status: "P", value: "v1.2", limit: "V1.2" },
  ]);
  assert.deepEqual(stepNamed(a, "LED").booleanMeas, [{ status: "P" }]);
  assert.equal(stepNamed(a, "Log").status, "D");
  // Unit 2: UTC start (→ Oslo, during the DST overlap), ConverterMode Active recomputes.
  assert.equal(b.start, "2025-10-26T02:30:00+02:00");
  assert.equal(b.machineName, station.name);
  assert.equal(b.uut.user, station.operator);
  assert.equal(stepNamed(b, "Out of limits").status, "F");
  assert.equal(b.result, "F");
});

Deno.test("wstf: import mode keeps the row's verdict and notes the limits' one", () => {
  const text = Deno.readTextFileSync(own("two-units.txt")).replace("ConverterMode\tActive\r\n", "");
  const [, b] = converter.convert(convertInput(text, "u.txt", { decimalSeparator: "," })) as Any[];
  assert.equal(stepNamed(b, "Out of limits").status, "P");
  assert.equal(b.result, "F"); // the footer UUTStatus
  assert.deepEqual(b.miscInfos.map((m: Any) => m.text), [
    'step 2 "Out of limits": file P, limits F',
    "result: file F, steps P",
  ]);
});

Deno.test("wstf: the Virinco reference sample, row by row", needsSharedFixtures, () => {
  const file = sharedFixture("stations", "wats-wstf", "WatsStandardTextFormat.txt")!;
  const rs = convert(file, { processCodes: { "SW Debug": 10 } });
  assert.equal(rs.length, 1);
  const r = rs[0];
  assert.deepEqual(
    [r.sn, r.pn, r.rev, r.processCode, r.result, r.machineName, r.start],
    ["423664753", "100200", "A", 10, "F", "VIC-WS-ML", "2014-07-04T14:09:04+02:00"],
  );
  assert.deepEqual(
    [r.uut.user, r.uut.execTime, r.uut.batchSN, r.uut.fixtureId, r.uut.errorCode],
    ["Martin Lentz", 10, "B888", "543A", 0],
  );
  assert.match(r.uut.comment, /^This is a comment to this UUT/);
  assert.deepEqual(r.miscInfos, [{ description: "uCSwVer", text: "1.0" }]);
  assert.deepEqual(r.subUnits.map((s: Any) => s.sn), ["SN 6654433", "SN 5555"]);
  assert.deepEqual(
    allSteps(r).map((s) => [s.name, s.stepType, s.status]),
    [
      ["MainSequence Callback", "SequenceCall", "F"],
      ["SubSeq1", "SequenceCall", "P"],
      ["test1.1", "ET_NLT", "P"],
      ["test1.2", "ET_NLT", "P"],
      ["SubSeq2", "SequenceCall", "P"],
      ["test2.2", "ET_MNLT", "P"],
      ["Test3", "ET_MNLT", "F"],
      ["test4", "ET_PFT", "P"],
      ["test5", "ET_MPFT", "F"],
      ["Test6", "ET_SVT", "F"],
      ["Action", "Action", "D"],
      ["SubSeq3", "SequenceCall", "P"],
      ["SameStepName", "ET_MNLT", "P"],
    ],
  );
  assert.equal(measurementCount(r), 2 + 2 + 3 + 1 + 4 + 1 + 2);
  // Value by value against the file's rows.
  assert.deepEqual(stepNamed(r, "Test3").numericMeas, [
    { name: "meas1", compOp: "EQ", status: "F", value: 8, unit: "Volt", lowLimit: 10 },
    { name: "meas2", compOp: "EQ", status: "F", value: 6, unit: "Volt", lowLimit: 5 },
    { name: "meas3", compOp: "EQ", status: "P", value: 10, unit: "Volt", lowLimit: 10 },
  ]);
  assert.equal(stepNamed(r, "Test3").causedSeqFailure, true);
  assert.deepEqual(stepNamed(r, "test5").booleanMeas!.map((m) => m.status), ["F", "P", "P", "F"]);
  assert.deepEqual(stepNamed(r, "Test6").stringMeas, [{
    compOp: "EQ",
    status: "F",
    value: "The quick brown fox jump over lazy dogs",
    limit: "the quick brown fox jump over lazy dogs",
  }]);
  assert.equal(stepNamed(r, "SubSeq1").reportText, "This is a seq call report text");
  assert.equal(r.miscInfos.some((m: Any) => m.description === "Status note"), false);
});

Deno.test(
  "wstf: without a process code mapping the process name is kept as misc info",
  needsSharedFixtures,
  () => {
    const [r] = convert(sharedFixture("stations", "wats-wstf", "WatsStandardTextFormat.txt")!, {
      processCode: 20,
    });
    assert.equal(r.processCode, 20);
    assert.ok(
      r.miscInfos.some((m: Any) => m.description === "Process name" && m.text === "SW Debug"),
    );
  },
);

Deno.test("wstf: broken files are refused with line numbers", () => {
  const bad = (file: string, re: RegExp, params = {}) =>
    assert.throws(() => convert(own(file), params), (e: Error) => {
      if (!(e instanceof ConversionError)) throw e;
      assert.match(e.message, re);
      return true;
    });
  bad("bad-cut.txt", /no --Step-Data-End-- \(file cut off\?\)/);
  bad("bad-steptype.txt", /line 7: unknown StepType "BogusStep"/);
  bad("bad-value.txt", /line 6: Value "abc" is not a number/);
  const t = (s: string) => () => converter.convert(convertInput(s, "t.txt", { partNumber: "P" }));
  assert.throws(t("SerialNumber\tX\n"), /expected --Header-Start--/);
  assert.throws(t(""), /no --Header-Start-- line/);
  assert.throws(
    t("--Header-Start--\nSerialNumber\tX\n--Step-Data-Start--\n--Step-Data-End--\n"),
    /no StartDateTime or UTCStartDateTime/,
  );
  assert.throws(
    t("--Header-Start--\nSerialNumber\tX\nStartDateTime\t2025-01-01T00:00:00\n--Step-Data-Start--\nEndSequenceCall\n--Step-Data-End--\n"),
    /line 5: EndSequenceCall without a SequenceCall/,
  );
  assert.throws(
    t("--Header-Start--\nSerialNumber\tX\nStartDateTime\t2025-01-01T00:00:00\nUUTStatus\tMaybe\n--Step-Data-Start--\n--Step-Data-End--\n"),
    /unknown UUTStatus "Maybe"/,
  );
  // Accepted: no --UUT-End-- after the step data; no column header row (documented order).
  const [r] = t(
    "--Header-Start--\nSerialNumber\tX\nStartDateTime\t2025-01-01T00:00:00\n--Step-Data-Start--\nNumericLimitTest\tA\t\t1\t0\t2\tGELE\tV\tPassed\n--Step-Data-End--",
  )() as Any[];
  assert.deepEqual(stepNamed(r, "A").numericMeas, [
    { compOp: "GELE", status: "P", value: 1, unit: "V", lowLimit: 0, highLimit: 2 },
  ]);
  assert.equal(r.start, "2025-01-01T00:00:00+01:00");
});

Deno.test("wstf: detect", () => {
  const head = (f: string) => Deno.readFileSync(f).subarray(0, 8192);
  assert.equal(converter.detect!({ head: head(own("two-units.txt")), name: "a.txt" }), 0.95);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(converter.detect!({ head: enc("\uFEFF--Header-Start--\t\t"), name: "a.txt" }), 0.95);
  assert.equal(converter.detect!({ head: enc("SerialNumber;PartNumber"), name: "a.txt" }), 0);
});

// Each seed with the params it converts with: the project's own sample writes decimal commas
// (so the suite is meaningful on a clone without the shared fixtures), the shared one points.
Deno.test("wstf: fuzz (own seed, decimal comma)", async () => {
  const stats = await fuzzConverter(converter, [Deno.readFileSync(own("two-units.txt"))], {
    name: "fuzz.txt",
    params: { partNumber: "FUZZ-PN", decimalSeparator: "," },
    cases: 300,
  });
  assert.ok(stats.converted > 30 && stats.rejected > 30, JSON.stringify(stats));
});

Deno.test({
  name: "wstf: fuzz (shared sample)",
  ...needsSharedFixtures,
  fn: async () => {
    const sample = sharedFixture("stations", "wats-wstf", "WatsStandardTextFormat.txt")!;
    const stats = await fuzzConverter(converter, [Deno.readFileSync(sample)], {
      name: "fuzz.txt",
      params: { partNumber: "FUZZ-PN" },
      cases: 300,
    });
    assert.ok(stats.converted > 30 && stats.rejected > 30, JSON.stringify(stats));
  },
});
