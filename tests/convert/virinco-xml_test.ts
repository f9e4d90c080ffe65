/**
 * Tests of the `virinco-xml` converter: the real sample in shared/fixtures/stations/
 * virinco-example-xml, a synthetic report in tests/fixtures/convert/virinco-xml/ (written for
 * these tests), broken files, re-encodings, a large report and a fuzz run.
 */
import assert from "#assert";
import type { ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/virinco-xml.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import {
  convertValid,
  latin1,
  leaves,
  rejects as expectRejects,
  step,
  withoutId,
} from "./_convert.ts";
import { crlf, utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";
import { detectScore } from "./_detect.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);
const own = () => Deno.readFileSync(ownFixture("convert", "virinco-xml", "report_crlf.xml"));
const ownText = () => new TextDecoder().decode(own()).replace(/^\uFEFF/, "");
const sample = () => sharedFixture("stations", "virinco-example-xml", "XMLReport.xml")!;

Deno.test({
  name: "virinco-xml: the real sample is one failed unit (Main/Test2 below its limit)",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convert(fileInput(sample()));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "12345");
    assert.equal(r.pn, "Part1");
    assert.equal(r.rev, "1.0");
    assert.equal(r.processCode, 50);
    assert.equal(r.uut?.user, "Ragnar");
    assert.equal(r.uut?.execTime, 20.5);
    assert.equal(r.start, "2017-04-20T12:01:30+02:00"); // CEST
    assert.equal(r.result, "F");
    assert.deepEqual(
      r.root?.steps?.map((s) => [s.name, s.status, s.steps?.map((c) => [c.name, c.status])]),
      [
        ["Startup", "P", [["Test1", "P"], ["Test2", "P"]]],
        ["Main", "F", [["Test1", "P"], ["Test2", "F"], ["Software version", "P"], [
          "LED ok",
          "P",
        ]]],
      ],
    );
    const main = r.root!.steps![1];
    assert.deepEqual(main.steps![1].numericMeas, [
      { compOp: "GELE", status: "F", value: 300.88, unit: "A", lowLimit: 310, highLimit: 400 },
    ]);
    assert.deepEqual(main.steps![2].stringMeas, [
      { compOp: "IGNORECASE", status: "P", value: "3.4", limit: "3.4" },
    ]);
    assert.equal(main.steps![3].stepType, "ET_PFT"); // Measure="True" passes
    assert.equal(r.miscInfos, undefined); // nothing skipped
    // CRLF and UTF-16 (BOM) give the same report.
    const text = new TextDecoder().decode(Deno.readFileSync(sample())).replace(/^\uFEFF/, "");
    const [c] = await convert(convertInput(crlf(text), "x.xml"));
    assert.deepEqual(withoutId(c), withoutId(r));
    const [w] = await convert(convertInput(utf16le(text), "x.xml"));
    assert.deepEqual(withoutId(w), withoutId(r));
  },
});

Deno.test("virinco-xml: synthetic report: one-sided limits, nested sequence, skipped elements", async () => {
  const [r] = await convert(convertInput(own(), "r.xml"));
  assert.equal(r.sn, "VX-0001");
  assert.equal(r.rev, "B");
  assert.equal(r.processCode, 20);
  assert.equal(r.uut?.user, "Åse");
  assert.equal(r.uut?.execTime, 12.25);
  // 02:30 on 27 October 2024 happens twice in Oslo: the earlier one (summer time).
  assert.equal(r.start, "2024-10-27T02:30:00+02:00");
  assert.equal(r.result, "F");
  const meas = (name: string) => step(r, name).numericMeas![0];
  assert.deepEqual(meas("Leakage"), {
    compOp: "LE",
    status: "P",
    value: 0.002,
    unit: "A",
    lowLimit: 0.01,
  });
  assert.deepEqual(meas("Temp"), {
    compOp: "GE",
    status: "P",
    value: 41.5,
    unit: "°C",
    lowLimit: -10,
  });
  assert.deepEqual(meas("Noise"), { compOp: "LOG", status: "P", value: 0.0005 });
  assert.equal(step(r, "Rails").status, "F"); // V5 5.6 > 5.25
  assert.equal(step(r, "Power").status, "F");
  assert.deepEqual(step(r, "Firmware").stringMeas![0].status, "P"); // case ignored
  assert.deepEqual(step(r, "Board name").stringMeas, [
    { compOp: "LOG", status: "P", value: "ctrl" },
  ]);
  assert.equal(step(r, "LED green").status, "P");
  assert.equal(step(r, "LED red").status, "F");
  assert.equal(leaves(r).length, 9);
  assert.deepEqual(r.miscInfos?.map((m) => m.text), [
    "line 12: unknown header element <Fixture> skipped",
    "line 28: unknown test element <ChartTest> skipped",
    "line 30: unknown element <Summary> in <TestReport> skipped",
  ]);
  // Same report in Windows-1252 without a BOM, declared as such.
  const cp = ownText().replace('encoding="utf-8"', 'encoding="windows-1252"');
  const [w] = await convert(convertInput(latin1(cp), "r.xml"));
  assert.deepEqual(withoutId(w), withoutId(r));
});

Deno.test("virinco-xml: parameters fill what the header lacks; decimal comma", async () => {
  const bare = ownText().replace(/<PartNumber>.*<\/PartNumber>/, "").replace(
    /<OperationTypeCode>.*<\/OperationTypeCode>/,
    "",
  );
  await rejects(convertInput(bare, "r.xml"), /no part number.*partNumber/);
  const [p] = await convert(
    convertInput(bare, "r.xml", { partNumber: "PN-X", processCode: 70, sequenceName: "Seq" }),
  );
  assert.equal(p.pn, "PN-X");
  assert.equal(p.processCode, 70);
  assert.equal(p.root?.seqCall?.name, "Seq");
  const comma = ownText().replace('Measure="3.31"', 'Measure="3,31"');
  await rejects(convertInput(comma, "r.xml"), /Measure "3,31" is not a number.*decimalSeparator/);
  const [c] = await convert(convertInput(comma, "r.xml", { decimalSeparator: "," }));
  assert.equal(step(c, "Vcc").numericMeas![0].value, 3.31);
});

Deno.test("virinco-xml: broken structure is an error naming the element and line", async () => {
  const base = ownText();
  await rejects(
    convertInput(base.replace(' Measure="3.31"', ""), "r.xml"),
    /<NumericTest> on line 15 has no Measure attribute/,
  );
  await rejects(
    convertInput(base.replace('Measure="true"', 'Measure="maybe"'), "r.xml"),
    /<PassFailTest> on line 26: Measure "maybe" is neither True nor False/,
  );
  await rejects(
    convertInput(base.replace(' Measure="ctrl"', ""), "r.xml"),
    /<StringTest> on line 25 has no Measure attribute/,
  );
  await rejects(
    convertInput(base.replace('LowLim="3.2"', 'LowLim="low"'), "r.xml"),
    /<NumericTest> on line 15: LowLim "low" is not a number/,
  );
  await rejects(
    convertInput(base.replace("2024-10-27 02:30:00", "27.10.2024"), "r.xml"),
    /<StartDate> on line 8: "27\.10\.2024" is not a date and time/,
  );
  await rejects(
    convertInput(base.replace(/<StartDate>.*<\/StartDate>/, ""), "r.xml"),
    /<StartDate> \(in <Header> on line 4\) is missing or empty/,
  );
  await rejects(
    convertInput(base.replace("12.25", "12 s"), "r.xml"),
    /<ExecutionTime> on line 9: "12 s" is not a number of seconds/,
  );
  await rejects(
    convertInput(base.replace(">20<", ">T20<"), "r.xml"),
    /<OperationTypeCode> on line 10: "T20" is not a process code/,
  );
  await rejects(
    convertInput(base.replace(/<SerialNumber>.*<\/SerialNumber>/, ""), "r.xml"),
    /no serial number/,
  );
  await rejects(
    convertInput(base.replace(/<Header>[^]*<\/Header>/, ""), "r.xml"),
    /<TestReport> on line 3 has no <Header>/,
  );
  await rejects(convertInput(base.slice(0, 600), "r.xml"), /not well-formed XML in r\.xml: line/);
  await rejects(convertInput("<Report/>", "r.xml"), /root is <Report>, expected <TestReport>/);
});

Deno.test("virinco-xml: a large report (200 sequences × 100 tests)", async () => {
  const tests = Array.from(
    { length: 100 },
    (_, k) => `<NumericTest Name="T${k}" Measure="${k}" LowLim="0" HighLim="98" Unit="V"/>`,
  ).join("");
  const seqs = Array.from({ length: 200 }, (_, i) => `<Sequence Name="S${i}">${tests}</Sequence>`)
    .join("\n");
  const xml = `<TestReport><Header><SerialNumber>BIG</SerialNumber><PartNumber>P</PartNumber>` +
    `<StartDate>2025-01-01 10:00:00</StartDate></Header>${seqs}</TestReport>`;
  const [r] = await convert(convertInput(xml, "big.xml"));
  assert.equal(leaves(r).length, 20_000);
  assert.equal(leaves(r).filter((s) => s.status === "F").length, 200); // T99 > 98
  assert.equal(r.result, "F");
});

Deno.test({
  name: "virinco-xml: detect",
  ...needsSharedFixtures,
  fn() {
    const d = (text: string | Uint8Array, name = "x.xml") => detectScore(converter, text, name);
    assert.equal(d(Deno.readFileSync(sample())), 0.85);
    assert.equal(d(own()), 0.85);
    assert.equal(d(utf16le(ownText())), 0.85);
    assert.equal(d("<TestReport><Results/>"), 0.3);
    assert.equal(d('<TestReport xmlns="urn:x"><Header><SerialNumber>'), 0);
    assert.equal(d("<Reports/>"), 0);
  },
});

Deno.test({
  name: "virinco-xml: fuzz",
  ...needsSharedFixtures,
  async fn() {
    const stats = await fuzzConverter(converter, [Deno.readFileSync(sample()), own()], {
      name: "report.xml",
    });
    assertFuzzStats(stats);
    assert.equal(stats.reports, stats.converted);
  },
});
