/**
 * Tests of the `teradyne-gr228x` converter: the real sample (shared fixtures), a synthetic log
 * in tests/fixtures/convert/teradyne-gr228x/ (written for these tests: CRLF, a leading empty
 * line, WATS_ lines, a panel position, M/MEG prefixes, a continued node list, an error end, a
 * board without end marker), append-mode id stability, and a fuzz run.
 */
import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/teradyne-gr228x.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaf as find, leaves } from "./_convert.ts";
import { convertInput, fileInput } from "./_station.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);

const OWN = ownFixture("convert", "teradyne-gr228x", "7788_MAIN.LOG");

Deno.test({
  name: "teradyne-gr228x: real sample, 3 boards (aborted, failed, passed)",
  ...needsSharedFixtures,
  async fn() {
    const file = sharedFixture("stations", "teradyne-gr228x-log", "43420_BIO2.LOG")!;
    const reports = await convert(fileInput(file));
    assert.deepEqual(reports.map((r) => [r.sn, r.result]), [
      ["65428553938829725787", "T"], // ?31-JUL-12: aborted after fixture-contact failures
      ["24422984989544535753", "F"], // /31-JUL-12
      ["42842937739687688567", "P"], // "31-JUL-12
    ]);
    for (const r of reports) {
      assert.equal(r.pn, "43420"); // from the program name 43420_BIO2.obc
      assert.equal(r.processCode, 30);
      assert.equal(r.root?.seqCall?.path, "F:\\BOARDS\\43420_BIO2_PROGRAM\\43420_BIO2.obc");
    }
    const [aborted, failed, passed] = reports;
    assert.equal(aborted.start, "2012-07-31T14:18:51+02:00");
    assert.equal(aborted.uut?.execTime, 2);
    assert.deepEqual(leaves(aborted).map((s) => [s.name, s.status, s.reportText]), [
      ["CONTACT fixture failed", "F", "Nodes: 300,301,303"],
      [
        "CONTACT fixture failed",
        "F",
        "Nodes: 90,156,172,176,186,187,189,200,201,202,204,237,238,239,248,254,255,256",
      ],
    ]);
    assert.equal(find(failed, "OPENS test failed").reportText, "Nodes: 397,398");
    assert.equal(leaves(failed).length, 27);
    assert.equal(leaves(passed).length, 31);
    assert.equal(failed.uut?.execTime, 17); // 14:19:32 → 14:19:49
    // "R508=100.20007K(92.919K,105.131K)R": K applied to value and limits.
    assert.deepEqual(find(failed, "R508(R)").numericMeas, [
      {
        compOp: "GELE",
        status: "P",
        value: 100200.07,
        unit: "Ω",
        lowLimit: 92919,
        highLimit: 105131,
      },
    ]);
    // "R402=45.131532MEG(500K,)R": MEG is mega, no high limit → GE.
    assert.deepEqual(find(failed, "R402(R)").numericMeas, [
      { compOp: "GE", status: "P", value: 45131532, unit: "Ω", lowLimit: 500000 },
    ]);
    // "V230=520.747483M(474.999994M,954.999983M)V": M is milli.
    assert.deepEqual(find(failed, "V230(V)").numericMeas?.[0].value, 0.520747483);
    // "R211#10.636159(,)R": informational → logged, Done.
    const info = find(failed, "R211(R)");
    assert.equal(info.status, "D");
    assert.deepEqual(info.numericMeas, [{
      compOp: "LOG",
      status: "P",
      value: 10.636159,
      unit: "Ω",
    }]);
    // Groups change with the first letter of the reference, like Virinco's converter.
    assert.deepEqual(passed.root?.steps?.map((s) => s.name), [
      "R-Group1",
      "C-Group1",
      "V-Group1",
      "K-Group1",
      "D-Group1",
      "P-Group1",
    ]);
  },
});

Deno.test("teradyne-gr228x: synthetic log (CRLF, WATS_ lines, panel, prefixes, ends)", async () => {
  const reports = await convert(fileInput(OWN));
  // SYN-GR-5 has no end marker and is last: still being tested, left for the next conversion.
  assert.deepEqual(reports.map((r) => [r.sn, r.result]), [
    ["SYN-GR-1", "F"],
    ["SYN-GR-2", "E"], // '*' end
    ["SYN-GR-3", "T"], // next board started without an end marker
    ["SYN-GR-4", "P"],
  ]);
  const [a, , c] = reports;
  assert.equal(a.pn, "PN-7788");
  assert.equal(a.rev, "B");
  assert.equal(a.uut?.user, "Kari");
  assert.equal(a.machineName, "ICT-LINE2");
  assert.equal(a.uut?.testSocketIndex, 1); // TOP_OF_LOOP-B
  assert.equal(a.start, "2024-03-05T08:01:10+01:00");
  assert.equal(a.uut?.execTime, 30);
  assert.equal(reports[1].pn, "7788"); // no WATS_partNumber in board 2: program name
  assert.deepEqual(find(a, "R11(R)").numericMeas, [
    { compOp: "GELE", status: "F", value: 950.2, unit: "Ω", lowLimit: 1000, highLimit: 1200 },
  ]);
  assert.equal(find(a, "V1(DC)").status, "F"); // '%' op
  assert.equal(find(a, "C5(CP)").numericMeas?.[0].value, 1.005e-7);
  assert.equal(find(a, "R12(R)").numericMeas?.[0].value, 3_300_000);
  assert.deepEqual([find(a, "U7_PINS").status, find(a, "U8_PINS").status], ["P", "F"]);
  assert.equal(find(a, "SHORTS test failed").reportText, "Nodes: 12,14,15,17,21");
  assert.ok(c.miscInfos?.some((m) => m.description === "End record"));

  // partNumber parameter wins over the program name, not over WATS_partNumber.
  const withPn = await convert(fileInput(OWN, { partNumber: "CFG-PN" }));
  assert.deepEqual(withPn.map((r) => r.pn), ["PN-7788", "CFG-PN", "CFG-PN", "CFG-PN"]);
});

Deno.test("teradyne-gr228x: ids stay the same as the log grows (append mode)", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const full = await convert(convertInput(text, "7788_MAIN.LOG"));
  const cut = text.indexOf("@05-MAR-24  08:02:00");
  const early = await convert(convertInput(text.slice(0, cut), "7788_MAIN.LOG"));
  assert.equal(early.length, 1);
  assert.equal(early[0].id, full[0].id);
  // LF instead of CRLF: the same boards, the same ids.
  const lf = await convert(convertInput(text.replaceAll("\r\n", "\n"), "7788_MAIN.LOG"));
  assert.deepEqual(lf.map((r) => r.id), full.map((r) => r.id));
  // Two identical boards in one file still get different ids.
  const board = '@05-MAR-24  08:02:00 SN X\nR1=1(0,2)R\n"05-MAR-24  08:02:01\n';
  const twice = await convert(convertInput(board + board, "t.LOG", { partNumber: "P" }));
  assert.equal(new Set(twice.map((r) => r.id)).size, 2);
});

Deno.test("teradyne-gr228x: not a GR228x log, bad dates, detect", async () => {
  for (
    const [text, re] of [
      ["{@BATCH|x}\n", /not a GR228x datalog.*\{@BATCH/],
      ["@31-XYZ-12  14:18:51 SN 1\n", /line 1: "31-XYZ-12 {2}14:18:51" is not a date/],
      ["@31-FEB-12  14:18:51 SN 1\n", /line 1: "31-FEB-12 {2}14:18:51" is not a date/],
    ] as const
  ) {
    await assert.rejects(
      async () => await converter.convert(convertInput(text, "x.LOG", { partNumber: "P" })),
      (e: unknown) => e instanceof ConversionError && re.test(e.message),
    );
  }
  const d = (s: string) => converter.detect!({ head: new TextEncoder().encode(s), name: "x.LOG" });
  assert.equal(d("\nF:\\B\\1_X.obc[31-JUL-12  14:17:35\n"), 0.9);
  assert.equal(d("@31-JUL-12  14:18:51 SN 1\n"), 0.6);
  assert.equal(d("FORMAT;mmdd\n"), 0);
});

Deno.test("teradyne-gr228x: fuzz", async () => {
  assertFuzzStats(
    await fuzzConverter(converter, [Deno.readFileSync(OWN)], { params: { partNumber: "P" } }),
  );
});

Deno.test("teradyne-gr228x: lines it can't read are skipped with warnings", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const edited = text
    .replace("C5=100.5N(90N,110N)CP", "C5=100.5N(90N,110N)CP\r\n%%% garbled line %%%")
    .replace("V1%5.31", `${"X".repeat(5000)}\r\nV1%5.31`)
    .replace("@05-MAR-24  08:02:00", "/05-MAR-24  08:01:50\r\n@05-MAR-24  08:02:00");
  const warnings: string[] = [];
  const reports = await convert({
    ...convertInput(edited, "7788_MAIN.LOG"),
    warn: (m) => warnings.push(m),
  });
  const plain = await convert(convertInput(text, "7788_MAIN.LOG"));
  assert.deepEqual(reports.map((r) => [r.sn, r.result]), plain.map((r) => [r.sn, r.result]));
  assert.deepEqual(warnings, [
    'line 12: not a record of this format, skipped: "%%% garbled line %%%"',
    "line 13: 5000 characters, longer than any record; skipped",
    "line 22: end marker without a board start; skipped",
  ]);
  const notes = (i: number) =>
    reports[i].miscInfos!.filter((m) => m.description === "Conversion warning").map((m) => m.text);
  assert.deepEqual(notes(0), warnings);
  assert.deepEqual(notes(1), []);
});
