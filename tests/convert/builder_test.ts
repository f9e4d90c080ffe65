import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { converterParams, parseParams } from "../../src/convert/params.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { MAX_STATUS_NOTES, ReportBuilder } from "../../src/wsjf/builder.ts";
import { MAX_DOUBLE } from "../../src/wsjf/compop.ts";
import { type Step } from "../../src/wsjf/report.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { walkSteps } from "../../src/wsjf/rules.ts";
import { station } from "./_station.ts";

const ctx = { station, sha256: "ab".repeat(32), name: "unit.txt" };
const start = "2026-03-02T09:15:00+01:00";

function steps(report: { root?: Step }): Step[] {
  const out: Step[] = [];
  walkSteps(report.root!, "root", (s) => out.push(s));
  return out;
}

function byName(report: { root?: Step }, name: string): Step {
  const s = steps(report).find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name}`);
  return s;
}

function valid(report: unknown) {
  const v = validateReport(report);
  if (!v.ok) throw new Error(v.problems.join("\n"));
  return v.report;
}

Deno.test("builder: header defaults from params and station, nested sequences, ids pre-order", () => {
  const params = parseParams(
    { partNumber: "PN-1", sequenceName: "Prog", sequenceVersion: "2.0" },
    converterParams(),
  );
  const rb = new ReportBuilder(ctx, params, { sn: " SN-1 ", start });
  const power = rb.root.sequence("Power");
  power.numeric("Vcc", { value: 3.31, low: 3.2, high: 3.4, unit: "V" });
  const inner = power.sequence("Inner");
  inner.action("Wait");
  rb.root.passFail("LED", { passed: true });
  const r = valid(rb.build());
  assert.equal(r.type, "T");
  assert.equal(r.sn, "SN-1");
  assert.equal(r.pn, "PN-1");
  assert.equal(r.rev, "1.0");
  assert.equal(r.processCode, 10);
  assert.equal(r.machineName, station.name);
  assert.equal(r.location, station.location);
  assert.equal(r.purpose, station.purpose);
  assert.equal(r.uut?.user, station.operator);
  assert.equal(r.start, start);
  assert.equal(r.result, "P");
  assert.deepEqual(r.root!.seqCall, { path: "Prog", name: "Prog", version: "2.0" });
  assert.equal(r.root!.name, "MainSequence Callback");
  assert.deepEqual(steps(r).map((s) => [s.id, s.name]), [
    [1, "MainSequence Callback"],
    [2, "Power"],
    [3, "Vcc"],
    [4, "Inner"],
    [5, "Wait"],
    [6, "LED"],
  ]);
  assert.equal(byName(r, "Inner").seqCall?.version, "2.0");
  assert.equal(byName(r, "Wait").status, "D");
  assert.equal(byName(r, "Wait").stepType, "Action");
});

Deno.test("builder: the file's header wins over params, except stationName", () => {
  const rb = new ReportBuilder(
    ctx,
    { partNumber: "P", partRevision: "R", operator: "O", processCode: 30, stationName: "OVR" },
    {
      sn: "S",
      pn: "FILE-PN",
      rev: "B",
      operator: "file-op",
      processCode: 50,
      machineName: "Test Station",
      start,
    },
  );
  const r = valid(rb.build());
  assert.deepEqual([r.pn, r.rev, r.uut?.user, r.processCode, r.machineName], [
    "FILE-PN",
    "B",
    "file-op",
    50,
    "OVR",
  ]);
});

Deno.test("builder: missing serial or part number is a ConversionError naming the fix", () => {
  assert.throws(
    () => new ReportBuilder(ctx, {}, { sn: "S", start }).build(),
    (e: Error) => e instanceof ConversionError && /partNumber/.test(e.message + e.hint),
  );
  assert.throws(
    () => new ReportBuilder(ctx, { partNumber: "P" }, { sn: "  ", start }).build(),
    (e: Error) => e instanceof ConversionError && /serial/.test(e.message),
  );
});

Deno.test("builder: process name resolves through processCodes, else is kept as misc info", () => {
  const a = new ReportBuilder(ctx, { partNumber: "P", processCodes: { "sw debug": 10, ICT: 30 } }, {
    sn: "S",
    start,
    processName: "ICT",
  }).build();
  assert.equal(a.processCode, 30);
  const b = new ReportBuilder(ctx, { partNumber: "P", processCode: 40 }, {
    sn: "S",
    start,
    processName: "Burn in",
  }).build();
  assert.equal(b.processCode, 40);
  assert.deepEqual(b.miscInfos, [{ description: "Process name", text: "Burn in" }]);
});

Deno.test("builder: limits are placed per docs/wsjf.md#comparison-operators and compOp inferred or narrowed", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  const s = rb.root;
  s.numeric("both", { value: 1, low: 0, high: 2 });
  s.numeric("lowOnly", { value: 1, low: 0 });
  s.numeric("highOnly", { value: 1, high: 2 });
  s.numeric("none", { value: 1 });
  s.numeric("LT", { value: 1, compOp: "lt", limit: 2 });
  s.numeric("LE-high", { value: 1, compOp: "LE", high: 2 });
  s.numeric("GELE-noHigh", { value: 1, compOp: "GELE", low: 0, high: Infinity });
  s.numeric("GELE-nan", { value: 1, compOp: "GELE", low: NaN, high: 3 });
  s.numeric("EQ-none", { value: 1, compOp: "EQ" });
  s.numeric("sym", { value: 1, compOp: ">=", limit: 1 });
  const r = valid(rb.build());
  const m = (n: string) => byName(r, n).numericMeas![0];
  assert.deepEqual(m("both"), { compOp: "GELE", status: "P", value: 1, lowLimit: 0, highLimit: 2 });
  assert.deepEqual(m("lowOnly"), { compOp: "GE", status: "P", value: 1, lowLimit: 0 });
  assert.deepEqual(m("highOnly"), { compOp: "LE", status: "P", value: 1, lowLimit: 2 });
  assert.deepEqual(m("none"), { compOp: "LOG", status: "P", value: 1 });
  assert.deepEqual(m("LT"), { compOp: "LT", status: "P", value: 1, lowLimit: 2 });
  assert.deepEqual(m("LE-high"), { compOp: "LE", status: "P", value: 1, lowLimit: 2 });
  assert.deepEqual(m("GELE-noHigh"), { compOp: "GE", status: "P", value: 1, lowLimit: 0 });
  assert.deepEqual(m("GELE-nan"), { compOp: "LE", status: "P", value: 1, lowLimit: 3 });
  assert.deepEqual(m("EQ-none"), { compOp: "LOG", status: "P", value: 1 });
  assert.deepEqual(m("sym"), { compOp: "GE", status: "P", value: 1, lowLimit: 1 });
});

Deno.test("builder: non-finite values never reach the report", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  rb.root.numeric("nan", { value: NaN, low: 0, high: 1 });
  rb.root.numeric("inf", { value: Infinity, compOp: "GT", limit: 5 });
  rb.root.numeric("nanlog", { value: NaN });
  const r = valid(rb.build());
  const nan = byName(r, "nan");
  assert.equal(nan.numericMeas![0].value, undefined);
  assert.equal(nan.numericMeas![0].status, "F");
  assert.match(nan.reportText!, /NaN/);
  assert.equal(byName(r, "inf").numericMeas![0].value, MAX_DOUBLE);
  assert.equal(byName(r, "inf").status, "P");
  assert.equal(byName(r, "nanlog").numericMeas![0].status, "P");
  assert.ok(!JSON.stringify(r).includes("null"));
});

Deno.test("builder: multi-measurement steps name and de-duplicate their measurements", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  rb.root.multiNumeric("Rails", [
    { name: "5V", value: 5, low: 4.9, high: 5.1 },
    { name: "5v", value: 12, low: 11, high: 13 },
    { value: 1 },
  ]);
  const single = rb.root.numeric("Grows", { value: 1 });
  single.addNumeric({ name: "second", value: 2 });
  rb.root.multiPassFail("Self", [{ name: "RAM", passed: true }, { name: "Flash", status: "FAIL" }]);
  rb.root.multiString("Strs", [{ name: "a", value: "x", limit: "x" }]);
  rb.root.numeric("Typed", { value: 1 }, { stepType: "NumericLimitTest" }).addNumeric({ value: 2 });
  const r = valid(rb.build());
  assert.deepEqual(byName(r, "Rails").numericMeas!.map((m) => m.name), [
    "5V",
    "5v (2)",
    "Measurement 3",
  ]);
  assert.equal(byName(r, "Rails").stepType, "ET_MNLT");
  assert.deepEqual(byName(r, "Grows").numericMeas!.map((m) => m.name), ["Measurement 1", "second"]);
  assert.equal(byName(r, "Self").stepType, "ET_MPFT");
  assert.equal(byName(r, "Self").status, "F");
  assert.equal(byName(r, "Strs").stepType, "ET_MSVT");
  assert.equal(byName(r, "Strs").stringMeas![0].name, "a");
  assert.equal(byName(r, "Typed").stepType, "ET_MNLT");
  assert.equal(r.result, "F");
});

Deno.test("builder: import mode keeps the file's verdicts and notes disagreements", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start, result: "Passed" });
  const seq = rb.root.sequence("Seq", { status: "Passed" });
  // The tester says PASS although the rounded value is just outside: keep PASS.
  seq.numeric("Edge", { value: 3.4000001, low: 3.2, high: 3.4, status: "PASS" });
  seq.numeric("NoVerdict", { value: 9, low: 0, high: 1 });
  seq.passFail("Given", { status: "F" });
  const r = valid(rb.build());
  assert.equal(byName(r, "Edge").numericMeas![0].status, "P");
  assert.equal(byName(r, "Edge").status, "P");
  assert.equal(byName(r, "NoVerdict").status, "F"); // computed where the file is silent
  assert.equal(byName(r, "Seq").status, "P"); // the file says Passed
  assert.equal(r.root!.status, "P"); // derived from Seq
  assert.equal(r.result, "P");
  const notes = (r.miscInfos ?? []).filter((m) => m.description === "Status note").map((m) =>
    m.text
  );
  assert.ok(notes.some((t) => /"Edge".*file P, limits F/.test(t!)), notes.join("|"));
  assert.ok(notes.some((t) => /"Seq".*file P, steps F/.test(t!)), notes.join("|"));
});

Deno.test("builder: import mode computes only where the file is silent, result from root", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  const seq = rb.root.sequence("Seq");
  seq.numeric("A", { value: 1, low: 0, high: 2 });
  seq.action("Crashed", { status: "Error" });
  const r = valid(rb.build());
  assert.equal(byName(r, "Seq").status, "E");
  assert.equal(r.root!.status, "E");
  assert.equal(r.result, "E");
  assert.equal(r.miscInfos, undefined);
});

Deno.test("builder: active mode recomputes statuses and ripples failures up", () => {
  const params = parseParams({ partNumber: "P", testModeType: "Active" }, converterParams());
  assert.equal(params.testMode, "active");
  const rb = new ReportBuilder(ctx, params, { sn: "S", start });
  const seq = rb.root.sequence("Seq", { status: "P" });
  seq.numeric("Out", { value: 5, low: 0, high: 1, status: "P" });
  seq.numeric("In", { value: 0.5, low: 0, high: 1, status: "F" });
  seq.action("Err", { status: "E" });
  const r = valid(rb.build());
  assert.equal(byName(r, "Out").status, "F");
  assert.equal(byName(r, "In").status, "P");
  assert.equal(byName(r, "Seq").status, "E"); // F raised to E by the Error action
  assert.equal(r.result, "E");
  assert.equal(r.miscInfos, undefined);
});

Deno.test("builder: active mode still keeps the file's unit result, with a note", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P", testMode: "active" }, {
    sn: "S",
    start,
    result: "PASS",
  });
  rb.root.numeric("Out", { value: 5, low: 0, high: 1 });
  const r = valid(rb.build());
  assert.equal(r.root!.status, "F");
  assert.equal(r.result, "P");
  assert.deepEqual(r.miscInfos, [{ description: "Status note", text: "result: file P, steps F" }]);
});

Deno.test("builder: status notes are capped", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  for (let i = 0; i < 25; i++) rb.root.numeric(`s${i}`, { value: 5, low: 0, high: 1, status: "P" });
  const r = valid(rb.build());
  assert.equal(r.miscInfos!.length, MAX_STATUS_NOTES + 1);
  assert.match(r.miscInfos!.at(-1)!.text!, /15 more/);
});

Deno.test("builder: strings and pass/fail evaluation", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P", testMode: "active" }, { sn: "S", start });
  rb.root.string("eq", { value: "abc", limit: "ABC" });
  rb.root.string("ic", { value: "abc", limit: "ABC", compOp: "IgnoreCase" });
  rb.root.string("log", { value: "abc" });
  rb.root.string("ne", { value: "abc", limit: "x", compOp: "NE" });
  const r = valid(rb.build());
  assert.equal(byName(r, "eq").status, "F");
  assert.equal(byName(r, "ic").status, "P");
  assert.deepEqual(byName(r, "log").stringMeas, [{ compOp: "LOG", status: "P", value: "abc" }]);
  assert.equal(byName(r, "ne").status, "P");
});

Deno.test("builder: times, ids, charts, attachments, misc, sub units, control chars", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, {
    sn: "S\u0001N",
    start: { year: 2024, month: 7, day: 1, hour: 12, minute: 0, second: 5, fraction: "25" },
    unitIndex: 3,
    execTime: 12.5,
    testSocketIndex: 2,
    batchSN: "LOT",
  });
  rb.misc("Firmware", "1.2\u0002").subUnit({ partType: "PCBA", pn: "SUB", sn: "X1", rev: "A" });
  rb.asset("DMM-1", 3);
  rb.root.numeric("Sweep", { value: 0.5 }, {
    chart: { label: "Gain", series: [{ name: "g", x: [1, 2], y: [0.1, NaN] }] },
    start: "2024-07-01T12:00:06",
    totTime: 0.25,
  });
  rb.root.action("Attach", {
    attachment: { name: "a.txt", contentType: "text/plain", data: new Uint8Array([104, 105]) },
  });
  const r = valid(rb.build());
  assert.equal(r.start, "2024-07-01T12:00:05.25+02:00");
  assert.equal(r.sn, "SN");
  assert.equal(r.miscInfos![0].text, "1.2");
  assert.deepEqual(r.subUnits, [{ partType: "PCBA", pn: "SUB", sn: "X1", rev: "A" }]);
  assert.deepEqual(r.assets, [{ assetSN: "DMM-1", usageCount: 3 }]);
  assert.deepEqual(r.uut, {
    user: station.operator,
    execTime: 12.5,
    batchSN: "LOT",
    testSocketIndex: 2,
  });
  const sweep = byName(r, "Sweep");
  assert.equal(sweep.stepType, "WATS_XYGMNLT");
  assert.equal(sweep.start, "2024-07-01T12:00:06+02:00");
  assert.deepEqual(sweep.chart!.series[0], {
    dataType: "XYG",
    name: "g",
    xdata: "1;2",
    ydata: "0.1;0",
  });
  assert.equal(byName(r, "Attach").attachment!.data, "aGk=");
  // Deterministic ids: same input → same id; another unit index → another id.
  const again = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "x", start, unitIndex: 3 })
    .build();
  assert.equal(again.id, r.id);
  const other = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "x", start, unitIndex: 4 })
    .build();
  assert.notEqual(other.id, r.id);
  const kept = new ReportBuilder(ctx, { partNumber: "P" }, {
    sn: "x",
    start,
    id: "{33A2D408-3FC8-480B-B554-6866C77FD91C}",
  }).build();
  assert.equal(kept.id, "33a2d408-3fc8-480b-b554-6866c77fd91c");
  assert.throws(
    () => new ReportBuilder(ctx, { partNumber: "P" }, { sn: "x", start, id: "nope" }).build(),
    ConversionError,
  );
});

Deno.test("builder: bad timestamps, operators and verdict-less pass/fail are ConversionErrors", () => {
  const mk = () => new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start });
  assert.throws(() => {
    const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start: "31.02.2024" });
    rb.build();
  }, ConversionError);
  assert.throws(() => {
    const rb = mk();
    rb.root.numeric("x", { value: 1, compOp: "XX", limit: 1 });
    rb.build();
  }, ConversionError);
  assert.throws(() => {
    const rb = mk();
    rb.root.passFail("x", {});
    rb.build();
  }, ConversionError);
  assert.throws(() => {
    let seq = mk().root;
    for (let i = 0; i < 250; i++) seq = seq.sequence(`s${i}`);
  }, ConversionError);
});

Deno.test("fillStationFields fills only what is missing", () => {
  const r: Record<string, unknown> = { type: "T", machineName: "", location: "X", uut: {} };
  fillStationFields(r, station);
  assert.equal(r.machineName, station.name);
  assert.equal(r.location, "X");
  assert.equal(r.purpose, station.purpose);
  assert.deepEqual(r.uut, { user: station.operator });
  const u: Record<string, unknown> = { type: "R", uur: { user: "rep" } };
  fillStationFields(u, station);
  assert.deepEqual(u.uur, { user: "rep" });
  const noUur: Record<string, unknown> = { type: "R" };
  fillStationFields(noUur, station);
  assert.equal(noUur.uur, undefined);
});

Deno.test("builder: a serial or part number of control characters only counts as absent", () => {
  // Regression (fuzz, takaya seed 3 case 982): "\u0001" passed the empty check, then the report
  // failed the schema with "pn: must not be empty".
  const r = new ReportBuilder(ctx, { partNumber: "PN-PARAM" }, {
    sn: "SN-1",
    pn: "\u0001\u0002 \u001f",
    start,
  }).build();
  assert.equal(r.pn, "PN-PARAM");
  assert.ok(validateReport(r).ok);
  assert.throws(
    () => new ReportBuilder(ctx, {}, { sn: "SN-1", pn: "\u0001", start }).build(),
    (e: Error) => e instanceof ConversionError && /part number/.test(e.message),
  );
  assert.throws(
    () => new ReportBuilder(ctx, { partNumber: "P" }, { sn: " \u0007\u0000 ", start }).build(),
    (e: Error) => e instanceof ConversionError && /serial/.test(e.message),
  );
  // Stripped before trimming: the spaces next to the control character go too.
  const s = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "\u0001 SN-2 ", start }).build();
  assert.equal(s.sn, "SN-2");
});

Deno.test("builder: control characters are stripped from every string as it enters", () => {
  const c = "\u0001";
  const loop = { idx: 1 };
  const extra = { vendor: { note: `v${c}` } };
  const rb = new ReportBuilder(ctx, {
    partNumber: "P",
    location: `Loc${c}`,
    sequenceName: `Seq${c}`,
  }, {
    sn: "S",
    start,
    comment: `com${c}ment`,
    sequence: { version: `1${c}.0` },
    rootName: `Root${c}`,
  });
  rb.misc(`Key${c}`, `val${c}`).subUnit({ pn: `p${c}`, sn: `s${c}`, rev: undefined });
  rb.asset(`A${c}`);
  rb.setExtra({ additionalData: [{ name: `ad${c}`, props: [{ name: `x${c}`, value: `y${c}` }] }] });
  const seq = rb.root.sequence(`Group${c}`, { path: `g${c}.seq`, loop });
  seq.numeric(`R1${c}`, { value: 1, low: 0, high: 2, unit: `Ohm${c}`, valueFormat: `%g${c}` }, {
    reportText: `text${c}`,
    tsGuid: `guid${c}`,
    errorMessage: `err${c}`,
    chart: { label: `L${c}`, series: [{ name: `s${c}`, x: "1;2", y: `3;4${c}` }] },
    extra,
  });
  seq.string(`S1${c}`, { value: `OK${c}`, limit: "OK" }); // compared without the control char
  seq.multiNumeric("M", [{ name: `A${c}`, value: 1 }, { name: "A", value: 2 }], {
    stepType: `ET_NLT${c}`,
  });
  seq.action(`Att${c}`, {
    attachment: { name: `a${c}.txt`, contentType: `text/plain${c}`, data: `aGk=${c}` },
    additionalResults: [{ name: `ar${c}` }],
  });
  const r = rb.build();
  const json = JSON.stringify(r);
  assert.ok(!json.includes("\\u0001"), json);
  assert.equal(r.location, "Loc");
  assert.equal(r.uut!.comment, "comment");
  assert.deepEqual(r.root!.seqCall, { path: "Seq", name: "Seq", version: "1.0" });
  assert.equal(r.root!.name, "Root");
  assert.deepEqual(r.miscInfos, [{ description: "Key", text: "val" }]);
  assert.deepEqual(r.subUnits, [{ pn: "p", sn: "s" }]);
  assert.deepEqual(r.assets, [{ assetSN: "A" }]);
  assert.deepEqual(r.additionalData, [{ name: "ad", props: [{ name: "x", value: "y" }] }]);
  assert.deepEqual(byName(r, "Group").seqCall, { path: "g.seq", name: "Group", version: "1.0" });
  const r1 = byName(r, "R1");
  assert.equal(r1.numericMeas![0].unit, "Ohm");
  assert.equal(r1.numericMeas![0].valueFormat, "%g");
  assert.equal(r1.reportText, "text");
  assert.equal(r1.tsGuid, "guid");
  assert.equal(r1.errorMessage, "err");
  assert.deepEqual(r1.chart, {
    chartType: "Line",
    label: "L",
    series: [{ dataType: "XYG", name: "s", xdata: "1;2", ydata: "3;4" }],
  });
  assert.deepEqual((r1 as unknown as Record<string, unknown>).vendor, { note: "v" });
  assert.equal(byName(r, "S1").stringMeas![0].status, "P");
  // Names that differ only by a control character are duplicates; the step type is relabelled.
  const m = byName(r, "M");
  assert.equal(m.stepType, "ET_MNLT");
  assert.deepEqual(m.numericMeas!.map((x) => x.name), ["A", "A (2)"]);
  assert.deepEqual(byName(r, "Att").attachment, {
    name: "a.txt",
    contentType: "text/plain",
    data: "aGk=",
  });
  assert.deepEqual(byName(r, "Att").additionalResults, [{ name: "ar" }]);
  assert.ok(validateReport(r).ok);
});

Deno.test("builder: output objects hold only defined keys", () => {
  const rb = new ReportBuilder(ctx, { partNumber: "P" }, { sn: "S", start, comment: undefined });
  rb.subUnit({ pn: "p", sn: "s", partType: undefined });
  rb.asset("A", undefined);
  const seq = rb.root.sequence("G", { start: undefined, loop: undefined });
  seq.numeric("N", { value: undefined, low: 1, high: undefined, unit: undefined });
  seq.string("T", { value: "x", limit: undefined });
  seq.multiPassFail("B", [{ passed: true }, { name: "b", passed: false }]);
  seq.action("Do", { chart: { series: [{ name: "s", x: [1], y: [2] }], xUnit: undefined } });
  const r = rb.build();
  const undefinedAt: string[] = [];
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) undefinedAt.push(`${path}.${k}`);
      walk(x, `${path}.${k}`);
    }
  };
  walk(r, "report");
  assert.deepEqual(undefinedAt, []);
  assert.deepEqual(byName(r, "N").numericMeas, [{ compOp: "GE", status: "F", lowLimit: 1 }]);
  assert.deepEqual(Object.keys(byName(r, "N")), [
    "id",
    "group",
    "stepType",
    "name",
    "status",
    "numericMeas",
  ]);
});
