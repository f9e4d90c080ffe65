import assert from "#assert";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type WsjfReport } from "../../src/convert/contract.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { converter as wsjf } from "../../src/convert/converters/wsjf.ts";
import { converter, wsxfToRaw } from "../../src/convert/converters/wsxf.ts";
import { MAX_DOUBLE } from "../../src/wsjf/compop.ts";
import { parseXml } from "../../src/convert/xml.ts";
import { allSteps, type Any, measurementCount, stepNamed } from "./_compare.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput } from "./_station.ts";

const own = (name: string) => ownFixture("convert", "wsxf", name);
const convert = (file: string, params: Record<string, unknown> = {}) =>
  converter.convert(fileInput(file, params)) as Any[];

Deno.test("wsxf: registered under its name", async () => {
  assert.equal(await builtinConverters.wsxf(), converter);
});

Deno.test("wsxf: two Latin-1 reports map field by field", () => {
  const rs = convert(own("two-reports.xml"));
  assert.equal(rs.length, 2);
  const [r, r2] = rs;
  assert.deepEqual(
    [r.id, r.type, r.sn, r.pn, r.rev, r.processCode, r.result, r.machineName, r.start],
    [
      "0f0e0d0c-0b0a-4009-8807-060504030201",
      "T",
      "WSXF-SN-1",
      "WSXF-PN",
      "C",
      50,
      "F",
      "XML-ST",
      "2025-11-03T07:45:12.5+01:00",
    ],
  );
  assert.equal("origin" in r, false);
  assert.deepEqual(r.uut, {
    user: "Jörg",
    comment: "Synthetic & small",
    execTime: 12.25,
    fixtureId: "FX",
    batchSN: "B-1",
    testSocketIndex: 1,
    stepIdCausedUUTFailure: 4,
  });
  assert.deepEqual(r.miscInfos, [
    { description: "Temperature", numeric: 23 },
    { description: "Oven", text: "Öfen 3" },
  ]);
  assert.deepEqual(r.subUnits, [{
    partType: "Radio",
    pn: "RAD-1",
    sn: "RAD-SN",
    rev: "A",
    position: 0,
  }]);
  assert.deepEqual(r.root.seqCall, {
    path: "C:\\seq\\prog.seq",
    name: "MainSequence Callback",
    version: "3.1",
  });
  assert.deepEqual(allSteps(r).map((s) => s.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const sp = stepNamed(r, "Spänning");
  assert.deepEqual(
    [sp.group, sp.start, sp.totTime, sp.numericMeas],
    ["S", "2025-11-03T07:45:13+01:00", 0.5, [{
      compOp: "GELE",
      status: "P",
      value: 3.3,
      unit: "V",
      lowLimit: 3.2,
      highLimit: 3.4,
    }]],
  );
  assert.deepEqual(stepNamed(r, "Loop sum").loop, { num: 2, passed: 1, failed: 1, endingIndex: 2 });
  const rails = stepNamed(r, "Rails");
  assert.deepEqual(rails.loop, { idx: 1 });
  assert.deepEqual([rails.errorCode, rails.errorMessage, rails.causedUUTFailure], [
    7,
    "rail low",
    true,
  ]);
  assert.deepEqual(rails.numericMeas, [
    { name: "5V", compOp: "GE", status: "F", value: 4.5, unit: "V", lowLimit: 4.9 },
    { name: "3V3", compOp: "LT", status: "P", value: 3.3, unit: "V", lowLimit: 3.6 },
    { name: "Inf", compOp: "LOG", status: "P", value: MAX_DOUBLE, unit: "V" },
  ]);
  assert.equal(rails.reportText, "Inf: Infinity");
  assert.deepEqual(stepNamed(r, "Keys").booleanMeas, [{ name: "K1", status: "P" }, {
    name: "K2",
    status: "S",
  }]);
  const fw = stepNamed(r, "FW");
  assert.equal(fw.reportText, "line one\nline two");
  assert.deepEqual(fw.stringMeas, [{
    compOp: "IGNORECASE",
    status: "P",
    value: "abc",
    limit: "ABC",
  }]);
  assert.deepEqual(stepNamed(r, "Curve").chart, {
    chartType: "Line",
    label: "Curve",
    xLabel: "t",
    xUnit: "s",
    yLabel: "v",
    yUnit: "V",
    series: [{ dataType: "XYG", name: "v", xdata: "0;1;2", ydata: "1;2;4" }],
  });
  assert.deepEqual(stepNamed(r, "Attach").attachment, {
    name: "log.txt",
    contentType: "text/plain",
    data: "aGVsbG8=",
  });
  assert.deepEqual(stepNamed(r, "Run tool").callExe, { exitCode: 0 });
  assert.deepEqual(stepNamed(r, "Ask").messagePopup, { button: 1, response: "OK" });
  assert.deepEqual([r2.sn, r2.result, r2.uut.user, allSteps(r2).length], [
    "WSXF-SN-2",
    "P",
    "op2",
    2,
  ]);
});

Deno.test("wsxf: a repair (UUR) report", () => {
  const [r] = convert(own("uur.xml"));
  assert.deepEqual([r.type, r.processCode, r.result, r.sn], ["R", 500, "P", "WSXF-SN-1"]);
  assert.equal(r.root, undefined);
  assert.deepEqual(r.uur, {
    user: "tech",
    comment: "Reflowed U7",
    processCode: 50,
    refUUT: "0F0E0D0C-0B0A-4009-8807-060504030201",
    confirmDate: "2025-11-04T09:10:00+00:00",
    finalizeDate: "2025-11-04T09:20:00+00:00",
    execTime: 600,
  });
  assert.deepEqual(r.subUnits[0].failures, [{
    category: "Solder",
    code: "Cold joint",
    comment: "Pin 3",
    comRef: "U7",
    refStepId: 4,
    refStepName: "Rails",
  }]);
});

Deno.test("wsxf: WRML flat steps are rebuilt into a tree; base64 charts and attachments decoded", () => {
  const [r] = convert(own("wrml.xml"));
  assert.deepEqual([r.id, r.sn, r.pn, r.result, r.processCode, r.start], [
    "abcdef01-2345-4678-89ab-cdef01234567",
    "WRML-SN",
    "WRML-PN",
    "P",
    10,
    "2024-12-24T23:59:59+01:00",
  ]);
  assert.deepEqual(
    allSteps(r).map((s) => [s.id, s.name]),
    [[1, "MainSequence Callback"], [2, "Group"], [3, "Volt"], [4, "Multi"], [5, "Graph"], [
      6,
      "Attach",
    ]],
  );
  assert.deepEqual(r.root.seqCall, {
    path: "D:\\old.seq",
    name: "MainSequence Callback",
    version: "1.0",
  });
  assert.deepEqual(stepNamed(r, "Volt").numericMeas, [
    { compOp: "GELE", status: "P", value: 12.01, unit: "V", lowLimit: 11.5, highLimit: 12.5 },
  ]);
  assert.deepEqual(stepNamed(r, "Multi").stringMeas!.map((m) => m.name), ["a", "b"]);
  assert.deepEqual(stepNamed(r, "Graph").chart, {
    chartType: "Line",
    label: "Doubling",
    xLabel: "x",
    yLabel: "y",
    series: [{ dataType: "XYG", name: "pow2", xdata: "0;1;2", ydata: "1;2;4" }],
  });
  assert.deepEqual(stepNamed(r, "Attach").attachment, {
    name: "note.txt",
    contentType: "text/plain",
    data: "aGVsbG8gd3JtbA==",
  });
  assert.deepEqual(r.miscInfos, [{ description: "Build", text: "42" }]);
  assert.deepEqual(r.subUnits, [{ partType: "PSU", pn: "PSU-1", sn: "PSU-SN", rev: "2", idx: 0 }]);
});

Deno.test("wsxf: wrong or broken XML is a ConversionError with a reason", () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => converter.convert(convertInput(text, "bad.xml")), (e: Error) => {
      if (!(e instanceof ConversionError)) throw e;
      assert.match(e.message, re);
      return true;
    });
  const wrml = Deno.readTextFileSync(own("wrml.xml"));
  bad("<TestResults xmlns='urn:x'/>", /not WATS XML: root <TestResults> in namespace "urn:x"/);
  bad(wrml.slice(0, 900), /not well-formed XML in bad\.xml/);
  bad(
    wrml.replace(
      'ParentStepID="2" Group="Main" Name="Volt"',
      'ParentStepID="99" Group="Main" Name="Volt"',
    ),
    /unknown ParentStepID "99"/,
  );
  bad(
    wrml.replace('<NumericLimit StepID="3"', '<NumericLimit StepID="77"'),
    /refers to StepID "77"/,
  );
  bad(
    wrml.replace(
      'ParentStepID="1" Group="Main" Name="Group"',
      'ParentStepID="3" Group="Main" Name="Group"',
    ),
    /do not form a tree/,
  );
  bad(
    `<!DOCTYPE r [<!ENTITY a "b">]><Reports xmlns="${"http://wats.virinco.com/schemas/WATS/Report/wsxf"}"/>`,
    /entit/,
  );
  bad(`<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf"/>`, /holds no <Report>/);
});

Deno.test("wsxf: detect", () => {
  const head = (f: string) => Deno.readFileSync(f).subarray(0, 8192);
  for (const f of ["two-reports.xml", "uur.xml", "wrml.xml"]) {
    assert.equal(converter.detect!({ head: head(own(f)), name: f }), 0.95, f);
  }
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(converter.detect!({ head: enc('<Reports xmlns="urn:other"/>'), name: "a.xml" }), 0);
  assert.equal(converter.detect!({ head: enc('{"type":"T"}'), name: "a.xml" }), 0);
});

Deno.test("wsxf: the WSXF export equals its WSJF twin", needsSharedFixtures, () => {
  const [x] = converter.convert(
    fileInput(sharedFixture("wats", "wsxf", "uut-wsxf-export.xml")!),
  ) as Any[];
  const [j] = wsjf.convert(
    fileInput(sharedFixture("wats", "wsjf", "uut-wsjf-export.json")!),
  ) as Any[];
  delete j.assets; // [] in the JSON export, absent in the XML
  delete j.additionalData;
  assert.deepEqual(x, j);
  assert.equal(allSteps(x).length, 186);
});

Deno.test("wsxf: the station WSXF sample, value by value", needsSharedFixtures, () => {
  const file = sharedFixture("stations", "wats-wsxf", "uut-wsxf.xml")!;
  const rs = convert(file);
  assert.equal(rs.length, 1);
  const r = rs[0];
  assert.deepEqual([r.sn, r.pn, r.rev, r.result, r.processCode], [
    "FATTest-422",
    "FATPartNo",
    "Rev1",
    "F",
    10,
  ]);
  const doc = parseXml(Deno.readTextFileSync(file));
  const steps = doc.children[0].children.filter((c) => c.local === "Step");
  const count = (name: string) => {
    let n = 0;
    const stack = [...steps];
    while (stack.length) {
      const e = stack.pop()!;
      if (e.local === name) n++;
      stack.push(...e.children);
    }
    return n;
  };
  assert.equal(allSteps(r).length, count("Step"));
  assert.equal(
    measurementCount(r),
    count("NumericLimit") + count("PassFail") + count("StringValue"),
  );
  const srcValues: number[] = [];
  const stack = [...steps].reverse();
  while (stack.length) {
    const e = stack.pop()!;
    if (e.local === "NumericLimit") srcValues.push(Number(e.attrs.NumericValue));
    for (let i = e.children.length - 1; i >= 0; i--) stack.push(e.children[i]);
  }
  assert.deepEqual(
    allSteps(r).flatMap((s: Any) => (s.numericMeas ?? []).map((m: Any) => m.value)),
    srcValues,
  );
  // This file's attachments have no content: kept as a note, not as an empty attachment.
  assert.match(stepNamed(r, "Attach file").reportText!, /attachment "winhlp32\.exe" had no data/);
  assert.equal(stepNamed(r, "Attach file").attachment, undefined);
});

Deno.test(
  "wsxf: the station WRML sample maps; its 1900 start date is refused",
  needsSharedFixtures,
  () => {
    const file = sharedFixture("stations", "wats-wrml", "uut-wrml.xml")!;
    assert.throws(() => convert(file), (e: Error) =>
      e instanceof ConversionError &&
      /start: must be 1970-01-01 or later, found "1900-01-01T01:00:00\+01:00"/.test(e.message));
    const [raw] = wsxfToRaw(fileInput(file));
    assert.deepEqual([raw.sn, raw.pn, raw.result], ["FATTest-292", "FATPartNo", "Terminated"]);
    assert.equal(allSteps(raw).length, 53);
    assert.equal(measurementCount(raw), 67 + 6 + 9);
    // The same Fibonacci chart as the WSXF sample, decoded from base64 doubles.
    const fib = stepNamed(raw, "Fibionacci") as Any;
    assert.equal(fib.chart.series[0].ydata, "0;1;1;2;3;5;8;13;21;34;55;89;144");
    assert.equal(fib.chart.series[0].xdata, "0;1;2;3;4;5;6;7;8;9;10;11;12");
    // With a real start date the same file converts.
    const fixed = Deno.readTextFileSync(file).replace(
      'Start="1900-01-01T01:00:00+01:00"',
      'Start="2017-06-07T09:24:20+02:00"',
    );
    const [r] = converter.convert(convertInput(fixed, "uut-wrml.xml")) as WsjfReport[];
    assert.deepEqual([r.sn, r.result, allSteps(r).length], ["FATTest-292", "T", 53]);
    assert.equal(stepNamed(r, "Attach Byte array").attachment?.contentType, "image/png");
  },
);

Deno.test("wsxf: fuzz", async () => {
  const seeds = ["two-reports.xml", "uur.xml", "wrml.xml"].map((f) => Deno.readFileSync(own(f)));
  const stats = await fuzzConverter(converter, seeds, { name: "fuzz.xml", cases: 300 });
  assertFuzzStats(stats);
});
