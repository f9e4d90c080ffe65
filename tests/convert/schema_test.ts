import assert from "#assert";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import {
  evaluateNumeric,
  evaluateString,
  type NumericCompOp,
  parseNumericCompOp,
  parseStringCompOp,
  resolveNumericLimits,
} from "../../src/wsjf/compop.ts";
import { assertValidReport, validateReport } from "../../src/wsjf/validate.ts";
import { type Step } from "../../src/wsjf/report.ts";
import { walkSteps } from "../../src/wsjf/rules.ts";
import {
  parseStepStatus,
  toMeasStatus,
  toReportResult,
  worse,
} from "../../src/wsjf/status_codes.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function load(name: string): Any {
  return JSON.parse(Deno.readTextFileSync(ownFixture("convert", "wsjf", name)));
}

function problems(r: unknown): string[] {
  const v = validateReport(r);
  return v.ok ? [] : v.problems;
}

function expectProblem(r: unknown, re: RegExp): void {
  const p = problems(r);
  assert.ok(p.some((x) => re.test(x)), `expected a problem like ${re}, got:\n${p.join("\n")}`);
}

Deno.test("schema: the minimal and the full synthetic reports are valid", () => {
  for (const f of ["minimal.json", "full.json", "uur.json"]) {
    const v = validateReport(load(f));
    assert.ok(v.ok, `${f}: ${v.ok ? "" : v.problems.join("; ")}`);
  }
});

Deno.test("schema: problems name the JSON path, what was expected and what was found", () => {
  const r = load("full.json");
  r.root.steps[0].steps[0].numericMeas[0].compOp = "XX";
  const p = problems(r);
  assert.deepEqual(p, [
    "root.steps[0].steps[0].numericMeas[0].compOp: expected one of LOG, EQ, NE, GT, GE, LT, LE, " +
    'GTLT, GELE, GELT, GTLE, LTGT, LEGE, LEGT, LTGE, found "XX"',
  ]);
  const m = load("minimal.json");
  delete m.sn;
  m.result = "D";
  m.root.steps[0].status = "Q";
  m.root.steps[0].numericMeas[0].value = NaN;
  m.processCode = 1.5;
  const q = problems(m);
  assert.ok(q.includes("sn: required (string), found nothing"), q.join("\n"));
  assert.ok(q.includes('result: expected one of P, F, E, T, found "D"'), q.join("\n"));
  assert.ok(
    q.includes('root.steps[0].status: expected one of P, F, D, S, E, T, U, found "Q"'),
    q.join("\n"),
  );
  assert.ok(
    q.includes("root.steps[0].numericMeas[0].value: expected number, found NaN"),
    q.join("\n"),
  );
  assert.ok(q.some((x) => x.startsWith("processCode: expected int")), q.join("\n"));
});

Deno.test("schema: header rules (id, start, empty identity fields, T/R blocks)", () => {
  const base = () => load("minimal.json");
  expectProblem({ ...base(), id: "123" }, /^id: expected a GUID/);
  expectProblem(
    { ...base(), start: "2026-03-02T09:15:00" },
    /^start: expected an ISO 8601 date-time with a UTC offset/,
  );
  expectProblem(
    { ...base(), start: "1900-01-01T01:00:00+01:00" },
    /^start: must be 1970-01-01 or later/,
  );
  expectProblem({ ...base(), start: "2026-02-30T09:15:00+01:00" }, /^start: expected an ISO/);
  expectProblem({ ...base(), pn: "  " }, /^pn: must not be empty/);
  expectProblem({ ...base(), machineName: "" }, /^machineName: must not be empty/);
  const noRoot = base();
  delete noRoot.root;
  expectProblem(noRoot, /^root: a test report \(type T\) needs a root step/);
  const noUut = base();
  delete noUut.uut;
  expectProblem(noUut, /^uut: a test report/);
  expectProblem({ ...load("uur.json"), uur: undefined }, /^uur: a repair report \(type R\) needs/);
  expectProblem(
    { ...base(), binaryData: [{ name: "x" }] },
    /^binaryData: report attachments are only valid/,
  );
  const notSeq = base();
  notSeq.root.stepType = "Action";
  expectProblem(notSeq, /^root\.stepType: the root must be a sequence call/);
  const noSeqCall = base();
  delete noSeqCall.root.seqCall;
  expectProblem(noSeqCall, /^root\.seqCall: the root needs \{path, name, version\}/);
});

Deno.test("schema: step rules (unique ids, measurement kinds, single vs multi names)", () => {
  const r = load("full.json");
  r.root.steps[2].id = 3;
  expectProblem(r, /^root\.steps\[2\]\.id: 3 is already the id of root\.steps\[0\]\.steps\[0\]/);
  const two = load("full.json");
  two.root.steps[1].booleanMeas.push({ status: "P" }); // ET_PFT with two
  expectProblem(
    two,
    /root\.steps\[1\]\.booleanMeas: step type ET_PFT holds one measurement, found 2/,
  );
  const named = load("full.json");
  named.root.steps[1].booleanMeas[0].name = "x";
  expectProblem(named, /root\.steps\[1\]\.booleanMeas\[0\]\.name: the measurement of a single/);
  const dup = load("full.json");
  dup.root.steps[2].booleanMeas[1].name = "ram";
  expectProblem(dup, /booleanMeas\[1\]\.name: "ram" is also the name of booleanMeas\[0\]/);
  const unnamed = load("full.json");
  delete unnamed.root.steps[2].booleanMeas[1].name;
  expectProblem(unnamed, /booleanMeas\[1\]\.name: each of several measurements needs a name/);
  const mixed = load("full.json");
  mixed.root.steps[1].stringMeas = [{ compOp: "LOG", status: "P", value: "x" }];
  expectProblem(mixed, /root\.steps\[1\]: a step carries one kind of measurement/);
});

Deno.test("schema: normalises compOp, chart type and id case; keeps unknown fields", () => {
  const r = load("full.json");
  r.id = r.id.toUpperCase();
  r.root.steps[0].steps[0].numericMeas[0].compOp = "gele";
  r.root.steps[3].stringMeas[0].compOp = "IgnoreCase";
  r.root.steps[4].chart.chartType = "line";
  r.serverField = { kept: true };
  r.root.steps[0].vendorField = 1;
  const v = validateReport(r);
  if (!v.ok) throw new Error(v.problems.join("; "));
  const out = v.report as Any;
  assert.equal(out.id, "9d4e6f21-8b3a-4f0e-a7c5-2e1b9c6d8f47");
  assert.equal(out.root.steps[0].steps[0].numericMeas[0].compOp, "GELE");
  assert.equal(out.root.steps[3].stringMeas[0].compOp, "IGNORECASE");
  assert.equal(out.root.steps[4].chart.chartType, "Line");
  assert.deepEqual(out.serverField, { kept: true });
  assert.equal(out.root.steps[0].vendorField, 1);
});

Deno.test("schema: warnings for search-unsafe serials, long fields, no operator, future start", () => {
  const r = load("minimal.json");
  r.sn = "A/B*";
  r.pn = "P".repeat(120);
  delete r.uut.user;
  r.start = "2999-01-01T00:00:00+00:00";
  const v = validateReport(r);
  assert.ok(v.ok);
  assert.equal(v.warnings.length, 4, v.warnings.join("\n"));
  assert.throws(
    () => assertValidReport({ type: "X" }, "report 1 of 1"),
    (e: Error) =>
      e instanceof ConversionError &&
      /^report 1 of 1 is not a valid WATS report: type:/.test(e.message),
  );
});

Deno.test("compop: each operator in pass and fail form (the docs/wsjf.md table, LT/LE use lowLimit)", () => {
  const cases: Array<[NumericCompOp, number, number | undefined, number | undefined, string]> = [
    ["LOG", 1, undefined, undefined, "P"],
    ["EQ", 5, 5, undefined, "P"],
    ["EQ", 5, 6, undefined, "F"],
    ["NE", 5, 6, undefined, "P"],
    ["NE", 5, 5, undefined, "F"],
    ["GT", 5, 4, undefined, "P"],
    ["GT", 5, 5, undefined, "F"],
    ["GE", 5, 5, undefined, "P"],
    ["GE", 4, 5, undefined, "F"],
    ["LT", 4, 5, undefined, "P"],
    ["LT", 5, 5, undefined, "F"],
    ["LE", 5, 5, undefined, "P"],
    ["LE", 6, 5, undefined, "F"],
    ["GTLT", 5, 4, 6, "P"],
    ["GTLT", 6, 4, 6, "F"],
    ["GELE", 4, 4, 6, "P"],
    ["GELE", 6.0001, 4, 6, "F"],
    ["GELT", 4, 4, 6, "P"],
    ["GELT", 6, 4, 6, "F"],
    ["GTLE", 6, 4, 6, "P"],
    ["GTLE", 4, 4, 6, "F"],
    ["LTGT", 3, 4, 6, "P"],
    ["LTGT", 4, 4, 6, "F"],
    ["LEGE", 4, 4, 6, "P"],
    ["LEGE", 5, 4, 6, "F"],
    ["LEGT", 4, 4, 6, "P"],
    ["LEGT", 6, 4, 6, "F"],
    ["LTGE", 6, 4, 6, "P"],
    ["LTGE", 4, 4, 6, "F"],
  ];
  for (const [op, v, l, h, want] of cases) {
    assert.equal(evaluateNumeric(op, v, l, h), want, `${op} v=${v} L=${l} H=${h}`);
  }
  assert.equal(evaluateNumeric("GELE", 1, 0, undefined), undefined);
  assert.equal(evaluateNumeric("GE", undefined, 0, undefined), "F");
  assert.equal(evaluateString("CASESENSIT", "a", "A"), "F");
  assert.equal(evaluateString("IGNORECASE", "a", "A"), "P");
  assert.equal(evaluateString("EQ", "a", undefined), undefined);
  assert.equal(parseNumericCompOp(" gele "), "GELE");
  assert.equal(parseNumericCompOp("IGNORECASE"), undefined);
  assert.equal(parseStringCompOp("IgnoreCase"), "IGNORECASE");
  assert.equal(parseNumericCompOp("EQT"), undefined);
  assert.equal(resolveNumericLimits({ compOp: "bogus" }), undefined);
  assert.deepEqual(resolveNumericLimits({ compOp: "LTGT", high: 5 }), {
    compOp: "GT",
    lowLimit: 5,
    narrowed: "LTGT without a low limit",
  });
});

Deno.test("status: words, severity, mapping between levels", () => {
  assert.equal(parseStepStatus("Passed"), "P");
  assert.equal(parseStepStatus(" NG "), "F");
  assert.equal(parseStepStatus("Aborted"), "T");
  assert.equal(parseStepStatus("JUMP"), undefined);
  assert.equal(worse("F", "E"), "E");
  assert.equal(worse("T", "F"), "T");
  assert.equal(worse("D", "S"), "S");
  assert.equal(toMeasStatus("E"), "F");
  assert.equal(toMeasStatus("D"), "P");
  assert.equal(toReportResult("S"), "P");
  assert.equal(toReportResult("T"), "T");
});

Deno.test(
  "compop: every measurement of the real server exports evaluates to its recorded status",
  needsSharedFixtures,
  () => {
    let checked = 0;
    for (const f of ["uut-wsjf-export.json", "new_report_example.json"]) {
      const r = JSON.parse(Deno.readTextFileSync(sharedFixture("wats", "wsjf", f)!));
      walkSteps(r.root as Step, "root", (s) => {
        for (const m of (s.numericMeas ?? []) as Any[]) {
          const op = parseNumericCompOp(m.compOp)!;
          const got = evaluateNumeric(
            op,
            m.value,
            m.lowLimit ?? undefined,
            m.highLimit ?? undefined,
          );
          if (op === "LOG") continue;
          assert.equal(got, m.status, `${f} step ${s.id} ${s.name} ${m.name ?? ""}`);
          checked++;
        }
        for (const m of (s.stringMeas ?? []) as Any[]) {
          const op = parseStringCompOp(m.compOp)!;
          if (op === "LOG") continue;
          assert.equal(
            evaluateString(op, m.value, m.limit ?? undefined),
            m.status,
            `${f} step ${s.id}`,
          );
          checked++;
        }
      });
    }
    assert.ok(checked > 200, `checked ${checked}`);
  },
);

Deno.test("schema: hostile depth and control characters from custom converters", () => {
  const r = load("minimal.json");
  let s = r.root;
  for (let i = 0; i < 5000; i++) {
    const kid = { id: i + 10, group: "M", stepType: "SequenceCall", name: "x", status: "P" };
    s.steps = [kid];
    s = kid;
  }
  expectProblem(r, /^root: steps are nested 201 levels deep, more than 200/);
  const c = load("minimal.json");
  c.sn = "S\u0001N";
  c.root.steps[0].name = "V\u0000cc";
  const v = validateReport(c);
  if (!v.ok) throw new Error(v.problems.join("; "));
  assert.equal(v.report.sn, "SN");
  assert.equal(v.report.root!.steps![0].name, "Vcc");
  assert.equal(c.sn, "S\u0001N"); // the input is not changed
});

Deno.test("schema: a serial or part number of control characters only is empty", () => {
  const r = load("minimal.json");
  r.sn = "\u0001\u0002";
  expectProblem(r, /^sn: must not be empty/);
});

Deno.test("schema: a validated report validates again without a second pass", () => {
  const r = load("minimal.json");
  r.pn = "A/B"; // a warning
  const first = validateReport(r);
  if (!first.ok) throw new Error(first.problems.join("; "));
  const again = validateReport(first.report);
  if (!again.ok) throw new Error(again.problems.join("; "));
  assert.equal(again.report, first.report); // the same object: not parsed and copied again
  assert.deepEqual(again.warnings, first.warnings);
  assert.equal(assertValidReport(first.report), first.report);
  // What fillStationFields may set in between is checked (and stripped) again.
  const out = first.report as Any;
  out.uut.user = "op\u0001";
  const filled = validateReport(out);
  assert.ok(filled.ok);
  assert.equal(out.uut.user, "op");
  out.machineName = " ";
  assert.deepEqual(problems(out), ["machineName: must not be empty"]);
  out.machineName = 7;
  assert.deepEqual(problems(out), ["machineName: expected string, found 7"]);
  // The input was not remembered: changing it and validating again checks it in full.
  r.result = "X";
  expectProblem(r, /^result: expected one of/);
});
