/**
 * Tests of the `soundcheck` converter: the real US (results, Operator column) and EU (curves,
 * decimal comma, day-first dates) samples in shared/fixtures/stations/listen-soundcheck-txt,
 * the synthetic tests/fixtures/convert/soundcheck/two-serials-retest.txt (CRLF, Max and
 * Min/Max tolerances, a curve with log axes, a retest of the same serial), refusals, format
 * recognition and a fuzz run.
 */
import assert from "#assert";
import { converter } from "../../src/convert/converters/soundcheck.ts";
import { appendModeFormats } from "../../src/convert/converters/mod.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertAutoPicks, assertTakesNoOtherFormat } from "./_detect.ts";
import { fuzzConverter } from "./_fuzz.ts";
import { convertValid, fromLatin1, latin1, leaves, rejects, step, withoutId } from "./_convert.ts";
import { utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";

const US = () =>
  sharedFixture("stations", "listen-soundcheck-txt", "US", "Complete test 7-22-2020 (002).txt")!;
const EU = () =>
  sharedFixture("stations", "listen-soundcheck-txt", "EU", "Data logging example 12-01-2021.txt")!;
const OWN = () => ownFixture("convert", "soundcheck", "two-serials-retest.txt");
const EU_PARAMS = { dateOrder: "dmy", decimalSeparator: "," };

Deno.test({
  name: "soundcheck: real US file: 8 units S/N 13…20, Operator column, results as numeric steps",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convertValid(converter, fileInput(US()));
    assert.deepEqual(
      reports.map((r) => r.sn),
      [13, 14, 15, 16, 17, 18, 19, 20].map((n) => `S/N ${n}`),
    );
    assert.ok(reports.every((r) => r.result === "P" && r.pn === "P/N #12345"));
    assert.ok(reports.every((r) => r.uut?.user === "Rick"));
    assert.equal(new Set(reports.map((r) => r.id)).size, 8);
    const [r] = reports;
    assert.equal(r.start, "2020-07-22T10:22:14+02:00"); // 10:22:14 AM, Oslo summer time
    assert.equal(reports[7].start, "2020-07-22T10:22:29+02:00");
    assert.deepEqual(leaves(r).map((s) => s.name), [
      "Ave Sensitivity",
      "Polarity",
      "Response margin",
      "THD margin",
      "Rub & Buzz margin",
    ]);
    // Max/Min 100.0/90.0 → high 100, low 90.
    assert.deepEqual(step(r, "Ave Sensitivity").numericMeas, [
      { compOp: "GELE", status: "P", value: 95.5, unit: "dB", lowLimit: 90, highLimit: 100 },
    ]);
    // Tolerance curves: no numeric limits; the margin is logged with the file's verdict.
    const thd = step(r, "THD margin");
    assert.deepEqual(thd.numericMeas, [{ compOp: "LOG", status: "P", value: 2, unit: "%" }]);
    assert.equal(thd.status, "P");
    assert.equal(thd.reportText, "Tolerance curves: Absolute Limits");
    // The same file converted again gives the same ids.
    const again = await convertValid(converter, fileInput(US()));
    assert.deepEqual(again.map((x) => x.id), reports.map((x) => x.id));
  },
});

Deno.test({
  name: "soundcheck: real EU file: one unit 2.58.21, curves as charts, decimal comma",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convertValid(converter, fileInput(EU(), EU_PARAMS));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "2.58.21");
    assert.equal(r.pn, "BLR-SC-WATS");
    assert.equal(r.result, "P");
    // The limit curves carry 09:08:35 (when the limits were made); the data 10:45:03.
    assert.equal(r.start, "2021-01-12T10:45:03+01:00");
    assert.deepEqual(leaves(r).map((s) => s.name), [
      "Fundamental Limit Upper Limit",
      "Fundamental Limit Lower Limit",
      "Curve 3",
    ]);
    const upper = step(r, "Fundamental Limit Upper Limit");
    assert.equal(upper.stepType, "WATS_XYGMNLT");
    assert.equal(upper.chart?.chartType, "LineLogX");
    assert.equal(upper.chart?.xUnit, "Hz");
    assert.equal(upper.chart?.yUnit, "dB re 1 V/sqrt(Hz)");
    assert.equal(upper.chart?.series[0].xdata, "100;400;2000;6000;7000;10000");
    assert.equal(upper.chart?.series[0].ydata, "4;6;6;2;0;0");
    const data = step(r, "Curve 3");
    assert.equal(data.chart?.series[0].xdata.split(";").length, 2205);
    assert.equal(data.chart?.series[0].ydata.split(";")[0], "-87.32");
    assert.deepEqual(data.numericMeas?.map((m) => [m.name, m.value]), [
      ["Points", 2205],
      ["Min", -116.74],
      ["Max", -67.9],
    ]);
    // Read with the US defaults, the comma numbers are refused with the parameter named.
    await rejects(converter, fileInput(EU()), /"100,00" is not a number.*"decimalSeparator": ","/s);
  },
});

Deno.test("soundcheck: synthetic: CRLF, Max and Min/Max tolerances, a log-log curve, a retest", async () => {
  const reports = await convertValid(converter, fileInput(OWN()));
  assert.deepEqual(reports.map((r) => [r.sn, r.result, r.start]), [
    ["HS-001", "F", "2020-11-02T16:36:07+01:00"],
    ["HS-002", "P", "2020-11-02T16:37:10+01:00"],
    ["HS-002", "F", "2020-11-02T16:38:00+01:00"], // the retest is a unit of its own
  ]);
  const [a, b, c] = reports;
  assert.deepEqual(step(a, "Noise floor").numericMeas, [
    { compOp: "LE", status: "F", value: -91.5, unit: "dB", lowLimit: -95 }, // LE keeps lowLimit
  ]);
  assert.equal(step(a, "Noise floor").status, "F");
  assert.deepEqual(step(a, "Polarity").numericMeas, [{ compOp: "LOG", status: "P", value: 1 }]);
  const resp = step(a, "Response");
  assert.equal(resp.chart?.chartType, "LineLogXY");
  assert.equal(resp.chart?.yUnit, "dBSPL");
  assert.equal(resp.chart?.series[0].ydata, "80.5;90.25;70");
  // Min/Max -44.0/-40.0 → low -44, high -40.
  assert.deepEqual(step(b, "Sensitivity").numericMeas, [
    { compOp: "GELE", status: "P", value: -41, unit: "dBV", lowLimit: -44, highLimit: -40 },
  ]);
  assert.equal(step(c, "Sensitivity").status, "F");
  assert.equal(new Set(reports.map((r) => r.id)).size, 3);
  // The lot as batch serial instead of part number.
  const [batch] = await convertValid(
    converter,
    fileInput(OWN(), { lotField: "batchSN", partNumber: "HS-PN" }),
  );
  assert.equal(batch.pn, "HS-PN");
  assert.equal(batch.uut?.batchSN, "LOT-7");
  // A unit that grew keeps its id: the first unit, cut after its first result, has the id the
  // whole file gives it.
  const text = new TextDecoder().decode(Deno.readFileSync(OWN()));
  const cut = text.split("\r\n").slice(0, 2).join("\r\n") + "\r\n";
  const [partial] = await convertValid(converter, convertInput(cut, OWN()));
  assert.equal(partial.id, a.id);
  assert.equal(leaves(partial).length, 1);
  assert.ok(appendModeFormats.has("soundcheck"));
});

Deno.test("soundcheck: a file cut short is refused, saying where", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN()));
  const lines = text.split("\r\n");
  const upTo = (n: number) => lines.slice(0, n).join("\r\n") + "\r\n";
  // Cut inside the last row (line 3): no line end.
  await rejects(
    converter,
    convertInput(text.slice(0, text.indexOf("Noise floor") + 5), "cut.txt"),
    /cut\.txt: line 3: the last row has no line end: the file looks cut short/,
  );
  // Cut at a line end after a curve's X row (line 6), before its Y row.
  await rejects(
    converter,
    convertInput(upTo(6), "cut.txt"),
    /line 6: the file ends after the X row of a curve, without its Y row.*cut short/,
  );
  // Cut at the line end after the Y row: the units so far are whole.
  assert.equal((await convertValid(converter, convertInput(upTo(7), "cut.txt"))).length, 1);
});

Deno.test("soundcheck: a block written again is a unit of its own, not merged", async () => {
  const header = "Serial #:\tTime: \tLot #: \tResponse\t\tx data lin\ty data dB\tz data lin\t\t" +
    "x axis log\ty axis lin\tz axis lin\t\tHz\tdB";
  const results = "Serial #:\tTime: \tLot #: \tName\tMargin\tUnit\tResult\tTolerance\tLimits";
  const row = (cells: string) => `SN-1\t1/2/2024 10:00:00 AM\tLOT\t${cells}`;
  const block = [
    results,
    row("Level\t95.5\tdB\tPASS\tMax/Min\t100/90"),
    header,
    row("100\t1000\t10000"),
    row("80\t90\t70"),
  ];
  // The same serial's block twice at the same time (written again): two units, alike.
  const twice = [...block, ...block].join("\r\n") + "\r\n";
  const reports = await convertValid(converter, convertInput(twice, "twice.txt"));
  assert.equal(reports.length, 2);
  assert.deepEqual(
    reports.map((r) => leaves(r).map((s) => s.name)),
    [["Level", "Response"], ["Level", "Response"]],
  );
  const body = (r: (typeof reports)[0]) => ({ ...withoutId(r), root: r.root });
  assert.deepEqual(body(reports[1]), body(reports[0]));
  assert.notEqual(reports[0].id, reports[1].id);
  // A curve block coming again, without a results block in between, is a new unit too.
  const curves = [header, row("1\t2"), row("3\t4"), header, row("1\t2"), row("5\t6")];
  const two = await convertValid(
    converter,
    convertInput(curves.join("\r\n") + "\r\n", "curves.txt"),
  );
  assert.deepEqual(two.map((r) => leaves(r).length), [1, 1]);
  assert.deepEqual(two.map((r) => step(r, "Response").chart?.series[0].ydata), ["3;4", "5;6"]);
});

Deno.test("soundcheck: refusals name the value", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(OWN()));
  const input = (t: string) => convertInput(t, "x.txt");
  await rejects(
    converter,
    input(text.replace("\tFAIL\tMax", "\tMAYBE\tMax")),
    /unknown result "MAYBE"/,
  );
  await rejects(
    converter,
    input(text.replace("\tPASS\t", "\t\t").replace("-42.10", "abc")),
    /margin "abc"/,
  );
  await rejects(
    converter,
    input(text.replace("11/2/2020 4:36:07 PM", "2020-31-31 4:36")),
    /time "2020-31-31 4:36" is not a date.*dateOrder/s,
  );
  await rejects(
    converter,
    input("HS-1\t11/2/2020 4:36:07 PM\tL\tX\t1\n"),
    /before any "Serial #:"/,
  );
  await rejects(
    converter,
    input("Serial #:\tTime: \tLot #: \tName\tMargin\tUnit\tResult\n"),
    /no SoundCheck result/,
  );
  await rejects(converter, input("Serial #:\tLot #: \tName\n"), /no "Time:" column/);
  // A curve X row followed by text where Y values belong.
  const curve = text.replace("80.5\t90.25", "eighty\t90.25");
  await rejects(converter, input(curve), /"eighty"|not a number/);
});

Deno.test({
  name: "soundcheck: format auto picks its files; detect takes no other format's file",
  ...needsSharedFixtures,
  async fn() {
    await assertAutoPicks(converter, [US(), EU(), OWN()]);
    const checked = assertTakesNoOtherFormat(converter, ["listen-soundcheck-txt", "soundcheck"]);
    assert.ok(checked > 40, `only ${checked} files checked`);
  },
});

Deno.test("soundcheck: fuzz (truncated, bit flips, UTF-16, CP1252, CRLF, huge lines)", async () => {
  const seeds = [Deno.readFileSync(OWN())];
  const stats = await fuzzConverter(converter, seeds, { name: "sc.txt", cases: 300 });
  assert.ok(stats.converted > 30, `converted ${stats.converted}`);
  assert.ok(stats.rejected > 30, `rejected ${stats.rejected}`);
  assert.ok(stats.reports >= stats.converted);
});

Deno.test("soundcheck: UTF-16, LF and Windows-1252 copies convert alike; 4,000 units in one file", async () => {
  const text = fromLatin1(Deno.readFileSync(OWN())).replace("HS-001", "HS-ÄÖ1");
  const base = await convertValid(converter, convertInput(latin1(text), "a.txt"));
  assert.equal(base[0].sn, "HS-ÄÖ1");
  for (const bytes of [utf16le(text), new TextEncoder().encode(text.replaceAll("\r\n", "\n"))]) {
    const other = await convertValid(converter, convertInput(bytes, "a.txt"));
    assert.deepEqual(other.map(withoutId), base.map(withoutId));
    assert.deepEqual(other.map((r) => r.id), base.map((r) => r.id)); // ids from name and content
  }
  const header = "Serial #:\tTime: \tLot #: \tName\tMargin\tUnit\tResult\tTolerance\tLimits";
  const rows = [header];
  for (let u = 0; u < 4000; u++) {
    const t = `1/${1 + (u % 28)}/2024 ${1 + (u % 12)}:${String(u % 60).padStart(2, "0")}:00 PM`;
    for (const [n, v] of [["Level", "95.5"], ["THD", "0.8"]]) {
      rows.push(
        `U${u}\t${t}\tLOT\t${n}\t${v}\tdB\t${u % 97 === 0 ? "FAIL" : "PASS"}\tMax/Min\t100/0`,
      );
    }
  }
  const big = await convertValid(converter, convertInput(rows.join("\r\n") + "\r\n", "big.txt"));
  assert.equal(big.length, 4000);
  assert.equal(big.filter((r) => r.result === "F").length, 42); // every 97th unit
  assert.equal(new Set(big.map((r) => r.id)).size, 4000);
});
