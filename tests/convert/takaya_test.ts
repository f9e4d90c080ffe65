import assert from "#assert";
import path from "#path";
import type { WsjfReport } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/takaya.ts";
import { parseQuotedRow } from "../../src/convert/converters/takaya/atd.ts";
import { fileNameDate, readTakayaDate } from "../../src/convert/converters/takaya/dates.ts";
import { parseUnit, rowVerdict } from "../../src/convert/converters/takaya/values.ts";
import { needsSharedFixtures, ownFixture, sharedFixtureFiles } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput } from "./_station.ts";
import { allSteps, convertValid, rejects, step, toLf, withoutId } from "./_convert.ts";

const real = (folder: string, name: string) =>
  sharedFixtureFiles(`stations/${folder}`).find((f) => path.basename(f) === name)!;
const own = (name: string) => ownFixture("convert", "takaya", name);
const misc = (r: WsjfReport, d: string) => r.miscInfos?.find((m) => m.description === d)?.text;
const leafSteps = (r: WsjfReport) => allSteps(r).filter((s) => s.stepType !== "SequenceCall");

/** Step rows in a file, counted without the converter (lines starting with digits). */
function rowLines(file: string, from = 0, to = Infinity): number {
  return Deno.readTextFileSync(file).replace(/^\uFEFF/, "").split(/\r?\n/).slice(from, to)
    .filter((l) => /^\d+[\t; ]/.test(l)).length;
}

Deno.test("takaya: every real sample converts to valid reports", needsSharedFixtures, async () => {
  const folders = ["takaya-atd", "takaya-apt94xx-atd", "takaya-atdx"];
  let files = 0;
  for (const folder of folders) {
    for (const f of sharedFixtureFiles(`stations/${folder}`)) {
      const reports = await convertValid(converter, fileInput(f));
      assert.ok(reports.length > 0, f);
      // Every step row becomes exactly one step.
      const steps = reports.reduce((n, r) => n + leafSteps(r).length, 0);
      assert.equal(steps, rowLines(f), f);
      files++;
    }
  }
  assert.equal(files, 7);
});

Deno.test("takaya: real ATD panel, one report per GROUP", needsSharedFixtures, async () => {
  const f = real("takaya-atd", "PB2939800_E_BOT-20230420130239.ATD");
  const input = fileInput(f);
  const reports = await convertValid(converter, input);
  assert.deepEqual(reports.map((r) => r.sn), [
    "0610982638",
    "0610982639",
    "0610982637",
    "0610982636",
  ]);
  assert.deepEqual(reports.map((r) => r.uut?.testSocketIndex), [1, 2, 3, 4]);
  for (const r of reports) {
    assert.equal(r.pn, "PB2939800_E_BOT");
    assert.equal(r.result, "P");
    assert.equal(r.machineName, "TAK4");
    assert.equal(r.start, "2023-04-20T13:02:39+02:00"); // DATE 20/4/2023, Oslo summer time
    assert.equal(r.uut?.execTime, 73);
    assert.equal(leafSteps(r).length, 76);
  }
  assert.equal(new Set(reports.map((r) => r.id)).size, 4);
  assert.deepEqual((await converter.convert(input)).map((r) => r.id), reports.map((r) => r.id));
  // 01 000008 C17 47 nF … PASS C 4.7E-8 47.0 nF C 4.49E-8 44.9 nF … +10% -10% … Function **
  const c17 = step(reports[0], "C17_POW_RETURN_CHASSIS");
  assert.deepEqual(c17.numericMeas, [{
    compOp: "GELE",
    status: "P",
    value: 44.9,
    unit: "nF",
    lowLimit: 42.3,
    highLimit: 51.7,
  }]);
  assert.match(c17.reportText!, /^Reference 47\.0 nF \(\+10% \/ -10%\); function \*\*/);
  // Open tests with a learned reference (400 Ω ±50%) are logged, verdict kept.
  const open = step(reports[0], "U8_NetQ4_4_NetQ4_1");
  assert.equal(open.numericMeas?.[0].compOp, "LOG");
  assert.equal(open.numericMeas?.[0].value, 409.5);
  assert.equal(misc(reports[0], "Status note"), undefined, "no file/limit disagreements");
});

Deno.test("takaya: real ATD single board, d/M/yyyy date", needsSharedFixtures, async () => {
  const f = real("takaya-atd", "V682589_K_TOP-20230504130808.ATD");
  const [r] = await convertValid(converter, fileInput(f));
  assert.equal(r.sn, "0601996045");
  assert.equal(r.start, "2023-05-04T13:08:08+02:00"); // DATE 4/5/2023 = 4 May
  assert.equal(leafSteps(r).length, 1094);
  assert.equal(leafSteps(r).filter((s) => s.status === "S").length, 85);
});

Deno.test("takaya: real old ATD layout (yy/MM/dd, no groups)", needsSharedFixtures, async () => {
  const f = real("takaya-atd", "ATVG02_43393848.1023824957283_20141227_152724.ATD");
  const [r] = await convertValid(converter, fileInput(f));
  assert.equal(r.sn, "43393848.1023824957283");
  assert.equal(r.pn, "ATVG02");
  assert.equal(r.start, "2014-12-27T15:26:30+01:00"); // DATE 14/12/27, the file name decides
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "Operator");
  assert.equal(r.machineName, "Test Station");
  assert.equal(misc(r, "Version No."), "V1.3-7c");
  // 000007 UP-NG R29 22.1 O 22.10 O 26.93 O 28.76 O … ** +10% -10%
  assert.deepEqual(step(r, "R29_15087_15053").numericMeas, [{
    compOp: "GELE",
    status: "F",
    value: 28.76,
    unit: "Ω",
    lowLimit: 19.89,
    highLimit: 24.31,
  }]);
  assert.equal(step(r, "D43_15139_15162").status, "S"); // " JUMP "
  assert.equal(leafSteps(r).filter((s) => s.status === "S").length, 6);
});

Deno.test("takaya: real APT94xx files", needsSharedFixtures, async () => {
  const [a] = await convertValid(
    converter,
    fileInput(real("takaya-apt94xx-atd", "11111-BV0001 (AT33).ATD")),
  );
  assert.equal(a.sn, "BV0001");
  assert.equal(a.uut?.batchSN, "11111");
  assert.equal(a.uut?.user, "AT33");
  assert.equal(a.machineName, "FP1");
  assert.equal(a.pn, "DEMO-PANEL-C_V1");
  assert.equal(a.start, "2024-01-01T08:00:00+01:00");
  assert.equal(leafSteps(a).length, 49);
  // 000946 "R1" "4.7KO" "EXPART-3" 338 324 " 4.21 KO " " 4.30 KO " "........" +5% -5% "PASS"
  assert.deepEqual(step(a, "R1_338_324").numericMeas, [{
    compOp: "GELE",
    status: "P",
    value: 4.3,
    unit: "kΩ",
    lowLimit: 3.9995,
    highLimit: 4.4205,
  }]);

  const b = real("takaya-apt94xx-atd", "12345 - SN0001 (FP1 - OP01).ATD");
  const [plain] = await convertValid(converter, fileInput(b));
  assert.equal(plain.sn, "SN0001");
  assert.equal(plain.uut?.user, "FP1");
  assert.equal(misc(plain, "Operator 2"), "OP01");
  assert.equal(misc(plain, "Serial No."), "12345 - SN0001 (FP1 - OP01)");
  const [so] = await converter.convert(fileInput(b, { serialTokens: "station-operator" }));
  assert.equal(so.machineName, "FP1");
  assert.equal(so.uut?.user, "OP01");

  const c = real("takaya-apt94xx-atd", "10001-SN0003 (OP04).ATD");
  const two = await convertValid(converter, fileInput(c));
  assert.deepEqual(two.map((r) => r.pn), ["XPART9900-1B_V2", "XPART9900-1T_V2"]);
  assert.deepEqual(two.map((r) => leafSteps(r).length), [rowLines(c, 0, 2339), rowLines(c, 2339)]);
  assert.equal(two[0].start, "2030-01-26T11:47:09+01:00", "day first by default");
  const ymd = await converter.convert(fileInput(c, { dateOrder: "ymd" }));
  assert.deepEqual(ymd.map((r) => r.start), [
    "2026-01-30T11:47:09+01:00",
    "2026-01-30T12:19:51+01:00",
  ]);
});

Deno.test("takaya: real ATDX, one report per attempt", needsSharedFixtures, async () => {
  const f = real("takaya-atdx", "WO250319-0162__20250525_122655.atdx");
  const reports = await convertValid(converter, fileInput(f));
  assert.equal(reports.length, 10);
  assert.ok(reports.every((r) => r.sn === "WO250319-0162" && r.pn === "289-0254-4.0"));
  assert.ok(reports.every((r) => r.machineName === "APT-1400F FPT04"));
  assert.ok(reports.every((r) => r.start === "2025-05-25T12:26:55+02:00"));
  assert.deepEqual(reports.map((r) => r.result), [..."FFFFFFFFFP"]);
  assert.equal(new Set(reports.map((r) => r.id)).size, 10);
  for (const r of reports) {
    assert.deepEqual(r.root?.steps?.map((s) => [s.name, s.steps?.length]), [
      ["Group 1 side A", 1552],
      ["Group 2 side A", 1552],
    ]);
  }
  // 487;;;C154;10;nF;031_0717;CAP;C;10.000;nF;EQ;20.0;;20.0;;0.002;nF;0.003;nF;LOWER;1;GND;214;U44_UV2
  const c154 = step(reports[0], "C154_GND_U44_UV2");
  assert.deepEqual(c154.numericMeas, [{
    compOp: "GELE",
    status: "F",
    value: 0.003,
    unit: "nF",
    lowLimit: 8,
    highLimit: 12,
  }]);
  assert.match(c154.reportText!, /first measurement 0\.002 nF; tester verdict LOWER/);
  // 1;;;POWER_SHORTS;P-AUTO;;153-9;SHRT;R;100.00;O;OP;----------;;----------;;55000.00;O;;;PASS
  assert.deepEqual(step(reports[0], "POWER_SHORTS_PWR_VOUT_GND").numericMeas, [{
    compOp: "GE",
    status: "P",
    value: 55000,
    unit: "Ω",
    lowLimit: 100,
  }]);
});

Deno.test("takaya: synthetic CRLF ATD panel with a failing board", async () => {
  // Synthetic fixture: 2 groups, CRLF, no final newline, kΩ/MΩ/nF units, re-measured rows.
  const input = fileInput(own("SYN_TOP-20240307090501.ATD"));
  const reports = await convertValid(converter, input);
  assert.deepEqual(reports.map((r) => [r.sn, r.result, r.uut?.testSocketIndex]), [
    ["SYNB0001", "P", 1],
    ["SYNB0002", "F", 2],
  ]);
  const [a, b] = reports;
  assert.equal(a.pn, "SYN_TOP");
  assert.equal(a.uut?.user, "Kari");
  assert.equal(a.uut?.execTime, 61);
  assert.equal(a.start, "2024-03-07T09:05:01+01:00");
  // Test value 2 (re-measurement) is the value; the first one is kept as text.
  const c1 = step(a, "C1_N1_GND");
  assert.equal(c1.numericMeas?.[0].value, 104);
  assert.equal(c1.numericMeas?.[0].status, "P");
  assert.match(c1.reportText!, /first measurement 131\.0 nF/);
  // MΩ reference, value in kΩ: limits converted to the value's unit.
  assert.deepEqual(step(b, "R2_N2_GND").numericMeas, [{
    compOp: "GELE",
    status: "P",
    value: 995,
    unit: "kΩ",
    lowLimit: 980,
    highLimit: 1020,
  }]);
  // Open test with zero tolerance: the reference is the threshold.
  assert.deepEqual(step(a, "G1G2_VCC_GND").numericMeas, [{
    compOp: "GE",
    status: "P",
    value: 409.5,
    unit: "Ω",
    lowLimit: 10,
  }]);
  assert.equal(step(a, "TR1_N3_N4").status, "S"); // JP
  const upNg = step(b, "C1_N1_GND");
  assert.equal(upNg.status, "F");
  assert.match(upNg.reportText!, /tester verdict UP-NG/);

  const lf = await convertValid(converter, convertInput(toLf(input.bytes), input.name));
  assert.deepEqual(lf.map(withoutId), reports.map(withoutId));
});

Deno.test("takaya: synthetic old layout and the dateOrder parameter", async () => {
  const f = own("OLDSYN_OLD-0001_20141227_152724.ATD");
  const [auto] = await convertValid(converter, fileInput(f));
  assert.equal(auto.start, "2014-12-27T15:26:30+01:00");
  assert.equal(auto.sn, "OLD-0001");
  const [dmy] = await converter.convert(fileInput(f, { dateOrder: "dmy" }));
  assert.equal(dmy.start, "2027-12-14T15:26:30+01:00");
  await rejects(
    converter,
    fileInput(f, { dateOrder: "mdy" }),
    /line 1: the test date "14\/12\/27 15:26:30".*mdy.*dateOrder/,
  );
  await rejects(converter, fileInput(f, { dateOrder: "yyyy" }), /parameter "dateOrder"/);
});

Deno.test("takaya: synthetic APT94xx with two blocks and moved columns", async () => {
  const f = own("21272 - BU0296 (AT21 - OP819).ATD");
  const [bottom, top] = await convertValid(converter, fileInput(f));
  assert.equal(bottom.sn, "BU0296");
  assert.equal(bottom.uut?.batchSN, "21272");
  assert.equal(bottom.uut?.user, "AT21");
  assert.equal(misc(bottom, "Operator 2"), "OP819");
  assert.equal(bottom.machineName, "FP9");
  assert.equal(bottom.result, "F");
  assert.equal(step(bottom, "C14_330_324").status, "F"); // LO-NG
  const open = step(bottom, "SHRT1_332_331"); // OPEN verdict on an OP row: a failure
  assert.equal(open.status, "F");
  assert.deepEqual(open.numericMeas, [{ compOp: "LOG", status: "F", value: 0.5, unit: "Ω" }]);
  assert.equal(top.pn, "SYNPART-1T_V2");
  assert.equal(top.result, "P");
  assert.equal(top.start, "2024-03-15T10:20:00+01:00");
  // The function code before the counters is still found; "101.0 O" is the re-measurement.
  const r5 = step(top, "R5_12_13");
  assert.deepEqual(r5.numericMeas, [{
    compOp: "GELE",
    status: "P",
    value: 101,
    unit: "Ω",
    lowLimit: 95,
    highLimit: 105,
  }]);
  assert.equal(step(top, "U1_0_0").status, "S");
  const [patterned] = await converter.convert(
    fileInput(f, { modelPattern: "^(?<pn>[^_]+)_(?<rev>V\\d+)" }),
  );
  assert.equal(patterned.pn, "SYNPART-1B");
  assert.equal(patterned.rev, "V2");
  await rejects(converter, fileInput(f, { modelPattern: "([" }), /parameter "modelPattern"/);
  const [plain] = await converter.convert(fileInput(f, { serialFormat: "plain" }));
  assert.equal(plain.sn, "21272 - BU0296 (AT21 - OP819)");
});

Deno.test("takaya: synthetic ATDX with BOM, attempts and a tester/step disagreement", async () => {
  const input = fileInput(own("WOSYN-0001__20250605_143000.atdx"));
  const [first, second] = await convertValid(converter, input);
  assert.equal(first.sn, "WOSYN-0001");
  assert.equal(first.pn, "SYN-0254-4.0");
  assert.equal(misc(first, "Model suffix"), "LOT7");
  assert.equal(misc(first, "Attempt"), "1 of 2");
  assert.equal(first.result, "F");
  assert.equal(first.start, "2025-06-05T14:30:00+02:00");
  assert.equal(misc(first, "TesterStatus"), undefined);
  // Impedance row 3.000[O]|-3.5: the magnitude and its unit.
  assert.deepEqual(step(first, "C217_GND_N9").numericMeas, [{
    compOp: "LE",
    status: "P",
    value: 2.5,
    unit: "Ω",
    lowLimit: 3,
  }]);
  assert.equal(step(first, "U16_+1.8V_GND").status, "S"); // UnTested
  // Attempt 2: the tester says FAIL for group 1 but every row passed: the verdict is kept.
  assert.equal(second.result, "F");
  assert.equal(misc(second, "TesterStatus"), "tester verdict FAIL; step verdicts give PASS");
  assert.equal(second.root?.steps?.[0].status, "F");
});

Deno.test("takaya: files cut short are refused, saying where", async () => {
  const text = (name: string) => new TextDecoder().decode(Deno.readFileSync(own(name)));
  const cut = async (name: string, body: string, re: RegExp) =>
    await rejects(converter, convertInput(body, name), re);
  // ATD with GROUP blocks: the closing "@" never came (cut at a line end inside group 2).
  const atd = text("SYN_TOP-20240307090501.ATD");
  const atdLines = atd.split("\r\n");
  await cut(
    "SYN_TOP-20240307090501.ATD",
    atdLines.slice(0, 30).join("\r\n") + "\r\n",
    /line 30: the test block that opens on line 1 has no closing "@": the file looks cut short/,
  );
  // Cut inside the header: its closing "@" never came.
  await cut(
    "SYN_TOP-20240307090501.ATD",
    atdLines.slice(0, 4).join("\r\n"),
    /line 4: the file ends inside the header that opens on line 1, before its "@".*cut short/,
  );
  // The old layout has no end marker: a last row with fewer cells than the column header, or
  // the file ending at its column-header row.
  const old = text("OLDSYN_OLD-0001_20141227_152724.ATD");
  const oldName = "OLDSYN_OLD-0001_20141227_152724.ATD";
  const rowAt = old.indexOf("000002\t");
  await cut(
    oldName,
    old.slice(0, rowAt + 30),
    /line 17: the last step row has \d+ of the 20 columns: the file looks cut short/,
  );
  await cut(
    oldName,
    old.slice(0, old.indexOf("000001\t")),
    /line 15: the test block that opens on line 1 ends before its first step row.*cut short/,
  );
  // ATDX: a step row cut mid-row, a group cut before its rows, a Main header with no group.
  const atdx = text("WOSYN-0001__20250605_143000.atdx");
  const atdxName = "WOSYN-0001__20250605_143000.atdx";
  const lines = atdx.split("\n");
  const upTo = (n: number) => lines.slice(0, n).join("\n") + "\n";
  await cut(
    atdxName,
    upTo(15) + lines[15].slice(0, 40),
    /line 16: the last step row has \d+ of the 35 columns: the file looks cut short/,
  );
  await cut(
    atdxName,
    upTo(13),
    /line 10: the group that opens on line 9 ends before its first step row.*cut short/,
  );
  await cut(atdxName, upTo(22), /line 22: the file ends in the Main header that opens on line 18/);
  // Cut at a line end after a whole row: ATDX has no end marker, the rows so far convert.
  assert.equal((await convertValid(converter, convertInput(upTo(17), atdxName))).length, 1);
});

Deno.test("takaya: wrong files and parameters give clear errors", async () => {
  await rejects(
    converter,
    convertInput("{@BATCH|X\n", "x.log"),
    /line 1: this is not a TAKAYA ATD or ATDX file \(first line is "\{@BATCH\|X"\).*format/,
  );
  await rejects(
    converter,
    fileInput(own("SYN_TOP-20240307090501.ATD"), { variant: "atdx" }),
    /TAKAYA ATD \(tab\) file, but .*"variant" parameter says ATDX/,
  );
  await rejects(
    converter,
    convertInput("@\n* PASS *\nModel:X\nDATE 1/2/2024 10:00:00\n@\n* GROUP No.1 *\n@\n", "y.ATD"),
    /no serial number for unit 1/,
  );
  await rejects(
    converter,
    convertInput('000001 "R1" "1KO" "X" 1 2 "1.0 KO" "1.0 KO" "...." +5% -5% "PASS"', "z.ATD"),
    /not a TAKAYA/,
  );
  await rejects(converter, fileInput(own("SYN_TOP-20240307090501.ATD"), { bogus: 1 }), /bogus/);
});

Deno.test("takaya: units, verdicts, quoted rows, dates", () => {
  assert.deepEqual(parseUnit("KO"), { unit: "kΩ", base: "Ω", scale: 1e3 });
  assert.deepEqual(parseUnit("MO"), { unit: "MΩ", base: "Ω", scale: 1e6 });
  assert.deepEqual(parseUnit("UF"), { unit: "µF", base: "F", scale: 1e-6 });
  assert.deepEqual(parseUnit("mV"), { unit: "mV", base: "V", scale: 1e-3 });
  assert.deepEqual(parseUnit("mF"), { unit: "mF", base: "F", scale: 1e-3 });
  assert.deepEqual(parseUnit("Unit"), { unit: "Unit", base: "", scale: 1 });
  assert.deepEqual(
    [
      "PASS   ",
      "FAIL",
      "UP-NG",
      "LO-NG",
      "OPEN",
      "SHORT",
      "UNMEASURED",
      "......",
      " JUMP ",
      "UnTested",
    ]
      .map(rowVerdict),
    ["P", "F", "F", "F", "F", "F", "F", "S", "S", "S"],
  );
  const row = parseQuotedRow(
    '000946 "R1         " "4.7KO      " "EXPART-3              " 338   324   " 4.21 KO " ' +
      '" 4.30 KO " "........" +5% -5% "PASS   " "DC-CC" "Range 5" "2.0 ms" "( -, N, +, N) " 0     0     "**"',
    7,
  );
  assert.deepEqual(
    [row.step, row.parts, row.value, row.comment, row.hPin, row.lPin, row.ref, row.refUnit],
    ["000946", "R1", "4.7KO", "EXPART-3", "338", "324", "4.21", "KO"],
  );
  assert.deepEqual([row.test1, row.test2, row.judgement, row.func], [
    "4.30",
    "........",
    "PASS",
    "**",
  ]);
  assert.deepEqual(fileNameDate("PB2939800_E_BOT-20230420130239.ATD"), {
    year: 2023,
    month: 4,
    day: 20,
    hour: 13,
    minute: 2,
    second: 39,
  });
  assert.equal(fileNameDate("12345 - SN0001 (FP1 - OP01).ATD"), null);
  assert.equal(readTakayaDate("01/02/24 08:00:00", "auto", "x.ATD")?.order, "dmy");
  assert.equal(readTakayaDate("13/12/24 08:00:00", "mdy", "x.ATD"), null);
  assert.equal(readTakayaDate("2/13/2024 08:00:00", "auto", "x.ATD")?.order, "mdy");
});

Deno.test("takaya: detect", () => {
  const head = (s: string) => new TextEncoder().encode(s);
  const atd = Deno.readFileSync(own("SYN_TOP-20240307090501.ATD")).subarray(0, 8192);
  const atdx = Deno.readFileSync(own("WOSYN-0001__20250605_143000.atdx")).subarray(0, 8192);
  assert.equal(converter.detect!({ head: atd, name: "a.ATD" }), 0.95);
  assert.equal(converter.detect!({ head: atdx, name: "a.atdx" }), 0.95);
  assert.equal(converter.detect!({ head: atd, name: "a.txt" }), 0.9);
  assert.equal(converter.detect!({ head: head("{@BATCH|X"), name: "a.ATD" }), 0);
});

Deno.test("takaya: fuzz", async () => {
  const seeds = [
    "SYN_TOP-20240307090501.ATD",
    "OLDSYN_OLD-0001_20141227_152724.ATD",
    "21272 - BU0296 (AT21 - OP819).ATD",
    "WOSYN-0001__20250605_143000.atdx",
  ].map((n) => Deno.readFileSync(own(n)));
  const stats = await fuzzConverter(converter, seeds, { cases: 400 });
  assertFuzzStats(stats);
});

Deno.test("takaya: a header line of 200,000 spaces is read in linear time (was a quadratic regex)", async () => {
  const base = Deno.readTextFileSync(ownFixture("convert", "takaya", "SYN_TOP-20240307090501.ATD"));
  const lines = base.split("\n");
  lines.splice(3, 0, " ".repeat(200_000) + "x");
  const reports = await converter.convert(convertInput(lines.join("\n"), "a.ATD", {}));
  assert.ok(reports.length > 0);
});

/** Converts with a `warn` that collects what the converter recovered from. */
async function convertWarned(text: string, name: string) {
  const warnings: string[] = [];
  const input = { ...convertInput(text, name), warn: (m: string) => warnings.push(m) };
  return { reports: await convertValid(converter, input), warnings };
}

Deno.test("takaya: lines it does not understand are skipped with warnings", async () => {
  const name = "SYN_TOP-20240307090501.ATD";
  const text = Deno.readTextFileSync(own(name)).replaceAll("\r\n", "\n");
  const edited = text.replace("Serial No.:SYNB0002\n", "Serial No.:SYNB0002\nWobble factor 7\n");
  const { reports, warnings } = await convertWarned(edited, name);
  const plain = await convertValid(converter, convertInput(text, name));
  assert.deepEqual(reports.map((r) => [r.sn, r.result]), plain.map((r) => [r.sn, r.result]));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^line \d+: line not understood: "Wobble factor 7"; skipped$/);
  assert.deepEqual(misc(reports[1], "Conversion warning"), warnings[0]); // board 2's line
  assert.equal(misc(reports[0], "Conversion warning"), undefined);

  const atdx = "WOSYN-0001__20250605_143000.atdx";
  const x = Deno.readTextFileSync(own(atdx)).replaceAll("\r\n", "\n");
  const at = x.indexOf('#############"Main header"', 10);
  const withSection = x.slice(0, at) + '####"Summary"####\nTotal: 3\n' + x.slice(at);
  const got = await convertWarned(withSection, atdx);
  const plainX = await convertValid(converter, convertInput(x, atdx));
  assert.equal(got.reports.length, plainX.length);
  assert.deepEqual(got.warnings.map((w) => w.replace(/^line \d+: /, "")), [
    'unknown section "Summary"; skipped',
    'line in an unknown section: "Total: 3"; skipped',
  ]);
});

Deno.test("takaya: a verdict word it does not know is an error, never a pass", async () => {
  const name = "SYN_TOP-20240307090501.ATD";
  const text = Deno.readTextFileSync(own(name)).replaceAll("\r\n", "\n");
  await rejects(
    converter,
    convertInput(text.replace("* GROUP No.1   *\n* PASS *", "* GROUP No.1   *\n* MAYBE *"), name),
    /line 12: unknown board verdict "MAYBE"/,
  );
  const atdx = "WOSYN-0001__20250605_143000.atdx";
  const x = Deno.readTextFileSync(own(atdx)).replaceAll("\r\n", "\n");
  await rejects(
    converter,
    convertInput(x.replace("Side: A FAIL", "Side: A HMM"), atdx),
    /line 9: unknown group verdict "HMM"/,
  );
});
