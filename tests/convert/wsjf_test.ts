import assert from "#assert";
import path from "#path";
import { needsSharedFixtures, ownFixture, sharedFixtureFiles } from "../_fixtures.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type WsjfReport } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/wsjf.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { unitReportId } from "../../src/convert/ids.ts";
import { parseNumericCompOp } from "../../src/wsjf/compop.ts";
import { allSteps, type Any, measurementCount, stepNamed } from "./_compare.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput, station } from "./_station.ts";

const own = (name: string) => ownFixture("convert", "wsjf", name);
const convert = (file: string, params: Record<string, unknown> = {}) =>
  converter.convert(fileInput(file, params)) as WsjfReport[];

Deno.test("wsjf: registered under its name", async () => {
  assert.equal(await builtinConverters.wsjf(), converter);
});

Deno.test("wsjf: a valid report passes through unchanged", () => {
  for (const f of ["minimal.json", "full.json", "uur.json"]) {
    const src = JSON.parse(Deno.readTextFileSync(own(f)));
    const [r] = convert(own(f));
    assert.deepEqual(r, src, f);
  }
});

Deno.test("wsjf: quirks of real files are normalised, verdicts kept", () => {
  const [r] = convert(own("quirks.json")) as Any[];
  assert.equal(r.type, "T");
  assert.equal(r.id, "9d4e6f21-8b3a-4f0e-a7c5-2e1b9c6d8f48");
  assert.equal(r.sn, "QUIRK-SN");
  assert.equal(r.processCode, 50);
  assert.equal(r.result, "F");
  for (
    const k of [
      "productName",
      "processName",
      "processCodeFormat",
      "origin",
      "startUTC",
      "assetStats",
    ]
  ) {
    assert.equal(k in r, false, k);
  }
  assert.equal(r.start, "2026-07-01T10:00:00+02:00"); // naive → station zone (Oslo, summer)
  assert.deepEqual(r.uut, { user: station.operator, execTime: 2.5 });
  assert.deepEqual(r.miscInfos, [{ description: "Numeric only", numeric: 7 }]);
  assert.deepEqual(allSteps(r).map((s) => s.id), [1, 2, 3, 4, 5, 6]); // duplicate ids → renumbered
  assert.equal(r.root.group, "M");
  assert.equal(r.root.status, "F");
  assert.equal(r.root.seqCall.version, "");
  const nan = stepNamed(r, "NaN value");
  assert.deepEqual(nan.numericMeas, [{
    compOp: "GELE",
    status: "F",
    lowLimit: 1,
    highLimit: 2,
    unit: "V",
  }]);
  assert.equal(nan.reportText, "value: NaN");
  assert.deepEqual(stepNamed(r, "Infinite high limit").numericMeas, [
    { compOp: "GE", status: "P", value: 5, lowLimit: 1 },
  ]);
  const lt = stepNamed(r, "LT in highLimit");
  assert.deepEqual(lt.numericMeas, [{ compOp: "LT", status: "P", value: 1, lowLimit: 2 }]);
  assert.equal(lt.group, "C");
  const strs = stepNamed(r, "Two strings");
  assert.equal(strs.stepType, "ET_MSVT");
  assert.deepEqual(strs.stringMeas!.map((m) => [m.name, m.compOp]), [["A", "LOG"], [
    "a (2)",
    "IGNORECASE",
  ]]);
  const seq = stepNamed(r, "No seqCall");
  assert.deepEqual(seq.seqCall, { path: "No seqCall", name: "No seqCall", version: "" });
  assert.equal(seq.status, "D");
});

Deno.test("wsjf: nulls go without touching other keys or their order; __proto__ is inert", () => {
  const text = `{"type":"T","id":null,"sn":"S","pn":"P","rev":"A","processCode":10,
    "result":"P","start":"2026-03-02T09:15:00+01:00","__proto__":{"polluted":true},
    "uut":{"user":null,"comment":"c"},"miscInfos":[null,{"description":"d","text":null}],
    "root":{"id":1,"group":"M","stepType":"SequenceCall","name":"Main","status":"P",
    "totTime":null,"steps":[{"id":2,"group":"M","stepType":"Action","name":"a","status":"D",
    "errorMessage":null,"reportText":"t"}]}}`;
  const [r] = converter.convert(convertInput(text, "n.json")) as Any[];
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.equal(r.polluted, undefined);
  assert.equal(({} as Any).polluted, undefined);
  assert.deepEqual(r.uut, { user: station.operator, comment: "c" });
  assert.deepEqual(r.miscInfos, [{ description: "d" }]);
  assert.deepEqual(Object.keys(r.root.steps[0]), [
    "id",
    "group",
    "stepType",
    "name",
    "status",
    "reportText",
  ]);
  assert.equal("totTime" in r.root, false);
});

Deno.test("wsjf: control characters are stripped before the fields are read", () => {
  const r = JSON.parse(Deno.readTextFileSync(own("minimal.json")));
  r.pn = "\u0001\u0002";
  r.result = "P\u0001";
  r.root.id = "1\u0001";
  r.root.steps[0].name = "V\u0000cc";
  const [out] = converter.convert(
    convertInput(JSON.stringify(r), "c.json", { partNumber: "PN-PARAM" }),
  ) as Any[];
  assert.equal(out.pn, "PN-PARAM"); // blank once stripped: the parameter fills it
  assert.equal(out.result, "P");
  assert.equal(out.root.id, 1);
  assert.equal(out.root.steps[0].name, "Vcc");
  assert.throws(
    () => converter.convert(convertInput(JSON.stringify(r), "c.json")),
    (e: Error) => e instanceof ConversionError && /pn: must not be empty/.test(e.message),
  );
});

Deno.test("wsjf: arrays give several reports; missing ids are derived, deterministically", () => {
  const input = fileInput(own("array.json"));
  const rs = converter.convert(input) as WsjfReport[];
  assert.equal(rs.length, 2);
  assert.equal(rs[0].id, "11111111-2222-4333-8444-555555555555");
  assert.equal(rs[1].id, unitReportId(input.sha256, 1));
  assert.equal((converter.convert(input) as WsjfReport[])[1].id, rs[1].id);
  assert.deepEqual([rs[1].machineName, rs[1].location, rs[1].purpose, rs[1].uut?.user], [
    station.name,
    station.location,
    station.purpose,
    station.operator,
  ]);
  assert.deepEqual(rs.map((r) => [r.sn, r.result]), [["ARR-1", "P"], ["ARR-2", "F"]]);
});

Deno.test("wsjf: parameters fill gaps; stationName overrides", () => {
  const src = JSON.parse(Deno.readTextFileSync(own("minimal.json")));
  delete src.pn;
  delete src.rev;
  const [r] = converter.convert(
    convertInput(JSON.stringify(src), "x.json", {
      partNumber: "FROM-PARAM",
      partRevision: "Z",
      stationName: "OVERRIDE",
    }),
  ) as WsjfReport[];
  assert.deepEqual([r.pn, r.rev, r.machineName], ["FROM-PARAM", "Z", "OVERRIDE"]);
  assert.throws(
    () => converter.convert(convertInput(JSON.stringify(src), "x.json")),
    (e: Error) => e instanceof ConversionError && /pn: required/.test(e.message),
  );
  assert.throws(
    () => converter.convert(convertInput("{}", "x.json", { bogus: 1 })),
    (e: Error) => e instanceof ConversionError && /unknown parameter "bogus"/.test(e.message),
  );
});

Deno.test("wsjf: bad files are ConversionErrors that say what and where", () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => converter.convert(convertInput(text, "bad.json")), (e: Error) => {
      if (!(e instanceof ConversionError)) throw e;
      assert.match(e.message, re);
      assert.ok(e.hint.length > 0);
      return true;
    });
  const min = Deno.readTextFileSync(own("minimal.json"));
  bad(min.slice(0, 300), /bad\.json is not valid JSON \(line \d+, column \d+\)/);
  bad("42", /not a JSON object \(found number\)/);
  bad("[]", /empty array/);
  bad(
    min.replace("5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31", "not-a-guid"),
    /id "not-a-guid" is not a GUID/,
  );
  bad(min.replace('"GELE"', '"XX"'), /root\.steps\[0\]\.numericMeas\[0\]\.compOp: expected one of/);
  bad(min.replace('"T"', '"U"'), /type: expected one of T, R, found "U"/);
});

Deno.test("wsjf: detect", () => {
  const head = (f: string) => Deno.readFileSync(f).subarray(0, 8192);
  assert.equal(converter.detect!({ head: head(own("full.json")), name: "full.json" }), 0.95);
  assert.equal(converter.detect!({ head: head(own("uur.json")), name: "x" }), 0.95);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(converter.detect!({ head: enc('{"name": "package"}'), name: "package.json" }), 0.2);
  assert.equal(converter.detect!({ head: enc("<Reports/>"), name: "a.json" }), 0);
});

const SHARED = ["wats/wsjf", "wats/roundtrip", "stations/wats-wsjf"];

Deno.test(
  "wsjf: every real WSJF sample converts, checked field by field",
  needsSharedFixtures,
  () => {
    const files = SHARED.flatMap((d) => sharedFixtureFiles(d)).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 10, `found ${files.length}`);
    for (const f of files) {
      const name = path.basename(f);
      const src = JSON.parse(Deno.readTextFileSync(f));
      const rs = convert(f);
      assert.equal(rs.length, 1, name);
      const r = rs[0] as Any;
      assert.equal(r.id, src.id.toLowerCase(), name);
      assert.equal(r.type, src.type, name);
      assert.equal(r.sn, src.sn, name);
      assert.equal(r.pn, src.pn, name);
      assert.equal(r.result, src.result, name);
      assert.equal(r.processCode, src.processCode, name);
      assert.equal(r.start, src.start, name);
      assert.equal("startUTC" in r, false, name);
      assert.equal(allSteps(r).length, allSteps(src).length, name);
      assert.equal(measurementCount(r), measurementCount(src), name);
      assert.equal(r.subUnits?.length ?? 0, src.subUnits?.length ?? 0, name);
      // Value by value: every numeric measurement, in order.
      const srcMeas = allSteps(src).flatMap((s: Any) => s.numericMeas ?? []);
      const outMeas = allSteps(r).flatMap((s: Any) => s.numericMeas ?? []);
      srcMeas.forEach((m: Any, i: number) => {
        const o = outMeas[i];
        assert.equal(o.value, m.value ?? undefined, `${name} numeric ${i}`);
        assert.equal(o.lowLimit, m.lowLimit ?? undefined, `${name} numeric ${i}`);
        assert.equal(o.highLimit, m.highLimit ?? undefined, `${name} numeric ${i}`);
        assert.equal(o.compOp, parseNumericCompOp(m.compOp), `${name} numeric ${i}`);
        assert.equal(o.status, m.status, `${name} numeric ${i}`);
        assert.equal(o.unit, m.unit ?? undefined, `${name} numeric ${i}`);
      });
      // Step statuses and names, in order.
      assert.deepEqual(
        allSteps(r).map((s) => [s.name, s.status]),
        allSteps(src).map((s: Any) => [s.name, s.status]),
        name,
      );
      if (src.type === "R") {
        assert.equal(r.uur.refUUT, src.uur.refUUT, name);
        assert.equal(r.uur.processCode, src.uur.processCode, name);
        assert.deepEqual(
          r.subUnits[0].failures.map((x: Any) => [x.category, x.code, x.comRef]),
          src.subUnits[0].failures.map((x: Any) => [x.category, x.code, x.comRef]),
          name,
        );
      }
    }
  },
);

Deno.test(
  "wsjf: the FAT export keeps the file's step ids and failure pointer",
  needsSharedFixtures,
  () => {
    const f = sharedFixtureFiles("wats/wsjf").find((x) => x.endsWith("uut-wsjf-export.json"))!;
    const [r] = convert(f) as Any[];
    assert.equal(r.uut.stepIdCausedUUTFailure, 5);
    assert.equal(stepNamed(r, "SingleEQFail").id, 5);
    assert.equal(stepNamed(r, "SingleEQFail").numericMeas![0].lowLimit, 501);
    assert.equal(stepNamed(r, "SingleEQFail").numericMeas![0].value, 500);
    // The Virinco "bare minimum" file numbers from 0 and labels a two-measurement step ET_SVT.
    const bare = sharedFixtureFiles("stations/wats-wsjf")[0];
    const [b] = convert(bare) as Any[];
    assert.equal(b.root.id, 0);
    assert.equal(stepNamed(b, "Multiple tests").stepType, "ET_MPFT");
    assert.equal(allSteps(b).filter((s) => s.stepType === "ET_MSVT").length, 1);
  },
);

Deno.test("wsjf: fuzz", async () => {
  const seeds = ["minimal.json", "full.json", "quirks.json", "array.json", "uur.json"].map((f) =>
    Deno.readFileSync(own(f))
  );
  const stats = await fuzzConverter(converter, seeds, { name: "fuzz.json", cases: 300 });
  assertFuzzStats(stats);
});
