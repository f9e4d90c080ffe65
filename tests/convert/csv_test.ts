/**
 * Tests of the configurable `csv` converter: the two real samples (shared fixtures), our own
 * synthetic fixtures in tests/fixtures/convert/csv/ (written for these tests, not from a real
 * tester), parameter errors, and a fuzz run.
 */
import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/csv/converter.ts";
import { detectFormat } from "../../src/convert/conversion.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { allSteps, convertValid, rejects as expectRejects, step, withoutId } from "./_convert.ts";
import { convertInput, fileInput } from "./_station.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);

const own = (name: string) => ownFixture("convert", "csv", name);

// ---- real samples -------------------------------------------------------------------------

Deno.test({
  name: "csv: real fct-csv-semicolon sample (key;value header + step table, Latin-1)",
  ...needsSharedFixtures,
  async fn() {
    const file = sharedFixture("stations", "fct-csv-semicolon", "fct_all_ok.csv")!;
    const [r, ...more] = await convert(fileInput(file));
    assert.equal(more.length, 0);
    assert.equal(r.sn, "V102431800038DB828853020");
    assert.equal(r.pn, "B828853_02_F-5296");
    assert.equal(r.result, "P");
    assert.equal(r.machineName, "24-0285"); // "Machine ID;24-0285"
    assert.equal(r.start, "2024-11-29T15:29:00+01:00"); // "Start Time;2024.11.29. 15:29", Oslo
    assert.equal(r.uut?.execTime, 60); // "Testing time(sec);60"
    assert.equal(r.uut?.errorCode, 0);
    assert.deepEqual(r.miscInfos, [
      { description: "MainSerial", text: "VES/SN0012260367" },
      { description: "Part Type", text: "S100-SW120" },
      { description: "MES", text: "1" },
    ]);
    const steps = allSteps(r);
    assert.equal(steps.length, 276); // 287 lines - 10 header lines - 1 table header
    assert.ok(steps.every((s) => s.status === "P" || s.status === "D"));
    // "ME Resolver RAW pos;275;280.734;285;\xB0;Passed" (0xB0 = ° in Latin-1/Windows-1252)
    assert.deepEqual(step(r, "ME Resolver RAW pos").numericMeas, [
      { compOp: "GELE", status: "P", value: 280.734, unit: "°", lowLimit: 275, highLimit: 285 },
    ]);
    // "1A MEAS_CRT HSG U;-300;-244.906;-170;A;Passed"
    assert.deepEqual(step(r, "1A MEAS_CRT HSG U").numericMeas?.[0], {
      compOp: "GELE",
      status: "P",
      value: -244.906,
      unit: "A",
      lowLimit: -300,
      highLimit: -170,
    });
    // "SBC IF;;129.000;;;Info": no limits → LOG, verdict Info → Done
    const info = step(r, "SBC IF");
    assert.equal(info.status, "D");
    assert.deepEqual(info.numericMeas, [{ compOp: "LOG", status: "P", value: 129 }]);
    // "Micro EN;;E010;;;Info": a text value → string step
    assert.equal(step(r, "Micro EN").stringMeas?.[0].value, "E010");
  },
});

Deno.test({
  name: "csv: real devkit sample: the malformed last row fails clearly, or is skipped and noted",
  ...needsSharedFixtures,
  async fn() {
    const file = sharedFixture("stations", "devkit-example-csv", "sample-enhanced.csv")!;
    await rejects(fileInput(file), /line 4: the row has 12 fields .*has 11.*badRows/s);

    const [r, ...more] = await convert(
      fileInput(file, { badRows: "skip", processCodes: { ICT: 30 } }),
    );
    assert.equal(more.length, 0);
    assert.equal(r.sn, "SN12345");
    assert.equal(r.pn, "PN-001");
    assert.equal(r.result, "P");
    assert.equal(r.processCode, 30); // OperationType "ICT" through processCodes
    assert.equal(r.start, "2026-02-03T14:30:00+01:00");
    assert.deepEqual(r.miscInfos, [{
      description: "Skipped row",
      text: "line 4: 12 fields, 11 expected; row left out",
    }]);
    const steps = allSteps(r);
    assert.equal(steps.length, 2);
    // "SN12345,…,Voltage Measurement,NumericLimit,5.02,4.90,5.10,V,PASS"
    assert.deepEqual(steps[0].numericMeas, [
      { compOp: "GELE", status: "P", value: 5.02, unit: "V", lowLimit: 4.9, highLimit: 5.1 },
    ]);
    assert.equal(steps[1].stepType, "ET_PFT"); // "Continuity Test,PassFail,,,,,PASS"
    assert.deepEqual(steps[1].booleanMeas, [{ status: "P" }]);

    // Without processCodes the process name is kept as misc info and the default code used.
    const [r2] = await convert(fileInput(file, { badRows: "skip" }));
    assert.equal(r2.processCode, 10);
    assert.ok(r2.miscInfos?.some((m) => m.description === "Process name" && m.text === "ICT"));
  },
});

// ---- synthetic fixtures -------------------------------------------------------------------

Deno.test("csv: key/value + table, CRLF, Windows-1252, decimal comma, quoted delimiter", async () => {
  const params = { decimalSeparator: ",", dateOrder: "dmy" };
  const [r] = await convert(fileInput(own("kv_decimal_comma_crlf.csv"), params));
  assert.equal(r.sn, "SYN-0001");
  assert.equal(r.pn, "PCB-4711");
  assert.equal(r.rev, "C");
  assert.equal(r.uut?.user, "Åse Öberg"); // Windows-1252 bytes
  assert.equal(r.uut?.execTime, 12.5);
  assert.equal(r.machineName, "FCT-07");
  assert.equal(r.result, "F");
  assert.equal(r.start, "2024-11-29T15:29:07+01:00");
  assert.deepEqual(r.miscInfos, [{ description: "Line", text: "L3" }]);
  const leak = step(r, "Leak current"); // "Leak current;LE;;12,7;10;µA;Failed"
  assert.equal(leak.status, "F");
  assert.deepEqual(leak.numericMeas, [
    { compOp: "LE", status: "F", value: 12.7, unit: "µA", lowLimit: 10 },
  ]);
  const temp = step(r, "Temp; board"); // quoted name with the delimiter inside
  assert.deepEqual(temp.numericMeas?.[0], {
    compOp: "GTLT",
    status: "P",
    value: 36.5,
    unit: "°C",
    lowLimit: 20,
    highLimit: 60,
  });
  assert.equal(step(r, "Firmware").stringMeas?.[0].value, "v1.2.3");
  assert.equal(step(r, "Fuse intact").stepType, "ET_PFT");
  assert.equal(step(r, "Calibration").stepType, "Action");

  // The same file with LF line ends gives the same reports, ids included.
  const lf = new TextDecoder("windows-1252").decode(
    Deno.readFileSync(own("kv_decimal_comma_crlf.csv")),
  ).replaceAll("\r\n", "\n");
  const bytes = Uint8Array.from(lf, (c) => c === "µ" ? 0xb5 : c === "°" ? 0xb0 : c.charCodeAt(0));
  const [r2] = await convert(convertInput(bytes, "kv.csv", params));
  assert.deepEqual(r2, r);
});

Deno.test("csv: decimal comma without the parameter fails with a hint", async () => {
  await rejects(
    fileInput(own("kv_decimal_comma_crlf.csv"), { dateOrder: "dmy" }),
    /"12,5" .*decimalSeparator: ","/s,
  );
});

Deno.test("csv: header on every row, split by serial, glued units, a failing unit", async () => {
  const params = { datePattern: "MM/dd/yyyy hh:mm:ss tt" };
  const reports = await convert(fileInput(own("rows_two_serials.csv"), params));
  assert.equal(reports.length, 2);
  const [a, b] = reports;
  assert.deepEqual([a.sn, b.sn], ["U-100", "U-200"]);
  assert.deepEqual([a.result, b.result], ["P", "F"]);
  assert.equal(a.pn, "PX-1");
  assert.equal(a.start, "2025-03-04T13:05:09+01:00"); // 01:05:09 PM
  assert.equal(b.start, "2025-03-04T13:07:41+01:00");
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.root?.steps?.map((s) => s.name), ["Power", "Comms"]);
  assert.deepEqual(step(b, "VCC").numericMeas, [
    { compOp: "GELE", status: "F", value: 3.61, unit: "V", lowLimit: 3.1, highLimit: 3.5 },
  ]);
  assert.equal(step(b, "VCC").reportText, "Note: retest"); // unknown column → report text
  assert.equal(step(a, "ICC").reportText, "Note: idle, fan off");
  assert.equal(step(a, "Banner").stringMeas?.[0].value, "Hello, world");
  // Same file, same ids.
  const again = await convert(fileInput(own("rows_two_serials.csv"), params));
  assert.deepEqual(again.map((r) => r.id), [a.id, b.id]);

  // dateOrder instead of a pattern; splitBy "file" keeps one report (serial of the first row).
  const one = await convert(
    fileInput(own("rows_two_serials.csv"), { dateOrder: "mdy", splitBy: "file" }),
  );
  assert.equal(one.length, 1);
  assert.equal(one[0].sn, "U-100");
  assert.equal(allSteps(one[0]).filter((s) => s.stepType !== "SequenceCall").length, 6);
});

Deno.test("csv: an ambiguous day/month date needs dateOrder or datePattern", async () => {
  await rejects(fileInput(own("rows_two_serials.csv")), /line 2, column "Date".*dateOrder/s);
});

Deno.test("csv: nano51e preset reads the header from the file name", async () => {
  const name = "A%PN-77%20240110%SN0042_NG_20240315101112.csv";
  const [r] = await convert(fileInput(own(name), { preset: "nano51e" }));
  assert.equal(r.pn, "PN-77");
  assert.equal(r.sn, "SN0042");
  assert.equal(r.result, "F"); // NG
  assert.equal(r.processCode, 30);
  assert.equal(r.start, "2024-03-15T10:11:12+01:00");
  assert.deepEqual(r.miscInfos, [{ description: "SMT Production Date", text: "20240110" }]);
  assert.deepEqual(r.root?.steps?.map((s) => s.name), ["Power", "Clock"]);
  // "I_STBY[Power],12.5mA,0,10,FAIL"
  assert.deepEqual(step(r, "I_STBY").numericMeas, [
    { compOp: "GELE", status: "F", value: 12.5, unit: "mA", lowLimit: 0, highLimit: 10 },
  ]);
  // A processCode in the config wins over the preset.
  const [r2] = await convert(fileInput(own(name), { preset: "nano51e", processCode: 31 }));
  assert.equal(r2.processCode, 31);
  // A file name that doesn't match.
  const bytes = Deno.readFileSync(own(name));
  await rejects(convertInput(bytes, "other.csv", { preset: "nano51e" }), /fileNamePattern/);
});

Deno.test("csv: append-mode key/value blocks: one report each, ids stable as the file grows", async () => {
  const text = Deno.readFileSync(own("append_blocks.csv"));
  const reports = await convert(convertInput(text, "log.csv"));
  assert.deepEqual(reports.map((r) => [r.sn, r.result]), [["SYN-A1", "P"], ["SYN-A2", "F"]]);
  const firstBlock = new TextDecoder().decode(text).split("SerialNumber;SYN-A2")[0];
  const [early] = await convert(convertInput(firstBlock, "log.csv"));
  assert.equal(early.id, reports[0].id);
  assert.deepEqual(early, reports[0]);
});

Deno.test("csv: a step named like the first header key does not start a new unit", async () => {
  const text = "SerialNumber;S1\nPart Number;P1\nStart Time;2025-01-01 10:00\n" +
    "StepName;Min;Value;Max;Unit;Status\nSerialNumber;;S1;;;Passed\nV1;1;1.5;2;V;Passed\n";
  const reports = await convert(convertInput(text, "a.csv"));
  assert.equal(reports.length, 1);
  assert.deepEqual(allSteps(reports[0]).map((s) => s.name), ["SerialNumber", "V1"]);
});

Deno.test("csv: tab-delimited UTF-8 with BOM, UTC timestamp, computed result", async () => {
  const [r] = await convert(fileInput(own("tab_utf8_bom.tsv")));
  assert.equal(r.sn, "T-1");
  assert.equal(r.start, "2025-06-01T12:00:00+02:00"); // 10:00Z in Oslo summer time
  assert.equal(r.result, "F"); // no result in the file: from the steps
  assert.equal(step(r, "B").status, "F");
});

Deno.test("csv: explicit columns and header keys by name and number", async () => {
  const text = "Board;Lot 7\nWhen;2025-02-01 10:00\nMeasure|Reading|Lower|Upper|Judge\n" +
    "x|1|0|2|GO\ny|5|0|2|NOGO\n";
  const params = {
    delimiter: "|",
    header: { sn: "Board", start: "When" },
    columns: { name: "Measure", value: 2, low: "Lower", high: "Upper", status: ["Judge"] },
    statusWords: { GO: "P", NOGO: "F" },
    partNumber: "PN-X",
  };
  // Key/value lines use ";" here, which is not the delimiter: one field each → not key/value.
  await rejects(convertInput(text, "x.txt", params), /no serial number/);
  const [r] = await convert(convertInput(text.replaceAll(";", "|"), "x.txt", params));
  assert.equal(r.sn, "Lot 7");
  assert.equal(r.pn, "PN-X");
  assert.equal(r.result, "F");
  assert.deepEqual(allSteps(r).map((s) => [s.name, s.status]), [["x", "P"], ["y", "F"]]);
});

Deno.test("csv: unknown verdict words fail with the line, statusWords fixes it", async () => {
  const text = "SN;S1\nPN;P1\nDate;2025-01-01 00:00:00\nName;Value;Status\nA;1;MAYBE\n";
  await rejects(
    convertInput(text, "a.csv"),
    /line 5, step "A": unknown status "MAYBE".*statusWords/s,
  );
  const [r] = await convert(convertInput(text, "a.csv", { statusWords: { MAYBE: "S" } }));
  assert.equal(allSteps(r)[0].status, "S");
});

Deno.test("csv: missing start: conversion time with a note, or an error", async () => {
  const text = "SN;S1\nPN;P1\nName;Value;Status\nA;1;PASS\n";
  const [r] = await convert(convertInput(text, "a.csv"));
  assert.ok(r.miscInfos?.some((m) => m.description === "Start time"));
  assert.match(r.start, /[+-]\d{2}:\d{2}$/);
  await rejects(convertInput(text, "a.csv", { missingStart: "error" }), /no start date/);
});

Deno.test("csv: broken files give ConversionErrors that say where", async () => {
  await rejects(convertInput("", "e.csv"), /empty/);
  await rejects(convertInput("just words\nmore words\n", "w.csv"), /no delimiter/);
  await rejects(
    convertInput('SN;S1\nName;Value;Status\n"A;1;PASS\nB;2;PASS\n', "q.csv"),
    /quoted field opened on line 3 is never closed/,
  );
  await rejects(
    convertInput(
      "SN;S1\nPN;P\nDate;2025-01-01 10:00\nName;Value;Min;Status\nA;1;low;PASS\n",
      "n.csv",
    ),
    /line 5, low limit of "A": "low" is not a number/,
  );
  await rejects(
    convertInput("SN;S1\nPN;P\nDate;31.02.2025\nName;Value;Status\nA;1;PASS\n", "d.csv"),
    /"31.02.2025" is not a date/,
  );
});

Deno.test("csv: bad parameters name the parameter", async () => {
  const text = "SN;S1\nName;Value\nA;1\n";
  await rejects(convertInput(text, "a.csv", { delimter: ";" }), /unknown parameter "delimter"/);
  await rejects(convertInput(text, "a.csv", { delimiter: ";;" }), /parameter "delimiter"/);
  await rejects(convertInput(text, "a.csv", { tableHeader: "none" }), /columns\.name/);
  await rejects(convertInput(text, "a.csv", { namePattern: "^(.+)$" }), /parameter "namePattern"/);
  await rejects(
    convertInput(text, "a.csv", { fileNamePattern: "(" }),
    /parameter "fileNamePattern"/,
  );
  await rejects(convertInput(text, "a.csv", { statusWords: { X: "maybe" } }), /statusWords\.X/);
  await rejects(convertInput(text, "a.csv", { columns: { valeu: "V" } }), /valeu/);
  await rejects(convertInput(text, "a.csv", { compOp: "BETWEEN" }), /parameter "compOp"/);
});

Deno.test("csv: a file cut mid-line is refused as cut short; lastLineEnd: optional reads it", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(own("rows_two_serials.csv")));
  const params = { dateOrder: "mdy" };
  const whole = await convert(convertInput(text, "cut.csv", params));
  const lines = text.split("\n");
  // Cut inside the last row's verdict: the row still has all its fields, but no line end.
  const cut = text.slice(0, text.trimEnd().length - 2);
  const e = await rejects(
    convertInput(cut, "cut.csv", params),
    new RegExp(`cut\\.csv: line ${lines.length - 1}: the last line has no line end.*cut short`),
  );
  assert.match(e.hint, /"lastLineEnd": "optional"/);
  // The same in a CRLF file cut between CR and LF.
  const crlf = text.replaceAll("\n", "\r\n");
  await rejects(convertInput(crlf.slice(0, -1), "cut.csv", params), /no line end.*cut short/);
  // A tester that never ends its last line: the whole file reads as before.
  const relaxed = await convert(
    convertInput(text.trimEnd(), "cut.csv", { ...params, lastLineEnd: "optional" }),
  );
  assert.deepEqual(relaxed.map(withoutId), whole.map(withoutId));
  // One line without a line end has nothing to compare with: not refused for that.
  const one = await convert(
    convertInput("SN1,PN1,2024-01-02 10:00:00,V,5.0,PASS", "one.csv", {
      tableHeader: "none",
      columns: { name: 4, value: 5, status: 6 },
      header: { sn: 1, pn: 2, start: 3 },
    }),
  );
  assert.equal(one.length, 1);
});

Deno.test("csv: detect", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const d = (head: string, name: string) => converter.detect!({ head: enc(head), name });
  assert.equal(d("SerialNumber;V1\nMainSerial;x\n", "fct.csv"), 0.6);
  assert.equal(d("SerialNumber,PartNumber,TestDate\n", "x.csv"), 0.6);
  assert.equal(d("TestName,Value\n", "A%PN%2024%SN_OK_20240101120000.csv"), 0.7);
  assert.equal(d("a;b\n1;2\n", "x.csv"), 0.3);
  assert.equal(d("FORMAT;mmdd\n", "x.dat"), 0.1);
  assert.equal(
    converter.detect!({ head: new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]), name: "a.zip" }),
    0,
  );
});

Deno.test("csv: detect recognises a generic report, not any delimited text", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const d = (head: string | Uint8Array, name: string) =>
    converter.detect!({ head: typeof head === "string" ? enc(head) : head, name });
  const rows = "Board,Test,Value,Low,High\nB-1,VCC,3.3,3.1,3.5\nB-1,ICC,0.1,,0.5\n";
  // A serial column under a built-in name (Board is not one) and step rows of the header's width.
  assert.equal(d(rows.replace("Board", "Serial"), "t.csv"), 0.6);
  assert.equal(d(rows.replace("Board", "Serial"), "t.log"), 0.55);
  assert.equal(d(rows, "t.csv"), 0.3);
  // A key/value serial, then a step table (tab, semicolon).
  assert.equal(d("Title line\nUUT Serial\tX1\nName\tValue\tStatus\nA\t1\tPASS\n", "t.tsv"), 0.6);
  assert.equal(d("S/N;X1\nTestName;Result\nA;PASS\nB;FAIL\n", "t.txt"), 0.6);
  // Key/value lines only: three pairs make a report, two do not.
  assert.equal(d("Serial;X1\nPart;P1\nDate;2025-01-02\n", "t.csv"), 0.6);
  assert.equal(d("Serial;X1\nPart;P1\n", "t.csv"), 0.3);
  // `Serial: X1` in one field is not a delimited key/value line.
  assert.equal(d("Serial: X1, batch 4\nTest,Value\nA,1\n", "t.csv"), 0.3);
  // A Klippel curve file: a tab table without a serial.
  assert.equal(d("frq\tspl\tmax\tmin\n100\t88.0\t92.0\t84.0\n", "Acoustic-spl.txt"), 0.3);
  // Most rows off the header's width: not a table.
  assert.equal(d("SN,Test,Value\nX,A,1,2,3\nX,B,1,2,3\nX,C,1\n", "t.csv"), 0.3);
  // A head of 8 KiB that cuts the last row (and a quoted field) in the middle still counts.
  const big = "Serial,Test,Value,Note\n" +
    Array.from({ length: 600 }, (_, i) => `X1,T${i},${i},"a, b"`).join("\n") + "\n";
  const inQuote = big.lastIndexOf('"a, b"', 8192) + 3; // the head ends inside `"a,`
  for (const cut of [8192, inQuote]) {
    assert.equal(d(enc(big).subarray(0, cut), "t.csv"), 0.6, `cut at ${cut}`);
  }
});

Deno.test("csv: auto takes our generic fixtures, and a missing parameter is named", async () => {
  for (
    const [file, re] of [
      ["rows_two_serials.csv", /line 2, column "Date".*dateOrder/s],
      ["kv_decimal_comma_crlf.csv", /"12,5" .*decimalSeparator: ","/s],
    ] as const
  ) {
    const picked = await detectFormat(Deno.readFileSync(own(file)), file);
    assert.equal(picked.name, "csv", file);
    await expectRejects(picked, fileInput(own(file)), re);
  }
  const tsv = await detectFormat(Deno.readFileSync(own("tab_utf8_bom.tsv")), "tab_utf8_bom.tsv");
  assert.equal((await convertValid(tsv, fileInput(own("tab_utf8_bom.tsv"))))[0].sn, "T-1");
});

Deno.test("csv: fuzz", async () => {
  const seeds = [
    "kv_decimal_comma_crlf.csv",
    "rows_two_serials.csv",
    "append_blocks.csv",
    "tab_utf8_bom.tsv",
  ].map((f) => Deno.readFileSync(own(f)));
  const stats = await fuzzConverter(converter, seeds, {
    params: { decimalSeparator: ",", dateOrder: "dmy", partNumber: "PN", badRows: "skip" },
  });
  assert.ok(stats.converted > 0, "some fuzz cases should still convert");
  assertFuzzStats(
    await fuzzConverter(converter, seeds.slice(1, 3), { params: { dateOrder: "mdy" }, cases: 150 }),
  );
});

Deno.test("csv: a 100,000-column header row is mapped without recomputing names per field", async () => {
  const header = Array.from({ length: 100_000 }, (_, i) => "Col" + i).join(",");
  const text = `SerialNumber,Value,Col3\r\nSN-1,1.5,x\r\n${header}\r\n`;
  await assert.rejects(
    async () => await converter.convert(convertInput(text, "w.csv", {})),
    ConversionError,
  );
});
