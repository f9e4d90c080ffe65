/**
 * Tests of the `spea-3030` converter: the real sample (10 runs of one serial, shared fixtures),
 * a synthetic log in tests/fixtures/convert/spea-3030/ (written for these tests: CRLF, ddmm,
 * a DST gap, -NAN, Automatic, FUNC rows, an unfinished last run), append-mode ids, errors and a
 * fuzz run.
 */
import assert from "#assert";
import type { ConvertInput, WsjfReport } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/spea-3030.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaf as find, leaves, rejects as expectRejects } from "./_convert.ts";
import { convertInput, fileInput } from "./_station.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);

const PN = { partNumber: "PN-SPEA" };
const OWN = ownFixture("convert", "spea-3030", "testlog_SYN.csv");

Deno.test({
  name: "spea-3030: real sample, 10 runs of the same serial",
  ...needsSharedFixtures,
  async fn() {
    const file = sharedFixture("stations", "spea-3030-csv", "testdata_SN9871234012.csv")!;
    const reports = await convert(fileInput(file, PN));
    assert.equal(reports.length, 10);
    assert.ok(reports.every((r) => r.sn === "SN9871234012" && r.pn === "PN-SPEA"));
    // END;FAIL;… nine times, then END;PASS;10/12/2024;16:29:21 for the last retest.
    assert.deepEqual(reports.map((r) => r.result), [...Array(9).fill("F"), "P"]);
    assert.equal(new Set(reports.map((r) => r.id)).size, 10);
    assert.equal(new Set(reports.map((r) => r.start)).size, 10);
    const [r] = reports;
    // START;Programme;23462-TS;1.0.2;23462-TS;Test Operator op1;10/12/2024;16:15:03 (mmdd)
    assert.equal(r.start, "2024-10-12T16:15:03+02:00");
    assert.equal(r.uut?.execTime, 19); // END;FAIL;10/12/2024;16:15:22
    assert.equal(r.uut?.user, "Test Operator op1");
    assert.deepEqual(r.root?.seqCall, { path: "23462-TS", name: "23462-TS", version: "1.0.2" });
    assert.equal(leaves(r).length, 1198); // ANL + FUNC rows between line 1 and line 1204
    // Line 695: ANL;1;R707;617;1;RESR707 75K 1%;;PASS;4.417205e+04;6.975000e+04;8.025000e+04;ohm
    // The tester says PASS although the value is below the low limit: the verdict is kept.
    const r707 = find(r, "RESR707 75K 1%");
    assert.equal(r707.status, "P");
    assert.deepEqual(r707.numericMeas, [{
      compOp: "GELE",
      status: "P",
      value: 44172.05,
      unit: "ohm",
      lowLimit: 69750,
      highLimit: 80250,
    }]);
    assert.ok(
      r.miscInfos?.some((m) => m.description === "Status note" && /RESR707/.test(m.text ?? "")),
    );
    // ANL;1;C332;…;CAPC332 1nF 10% -10%;;FAIL(+/-);-NAN;8.500000e-10;1.150000e-09;F
    const c332 = find(r, "CAPC332 1nF 10% -10%");
    assert.equal(c332.status, "F");
    assert.equal(c332.numericMeas?.[0].value, undefined);
    assert.equal(c332.numericMeas?.[0].lowLimit, 8.5e-10);
    // ANL;1;FLOAT;54;1;FLOAT;;PASS;Automatic;;236;;;236 → text value
    assert.equal(find(r, "FLOAT").stringMeas?.[0].value, "Automatic");
  },
});

Deno.test("spea-3030: synthetic log: ddmm, CRLF, DST gap, 0 = no limit, FUNC rows", async () => {
  const reports = await convert(fileInput(OWN, PN));
  assert.equal(reports.length, 2); // the third run has no END yet
  const [a, b] = reports;
  assert.deepEqual([a.result, b.result], ["F", "P"]);
  assert.equal(a.start, "2024-03-31T01:59:30+01:00");
  assert.equal(a.uut?.execTime, 40); // 02:00:10 doesn't exist that night: 03:00:10 CEST
  assert.equal(a.uut?.batchSN, "LOT-42");
  assert.equal(b.uut?.batchSN, undefined);
  assert.equal(b.start, "2024-03-31T03:00:00+02:00");
  assert.deepEqual(a.root?.steps?.map((s) => s.name), [
    "Resistors",
    "Capacitors",
    "FLOAT",
    "Functional",
  ]);
  assert.equal(find(a, "RESR11 10K 1%").status, "F");
  assert.equal(find(a, "DSC-C5 Connect Scanner").stepType, "ET_PFT"); // value and limits all 0
  // Low limit 0 counts as "no limit" by default …
  assert.deepEqual(find(a, "DSC-C5 Verify discharge").numericMeas, [
    { compOp: "LE", status: "P", value: 0.001, unit: "V", lowLimit: 0.05 },
  ]);
  assert.deepEqual(find(a, "CAN-Init").numericMeas, [
    { compOp: "GE", status: "P", value: 1, lowLimit: 1 },
  ]);
  // … and as a real limit with zeroLimits: "value".
  const [z] = await convert(fileInput(OWN, { ...PN, zeroLimits: "value" }));
  assert.deepEqual(find(z, "DSC-C5 Verify discharge").numericMeas, [
    { compOp: "GELE", status: "P", value: 0.001, unit: "V", lowLimit: 0, highLimit: 0.05 },
  ]);
});

Deno.test("spea-3030: ids stay the same as the file grows; LF and CRLF agree", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const full = await convert(convertInput(text, "log.csv", PN));
  const cut = text.indexOf("FORMAT;ddmm", 10);
  const early = await convert(convertInput(text.slice(0, cut), "log.csv", PN));
  assert.equal(early.length, 1);
  assert.deepEqual(early[0], full[0]);
  const lf = await convert(convertInput(text.replaceAll("\r\n", "\n"), "log.csv", PN));
  assert.deepEqual(lf.map((r) => r.id), full.map((r) => r.id));
});

Deno.test("spea-3030: broken files and parameters", async () => {
  const run = (body: string) =>
    `FORMAT;mmdd\nSTART;P;S;1;S;Op;01/02/2024;10:00:00\n${body}END;PASS;01/02/2024;10:00:01\n`;
  await rejects(
    convertInput(run("ANL;1;R1;1;1;R1;;PASS;1;0;2;ohm;;1\n"), "a.csv", PN),
    /no SN line/,
  );
  await rejects(
    convertInput(run("ANL;1;R1;1;1;R1;;MAYBE;1;0;2;ohm;;1\nSN;X\n"), "a.csv", PN),
    /line 3: unknown verdict "MAYBE"/,
  );
  await rejects(
    convertInput(run("ANL;1;R1;1;1;R1;;PASS;1\nSN;X\n"), "a.csv", PN),
    /line 3: the ANL row has 9 fields/,
  );
  await rejects(
    convertInput(run("ANL;1;R1;1;1;R1;;PASS;1;low;2;ohm;;1\nSN;X\n"), "a.csv", PN),
    /line 3: the low limit "low" is not a number/,
  );
  await rejects(
    convertInput(
      "FORMAT;mmdd\nSTART;P;S;1;S;Op;13/13/2024;10:00:00\nSN;X\nEND;PASS;1/1/2024;1:00:00\n",
      "d.csv",
      PN,
    ),
    /line 2: "13\/13\/2024;10:00:00" is not a date/,
  );
  // A verdict that only starts like a pass is not one.
  await rejects(
    convertInput(run("ANL;1;R1;1;1;R1;;PASSNOT;1;0;2;ohm;;1\nSN;X\n"), "a.csv", PN),
    /line 3: unknown verdict "PASSNOT"/,
  );
  await rejects(convertInput("ANL;1;R1\n", "o.csv", PN), /line 1: a ANL record outside a run/);
  await rejects(convertInput("hello;world\n", "x.csv", PN), /not a SPEA 3030 log/);
  await rejects(convertInput(run("SN;X\n"), "a.csv"), /partNumber/);
  await rejects(convertInput(run("SN;X\n"), "a.csv", { ...PN, zeroLimits: "maybe" }), /zeroLimits/);
});

Deno.test("spea-3030: unknown records and lines between runs are skipped with warnings", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const edited = text.replace("LOT;LOT-42", "LOT;LOT-42\r\nTEMP;23.5");
  const at = edited.indexOf("FORMAT;ddmm", 10);
  const input = edited.slice(0, at) + "garbage between runs\r\n" + edited.slice(at);
  const warnings: string[] = [];
  const reports = await convert({
    ...convertInput(input, "log.csv", PN),
    warn: (m) => warnings.push(m),
  });
  const plain = await convert(convertInput(text, "log.csv", PN));
  assert.deepEqual(reports.map((r) => [r.sn, r.result]), plain.map((r) => [r.sn, r.result]));
  assert.deepEqual(warnings, [
    'line 4: unknown record "TEMP" skipped',
    'line 15: line outside any run skipped: "garbage between runs"',
  ]);
  const notes = (r: WsjfReport) =>
    r.miscInfos!.filter((m) => m.description === "Conversion warning").map((m) => m.text);
  assert.deepEqual(notes(reports[0]), [warnings[0]]);
  assert.deepEqual(notes(reports[1]), [warnings[1]]);
});

Deno.test("spea-3030: detect", () => {
  const d = (s: string) => converter.detect!({ head: new TextEncoder().encode(s), name: "x.csv" });
  assert.equal(d("FORMAT;mmdd\nSTART;a;b;c\n"), 0.9);
  assert.equal(d("START;a;b;c;d\n"), 0.6);
  assert.equal(d("SerialNumber;1\n"), 0);
});

Deno.test("spea-3030: fuzz", async () => {
  assertFuzzStats(await fuzzConverter(converter, [Deno.readFileSync(OWN)], { params: PN }));
});
