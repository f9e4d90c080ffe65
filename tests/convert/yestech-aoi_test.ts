/**
 * Tests of the `yestech-aoi` converter: the real sample in shared/fixtures/stations/
 * yestech-aoi-txt, synthetic boards in tests/fixtures/convert/yestech-aoi/ (written for these
 * tests), broken files, re-encodings, a large defect list and a fuzz run.
 */
import assert from "#assert";
import type { ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/yestech-aoi.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import {
  convertValid,
  fromLatin1,
  latin1,
  leaves,
  rejects as expectRejects,
  step,
  toLf,
  withoutId,
} from "./_convert.ts";
import { crlf, utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";
import { detectScore } from "./_detect.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);
const own = (name: string) => Deno.readFileSync(ownFixture("convert", "yestech-aoi", name));
const ownText = (name: string) => new TextDecoder().decode(own(name));
const sample = () => sharedFixture("stations", "yestech-aoi-txt", "ex01.txt")!;

Deno.test({
  name: "yestech-aoi: the real sample is one passed board with 8 false calls",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convert(fileInput(sample()));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "V102508400582DB828853020");
    assert.equal(r.result, "P");
    assert.equal(r.pn, "RSA INV Control Board bot"); // the recipe file name
    assert.equal(r.uut?.user, "a");
    assert.equal(r.machineName, "AOI-4330");
    assert.equal(r.uut?.testSocketIndex, 2); // PanelizedBoardID
    assert.equal(r.start, "2025-03-26T15:14:58+01:00"); // 03/26/25: month first, CET
    assert.deepEqual(r.root?.seqCall, {
      path: "C:\\AOI_DATA64\\Recipe\\RSA INV Control Board bot.rcp64",
      name: "RSA INV Control Board bot",
      version: "1.0.0",
    });
    assert.deepEqual(r.miscInfos, [
      { description: "Side", text: "Top" },
      { description: "Work order", text: "E1234" },
      { description: "Boards per panel", text: "2" },
      { description: "YESTech report format", text: "FMT3 version 5" },
    ]);
    assert.deepEqual(r.root?.steps?.map((s) => s.name), ["False Calls"]);
    assert.deepEqual(leaves(r).map((s) => s.name), [
      "GRID_B6",
      "GRID_C6",
      "GRID_C9",
      "GRID_C13",
      "GRID_F11",
      "GRID_H9",
      "GRID_H10",
      "GRID_I9",
    ]);
    for (const s of leaves(r)) {
      assert.equal(s.status, "P");
      assert.deepEqual(s.booleanMeas, [{ status: "P" }]);
      assert.equal(s.reportText, "Defect: Solder\nDefect code: 17\nDisposition: False Call");
    }
    // CRLF and UTF-16 give the same report.
    const text = new TextDecoder().decode(Deno.readFileSync(sample()));
    const [c] = await convert(convertInput(crlf(text), "ex01.txt"));
    assert.deepEqual(withoutId(c), withoutId(r));
    const [w] = await convert(convertInput(utf16le(text), "ex01.txt"));
    assert.deepEqual(withoutId(w), withoutId(r));
  },
});

Deno.test("yestech-aoi: synthetic failed board: Windows-1252, CRLF, dispositions, skipped key and section", async () => {
  const bytes = own("board_fail_crlf.txt");
  const [r] = await convert(convertInput(bytes, "b.txt"));
  assert.equal(r.sn, "SYN-YT-0007");
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "jürgen"); // a Windows-1252 byte
  assert.equal(r.uut?.testSocketIndex, 1);
  // 02:30 on 27 October 2024 happens twice in Oslo: the earlier one (summer time).
  assert.equal(r.start, "2024-10-27T02:30:00+02:00");
  assert.equal(r.pn, "Ctrl Board top");
  assert.deepEqual(
    r.root?.steps?.map((s) => [s.name, s.status, s.steps?.map((c) => [c.name, c.status])]),
    [
      ["Failed", "F", [["U12", "F"], ["R4", "F"], ["C5", "F"]]],
      ["False Calls", "P", [["GRID_A1", "P"]]],
    ],
  );
  assert.equal(
    step(r, "R4").reportText,
    "Defect: Tombstone\nDefect code: 9\nDisposition: not reviewed",
  );
  assert.equal(
    step(r, "C5").reportText,
    "Defect: Polarity Reversed\nDefect code: 21\nDisposition: Repaired",
  );
  assert.deepEqual(
    r.miscInfos?.filter((m) => m.description === "Conversion warning").map((m) => m.text),
    [
      'line 12: unknown key "Conveyor" skipped',
      "line 20: section [FilmThicknessMeasurement] (1 line) skipped",
    ],
  );
  // The same board as UTF-8 with LF converts the same.
  const [lf] = await convert(convertInput(fromLatin1(toLf(bytes)), "b.txt"));
  assert.deepEqual(withoutId(lf), withoutId(r));
  // Day first when the machine writes it so.
  const dayFirst = fromLatin1(bytes).replace("10/27/24", "27/10/24");
  const [dmy] = await convert(convertInput(latin1(dayFirst), "b.txt", { dateOrder: "dmy" }));
  assert.equal(dmy.start, r.start);
});

Deno.test("yestech-aoi: a board without a defect list", async () => {
  const [r] = await convert(convertInput(own("board_no_defects.txt"), "b.txt"));
  assert.equal(r.sn, "SYN-YT-0008");
  assert.equal(r.result, "P");
  assert.equal(r.root?.steps, undefined);
  assert.equal(r.uut?.testSocketIndex, 2);
  assert.equal(r.miscInfos?.some((m) => m.description === "Work order"), false);
  const [p] = await convert(
    convertInput(own("board_no_defects.txt"), "b.txt", {
      partNumberFrom: "parameter",
      partNumber: "PCB-1",
    }),
  );
  assert.equal(p.pn, "PCB-1");
});

Deno.test("yestech-aoi: unknown verdicts are errors naming the word, never passes", async () => {
  const base = ownText("board_no_defects.txt");
  await rejects(
    convertInput(base.replace("TestStatus= PASS", "TestStatus= REVIEW"), "b.txt"),
    /line 11: unknown TestStatus "REVIEW".*statusWords/,
  );
  const [mapped] = await convert(
    convertInput(base.replace("TestStatus= PASS", "TestStatus= REVIEW"), "b.txt", {
      statusWords: { review: "F" },
    }),
  );
  assert.equal(mapped.result, "F");
  const list = `${base}[DefectList]\nU1 Missing DCode=3 Operator Review\n[EndDefectList]\n`;
  await rejects(
    convertInput(list, "b.txt"),
    /line 13: unknown defect disposition "Operator Review"/,
  );
  const [ok] = await convert(
    convertInput(list, "b.txt", { statusWords: { "operator review": "P" } }),
  );
  assert.equal(step(ok, "U1").status, "P");
});

Deno.test("yestech-aoi: broken structure is an error naming the line", async () => {
  const base = ownText("board_no_defects.txt");
  const withList = `${base}[DefectList]\nU1 Missing DCode=3 Defect\n[EndDefectList]\n`;
  await rejects(convertInput(`x${base}`, "b.txt"), /line 1 is "x\.YES_TESTRPT_FMT3"/);
  await rejects(
    convertInput(base.replace("Side=      Top", "Side Top"), "b.txt"),
    /line 5: "Side Top" is not a Key=value header line/,
  );
  await rejects(
    convertInput(base.replace(/SerialNum=.*\n/, ""), "b.txt"),
    /no SerialNum= value in the header/,
  );
  await rejects(
    convertInput(base.replace("03/26/25", "26/03/25"), "b.txt"),
    /line 7: DateTime "26\/03\/25 09:00:00" is not a date.*dateOrder/,
  );
  await rejects(
    convertInput(withList.replace("DCode=3 ", ""), "b.txt"),
    /line 13: defect row "U1 Missing Defect" is not <component> <type> DCode/,
  );
  await rejects(
    convertInput(withList.replace("[EndDefectList]\n", ""), "b.txt"),
    /\[DefectList\] opened on line 12 is not closed.*cut off/,
  );
  await rejects(
    convertInput(withList.replace("[EndDefectList]", "[Other]"), "b.txt"),
    /line 14: \[Other\] inside \[DefectList\]/,
  );
  await rejects(
    convertInput(`${base}[EndDefectList]\n`, "b.txt"),
    /line 12: \[EndDefectList\] closes a section that was not opened/,
  );
  await rejects(convertInput("", "b.txt"), /not a YESTech test report/);
});

Deno.test("yestech-aoi: a large defect list (20,000 calls) and a very long line", async () => {
  const base = ownText("board_no_defects.txt");
  const rows = Array.from(
    { length: 20_000 },
    (_, k) => `C${k} Solder DCode=17 ${k % 1000 === 0 ? "Defect" : "False Call"}`,
  );
  const [r] = await convert(
    convertInput(`${base}[DefectList]\n${rows.join("\n")}\n[EndDefectList]\n`, "big.txt"),
  );
  assert.equal(leaves(r).length, 20_000);
  assert.equal(leaves(r).filter((s) => s.status === "F").length, 20);
  // A defect row of 300,000 spaces and words is read in linear time (no regex backtracking).
  const long = `U1 ${"a ".repeat(150_000)}DCode=1 Defect`;
  const [l] = await convert(
    convertInput(`${base}[DefectList]\n${long}\n[EndDefectList]\n`, "long.txt"),
  );
  assert.equal(leaves(l)[0].name, "U1");
});

Deno.test({
  name: "yestech-aoi: detect",
  ...needsSharedFixtures,
  fn() {
    const d = (text: string | Uint8Array, name = "x.txt") => detectScore(converter, text, name);
    assert.equal(d(Deno.readFileSync(sample())), 0.95);
    assert.equal(d(own("board_fail_crlf.txt")), 0.95);
    assert.equal(d(utf16le(ownText("board_no_defects.txt"))), 0.95);
    assert.equal(d("\uFEFF\r\n.YES_TESTRPT_FMT3\r\n"), 0.95);
    assert.equal(d(".YES_TESTRPT_FMT4\n"), 0.8);
    assert.equal(d("Version= 5\n.YES_TESTRPT_FMT3\n"), 0);
    assert.equal(d("SerialNumber;1"), 0);
  },
});

Deno.test({
  name: "yestech-aoi: fuzz",
  ...needsSharedFixtures,
  async fn() {
    const stats = await fuzzConverter(converter, [
      Deno.readFileSync(sample()),
      own("board_fail_crlf.txt"),
      own("board_no_defects.txt"),
    ], { name: "board.txt" });
    assertFuzzStats(stats);
    assert.equal(stats.reports, stats.converted); // one report per converted board
  },
});
