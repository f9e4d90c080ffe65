/**
 * Tests of the `teradyne-spectrum` converter: the real sample (shared fixtures), a synthetic
 * datalog in tests/fixtures/convert/teradyne-spectrum/ (written for these tests: CRLF, two
 * boards, a failing resistor, per-value SCALEs, two INTC results, a wrapped quoted value, a path
 * with parentheses), the record reader, errors and a fuzz run.
 */
import assert from "#assert";
import { type ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/teradyne-spectrum.ts";
import { parseSExpr, SExprError } from "../../src/convert/converters/teradyne-spectrum/sexpr.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaf as find, leaves, rejects as expectRejects } from "./_convert.ts";
import { convertInput, fileInput } from "./_station.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);

const OWN = ownFixture("convert", "teradyne-spectrum", "syn_ict.txt");

Deno.test({
  name: "teradyne-spectrum: real sample (one board, 508 steps)",
  ...needsSharedFixtures,
  async fn() {
    const file = sharedFixture("stations", "teradyne-spectrum-ict", "sample_ict_data.txt")!;
    const [r, ...more] = await convert(fileInput(file));
    assert.equal(more.length, 0);
    assert.equal(r.sn, "1111111111"); // (USER:  Serialnumber:1111111111)
    assert.equal(r.pn, "PB3187900"); // (PROGRAM_NAME: "PB3187900")
    assert.equal(r.result, "P"); // (USER:  STATUS: BOARD PASSED)
    assert.equal(r.uut?.user, "1234567");
    assert.equal(r.start, "2023-02-09T16:44:11+01:00"); // first STEP TIME, MM/dd
    assert.equal(r.uut?.execTime, 27); // last STEP TIME 16:44:38
    assert.ok(r.miscInfos?.some((m) => m.description === "CustomerSerialnumber"));
    // 11 SECTION_NAME records → 11 sequences; 508 STEPs with 519 PAGEs: a step with several
    // pages (START) is a sequence of its pages, so there is one leaf step per page.
    assert.equal(r.root?.steps?.length, 11);
    assert.equal(leaves(r).length, 519);
    assert.ok(leaves(r).every((s) => s.status === "P"));
    // CAP[C1]: LOLIM 3.64 n, MEASVAL 4.6900024 n, HILIM 5.76 n (F)
    assert.deepEqual(find(r, "CAP[C1]").numericMeas, [{
      compOp: "GELE",
      status: "P",
      value: 4.6900024e-9,
      unit: "F",
      lowLimit: 3.64e-9,
      highLimit: 5.76e-9,
    }]);
    assert.match(find(r, "CAP[C1]").reportText!, /Nominal: 4\.6999993 nF/);
    // JUMPER[L3]: HILIM 5 O, MEASVAL 1.4330307 O → LE
    assert.deepEqual(find(r, "JUMPER[L3]").numericMeas, [
      { compOp: "LE", status: "P", value: 1.4330307, unit: "Ω", lowLimit: 5 },
    ]);
    // DISCHARGE[C118_DCG]: only HILIM 30 mV, no measured value → pass/fail with the limit.
    const dis = find(r, "DISCHARGE[C118_DCG]");
    assert.equal(dis.stepType, "ET_PFT");
    assert.match(dis.reportText!, /Limits: - … 30 mV/);
  },
});

Deno.test("teradyne-spectrum: synthetic datalog: two boards, failure, scales, multi results", async () => {
  const [a, b] = await convert(fileInput(OWN));
  assert.equal(a.sn, "SYN-SP-1");
  assert.equal(a.result, "F");
  assert.equal(a.uut?.user, "op-7");
  assert.equal(a.start, "2024-10-03T14:00:00+02:00");
  assert.deepEqual(a.miscInfos, [
    { description: "Subprogram", text: "Sub-A" },
    { description: "Line", text: "L2" },
  ]);
  const r1 = find(a, "RES[R1]");
  assert.equal(r1.status, "F");
  // 9.9 k / 10.5 k / 10100 (no scale): all in ohms.
  assert.deepEqual(r1.numericMeas, [
    { compOp: "GELE", status: "F", value: 10500, unit: "Ω", lowLimit: 9900, highLimit: 10100 },
  ]);
  assert.equal(r1.reportText, "RESISTOR 10k TOP\nNominal: 10 kΩ\nMEAS: N1 (#1)"); // wrapped DESC
  assert.deepEqual(find(a, "JUMPER[J1]").numericMeas?.map((m) => [m.name, m.value]), [
    ["A - B", 0.12],
    ["C - D", 1.5],
  ]);
  assert.equal(find(a, "START").reportText, "C:\\Program Files (x86)\\Teradyne\\init.bat");
  assert.equal(b.sn, "SYN-SP-2");
  assert.equal(b.result, "P");
  assert.equal(find(b, "CAP[C9]").numericMeas?.[0].value, 4.7e-6);
  assert.notEqual(a.id, b.id);

  const [d] = await convert(fileInput(OWN, { dateOrder: "dmy" }));
  assert.equal(d.start, "2024-03-10T14:00:00+01:00");
  const [p] = await convert(fileInput(OWN, { partNumberFromProgram: false, partNumber: "PN-9" }));
  assert.equal(p.pn, "PN-9");
  // The first board alone (the file before the second board was appended) keeps its id.
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const firstOnly = text.slice(0, text.lastIndexOf('(PROGRAM_NAME: "SYN-PROG-7")'));
  assert.deepEqual((await convert(convertInput(firstOnly, "x.txt")))[0], a);
  // A board that has only begun (no steps yet) is left out.
  assert.equal((await convert(convertInput(text + '(PROGRAM_NAME: "X")\r\n', "x.txt"))).length, 2);
  // LF line ends give the same reports.
  const lf = new TextDecoder().decode(Deno.readFileSync(OWN)).replaceAll("\r\n", "\n");
  assert.deepEqual((await convert(convertInput(lf, "x.txt")))[1].root, b.root);
});

Deno.test("teradyne-spectrum: record reader", () => {
  const [n] = parseSExpr('(A: x (B: "q (1)") (C: C:\\P (x86)\\y) tail)');
  assert.equal(n.key, "A");
  assert.equal(n.text, "x   tail"); // the text around the child records, as written
  assert.deepEqual(n.children.map((c) => [c.key, c.text]), [["B", "q (1)"], [
    "C",
    "C:\\P (x86)\\y",
  ]]);
  assert.throws(
    () => parseSExpr("(A: (B: 1)\n"),
    (e: unknown) => e instanceof SExprError && e.line === 1,
  );
  assert.throws(() => parseSExpr("(A: 1))"), SExprError);
  assert.throws(() => parseSExpr('(A: "open\n'), SExprError);
});

Deno.test("teradyne-spectrum: errors", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const cut = text.indexOf("(STEP:", text.indexOf("(STEP:") + 1) + 10;
  await rejects(
    convertInput(text.slice(0, cut), "t.txt"),
    /line 22: the file ends inside the \(STEP: record opened on line 22/,
  );
  await rejects(
    convertInput(text.replace("SerialNumber:SYN-SP-1", "Board:SYN-SP-1"), "t.txt"),
    /board 1 .*has no \(USER: Serialnumber.*serialKeys/s,
  );
  const [r] = await convert(
    convertInput(text.replace("SerialNumber:SYN-SP-1", "Board:SYN-SP-1"), "t.txt", {
      serialKeys: ["Board", "Serialnumber"],
    }),
  );
  assert.equal(r.sn, "SYN-SP-1");
  await rejects(
    convertInput(text.replace("(STAT: FAIL)", "(STAT: WOBBLY)"), "t.txt"),
    /unknown STAT "WOBBLY".*statusWords/s,
  );
  const [w] = await convert(
    convertInput(text.replace("(STAT: FAIL)", "(STAT: WOBBLY)"), "t.txt", {
      statusWords: { WOBBLY: "F" },
    }),
  );
  assert.equal(w.result, "F");
  await rejects(
    convertInput(text.replace("10/03/2024 14:00:05", "99/99/2024 14:00:05"), "t.txt"),
    /STEP TIME "99\/99\/2024 14:00:05" is not a date/,
  );
  await rejects(convertInput("hello (world)\n", "t.txt"), /not a Spectrum datalog/);
  await rejects(convertInput(text, "t.txt", { dateOrder: "ymd" }), /dateOrder/);
});

Deno.test("teradyne-spectrum: unknown records and stray text are skipped with warnings", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN));
  const at = text.indexOf("(SECTION_NAME:");
  const edited = text.slice(0, at) + "(NEW_RECORD: 7)\r\nstray words\r\n(USER: no key here)\r\n" +
    text.slice(at);
  const warnings: string[] = [];
  const [r] = await convert({ ...convertInput(edited, "t.txt"), warn: (m) => warnings.push(m) });
  const [plain] = await convert(convertInput(text, "t.txt"));
  // Stray text between records does not change the board's id.
  const strayOnly = text.slice(0, at) + "stray words\r\n" + text.slice(at);
  assert.equal((await convert(convertInput(strayOnly, "t.txt")))[0].id, plain.id);
  assert.equal(r.result, plain.result);
  assert.equal(warnings.length, 3, warnings.join("\n"));
  assert.match(warnings.join("\n"), /unknown record \(NEW_RECORD: …\) skipped/);
  assert.match(warnings.join("\n"), /text outside any record skipped: "stray words"/);
  assert.match(warnings.join("\n"), /\(USER: no key here\) has no "key:"/);
  const notes = r.miscInfos!.filter((m) => m.description === "Conversion warning");
  assert.deepEqual(notes.map((m) => m.text), warnings);
  // A board status that is not a plain pass or fail is an error, never a pass.
  await rejects(
    convertInput(
      text.replace(/\(USER: *STATUS: *BOARD (PASSED|FAILED)/, "(USER: STATUS: BOARD NOT PASSED"),
      "t.txt",
    ),
    /unknown board status "BOARD NOT PASSED"/,
  );
});

Deno.test("teradyne-spectrum: detect", () => {
  const d = (s: string) => converter.detect!({ head: new TextEncoder().encode(s), name: "x.txt" });
  assert.equal(d('(PROGRAM_NAME: "PB1")\n'), 0.9);
  assert.equal(d("(STEP:\n"), 0.6);
  assert.equal(d("{@BATCH|"), 0);
});

Deno.test("teradyne-spectrum: fuzz", async () => {
  assertFuzzStats(await fuzzConverter(converter, [Deno.readFileSync(OWN)]));
});
