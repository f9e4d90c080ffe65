/**
 * Unit tests of the TestStand step tree shared by the `teststand-xml` and `atml` converters:
 * comparison mapping, thresholds, step types, step clocks across a DST change, and the mapping
 * of a small hand-written step list through the shared builder.
 */
import assert from "#assert";
import {
  buildUnit,
  genericStepType,
  numericComparison,
  stringComparison,
  type TsUnit,
} from "../../src/convert/converters/teststand/step_tree.ts";
import { StepClock } from "../../src/convert/converters/teststand/step_clock.ts";
import { converterParams, parseParams } from "../../src/convert/params.ts";
import { convertInput } from "./_station.ts";
import { allSteps } from "./_convert.ts";

Deno.test("step tree: TestStand numeric comparisons → WSJF operators and semantic limits", () => {
  assert.deepEqual(numericComparison({ comp: "GELE", low: 1, high: 2 }), {
    compOp: "GELE",
    low: 1,
    high: 2,
  });
  // Single-limit comparisons: TestStand keeps the limit in Limits.Low.
  assert.deepEqual(numericComparison({ comp: "lt", low: 5 }), { compOp: "LT", limit: 5 });
  assert.deepEqual(numericComparison({ comp: "LOG", low: 1 }), { compOp: "LOG" });
  assert.deepEqual(numericComparison({ low: 1 }), { compOp: "", low: 1, high: undefined });
  const unknown = numericComparison({ name: "m", comp: "APPROX", low: 1 });
  assert.equal(unknown.compOp, "LOG");
  assert.match(unknown.note ?? "", /"APPROX"/);
  // Equal with threshold.
  const pct = numericComparison({
    comp: "EQT",
    threshold: { type: "percentage", nominal: -200, low: 10, high: 5 },
  });
  assert.deepEqual([pct.compOp, pct.low, pct.high], ["GELE", -220, -190]);
  const ppm = numericComparison({
    comp: "EQT",
    threshold: { type: "PPM", nominal: 1e6, low: 2, high: 3 },
  });
  assert.deepEqual([ppm.low, ppm.high], [999998, 1000003]);
  const delta = numericComparison({ threshold: { type: "delta", nominal: 5, low: 0.5 } });
  assert.deepEqual([delta.compOp, delta.low, delta.high], ["GELE", 4.5, undefined]);
  // No threshold type: the limits as written, or the nominal alone.
  assert.deepEqual(numericComparison({ comp: "EQT", low: 9, high: 11 }).low, 9);
  assert.deepEqual(numericComparison({ comp: "EQT", threshold: { type: "", nominal: 3 } }), {
    compOp: "EQ",
    limit: 3,
  });
});

Deno.test("step tree: string comparisons", () => {
  for (const c of ["CaseSensitive", "Case Sensitive", "EQ", "Equal", "CASESENSIT"]) {
    assert.equal(stringComparison(c), "CASESENSIT", c);
  }
  for (const c of ["IgnoreCase", "CIEQ", "case insensitive"]) {
    assert.equal(stringComparison(c), "IGNORECASE", c);
  }
  assert.equal(stringComparison("NE"), "NE");
  assert.equal(stringComparison("No Comparison"), "LOG");
  assert.equal(stringComparison(undefined), "");
  assert.equal(stringComparison("Regex"), undefined);
});

Deno.test("step tree: generic step types", () => {
  assert.equal(genericStepType("Statement"), "Statement");
  assert.equal(genericStepType("NI_Flow_While"), "NI_Flow_While");
  assert.equal(genericStepType("NumericLimitTest"), "ET_NLT"); // skipped, no measurement
  assert.equal(genericStepType("NI_MultipleNumericLimitTest"), "ET_MNLT");
  assert.equal(genericStepType("MyCompany_FlashStep"), "Action");
  assert.equal(genericStepType(undefined), "Action");
});

Deno.test("step tree: step clock uses one offset, and looks up each step across a DST change", () => {
  // A test on a normal day: every step gets the start's offset.
  const start = Date.UTC(2026, 2, 5, 9, 0, 0);
  const plain = new StepClock("Europe/Oslo", start, start + 60_000);
  assert.equal(plain.instant(start + 1500), "2026-03-05T10:00:01.500+01:00");
  assert.equal(plain.local("2026-03-05T10:00:02.25"), "2026-03-05T10:00:02.25+01:00");
  assert.equal(plain.local("2026-03-05T10:00:02+05:00"), "2026-03-05T10:00:02+05:00");
  assert.equal(plain.local("2026-02-30T10:00:00"), undefined); // not a date
  assert.equal(plain.local("garbage"), undefined);
  assert.equal(plain.instant(NaN), undefined);
  // Oslo springs forward at 2026-03-29 01:00 UTC (02:00 → 03:00 local).
  const before = Date.UTC(2026, 2, 29, 0, 59, 0);
  const dst = new StepClock("Europe/Oslo", before, before + 120_000);
  assert.equal(dst.instant(before + 30_000), "2026-03-29T01:59:30.000+01:00");
  assert.equal(dst.instant(before + 90_000), "2026-03-29T03:00:30.000+02:00");
  assert.equal(dst.local("2026-03-29T03:00:30"), "2026-03-29T03:00:30+02:00");
});

Deno.test("step tree: a hand-written unit through the shared builder", () => {
  const unit: TsUnit = {
    header: { sn: "SN-1", pn: "PN-1", start: "2026-03-05T10:00:00+01:00", result: "Failed" },
    misc: [{ description: "Firmware", text: "1.2" }],
    subUnits: [],
    steps: [
      {
        name: "Outer",
        status: "Failed",
        sequence: {
          name: "Outer",
          path: "a.seq",
          steps: [
            {
              name: "Mixed",
              status: "Failed",
              numeric: [{ value: 3, comp: "GELE", low: 1, high: 2 }],
              strings: [{ value: "x" }],
              causedUUTFailure: true,
            },
            { name: "Flag", stepType: "PassFailTest", passFail: [{}] }, // no verdict at all
            {
              name: "Skipped",
              status: "Skipped",
              stepType: "ET_MPFT",
              passFail: [{ passed: true }],
            },
          ],
        },
        causedUUTFailure: true,
      },
    ],
  };
  const input = convertInput("x", "x.xml");
  const r = buildUnit(input, parseParams({}, converterParams()), unit);
  const [outer, mixed, flag, skipped] = allSteps(r);
  assert.equal(outer.status, "F");
  assert.equal(mixed.numericMeas?.[0].status, "F"); // the single step's verdict
  assert.match(mixed.reportText ?? "", /1 string measurement\(s\) not reported/);
  assert.equal(flag.stepType, "ET_PFT"); // a pass/fail without verdict is no measurement
  assert.equal(flag.booleanMeas, undefined);
  assert.equal(skipped.stepType, "ET_MPFT");
  assert.equal(skipped.booleanMeas, undefined);
  // The deepest step on the failure stack.
  assert.equal(r.uut?.stepIdCausedUUTFailure, mixed.id);
  assert.deepEqual(r.miscInfos, [{ description: "Firmware", text: "1.2" }]);
});
