/**
 * Tests of the `saki-aoi` converter: the real sample in shared/fixtures/stations/saki-aoi-xml,
 * synthetic panels in tests/fixtures/convert/saki-aoi/ (written for these tests), broken files,
 * re-encodings, a large panel and a fuzz run.
 */
import assert from "#assert";
import type { ConvertInput } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/saki-aoi.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import {
  allSteps,
  convertValid,
  leaves,
  rejects as expectRejects,
  step,
  toLf,
  withoutId,
} from "./_convert.ts";
import { utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";
import { detectScore } from "./_detect.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);
const own = (name: string) => Deno.readFileSync(ownFixture("convert", "saki-aoi", name));
const sample = () => sharedFixture("stations", "saki-aoi-xml", "SAKI-testdata.xml")!;
const names = (steps: { name: string }[]) => steps.map((s) => s.name);

Deno.test({
  name: "saki-aoi: the real sample is one failed panel with 3 images",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convert(fileInput(sample()));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "SN123456789");
    assert.equal(r.result, "F");
    assert.equal(r.pn, "Test Sequence"); // Program@name
    assert.equal(r.uut?.user, "Operator");
    assert.equal(r.start, "2024-01-10T08:59:14+01:00"); // 01/10/2024: month first, CET
    assert.deepEqual(r.root?.seqCall, {
      path: "Test Sequence",
      name: "Test Sequence",
      version: "1.0.0", // ver=""
    });
    assert.deepEqual(r.miscInfos, [{ description: "Side", text: "PN1" }]);
    assert.deepEqual(r.root?.steps?.map((s) => [s.name, s.status]), [
      ["Image 1", "F"],
      ["Image 2", "P"],
      ["Image 3", "P"],
    ]);
    const image1 = r.root!.steps![0];
    assert.deepEqual(image1.steps?.map((s) => [s.name, s.status, s.steps?.length]), [
      ["False Calls", "P", 23],
      ["Failed", "F", 6],
    ]);
    assert.deepEqual(names(image1.steps![1].steps!), [
      "C1164",
      "C123",
      "C1161",
      "M103",
      "C1162",
      "C1165",
    ]);
    assert.equal(leaves(r).length, 34); // 23 + 6 + 2 + 3 references
    assert.equal(leaves(r).filter((s) => s.status === "F").length, 6);
    const m103 = image1.steps![1].steps![3];
    assert.equal(m103.stepType, "ET_PFT");
    assert.deepEqual(m103.booleanMeas, [{ status: "F" }]);
    assert.equal(
      m103.reportText,
      "Part number: 4326532\nPackage: 4326532_SOT32\nDescription: Description text",
    );
    // Same file, same id; CRLF and UTF-16 give the same report.
    const text = new TextDecoder().decode(Deno.readFileSync(sample()));
    const [again] = await convert(fileInput(sample()));
    assert.equal(again.id, r.id);
    const [crlf] = await convert(convertInput(text.replace(/\n/g, "\r\n"), "s.xml"));
    assert.deepEqual(withoutId(crlf), withoutId(r));
    const [wide] = await convert(convertInput(utf16le(text), "s.xml"));
    assert.deepEqual(withoutId(wide), withoutId(r));
  },
});

Deno.test({
  name: "saki-aoi: partNumberFrom side (as Virinco's converter) or the parameter",
  ...needsSharedFixtures,
  async fn() {
    const [side] = await convert(fileInput(sample(), { partNumberFrom: "side" }));
    assert.equal(side.pn, "PN1");
    assert.equal(side.miscInfos, undefined);
    const [param] = await convert(
      fileInput(sample(), { partNumberFrom: "parameter", partNumber: "P-9" }),
    );
    assert.equal(param.pn, "P-9");
    await rejects(fileInput(sample(), { partNumberFrom: "parameter" }), /partNumber/);
    await rejects(fileInput(sample(), { partNumberFrom: "board" }), /partNumberFrom/);
  },
});

Deno.test("saki-aoi: synthetic failed panel: Windows-1252, CRLF, DST gap, image barcode, warning", async () => {
  const bytes = own("failed_panel_crlf.xml");
  const [r] = await convert(convertInput(bytes, "p.xml"));
  assert.equal(r.sn, "PNL-0042");
  assert.equal(r.result, "F");
  assert.equal(r.uut?.user, "Jørgen Ås"); // windows-1252 bytes, as declared
  // 02:30 does not exist in Oslo on 31 March 2024: moved forward by the gap.
  assert.equal(r.start, "2024-03-31T03:30:05+02:00");
  assert.equal(r.pn, "BRD-7731");
  assert.equal(r.root?.seqCall?.version, "2.4");
  assert.deepEqual(r.miscInfos, [
    { description: "Side", text: "BOTTOM" },
    {
      description: "Conversion warning",
      text: "line 5: unknown element <Comment> in <Panel> skipped",
    },
  ]);
  const image1 = step(r, "Image 1");
  assert.equal(image1.reportText, "Barcode: BRD-0042-1");
  // Groups in the order the file gives them.
  assert.deepEqual(image1.steps?.map((s) => [s.name, names(s.steps!)]), [
    ["Failed", ["U7", "C12"]],
    ["False Calls", ["R3"]],
  ]);
  const image2 = step(r, "Image 2");
  assert.equal(image2.status, "P");
  assert.equal(image2.reportText, undefined); // barcode N/A
  assert.equal(image2.steps, undefined);
  // The same panel as UTF-8 with LF converts the same.
  const utf8 = new TextDecoder("windows-1252").decode(toLf(bytes)).replace(
    'encoding="windows-1252"',
    'encoding="UTF-8"',
  );
  const [lf] = await convert(convertInput(utf8, "p.xml"));
  assert.deepEqual(withoutId(lf), withoutId(r));
});

Deno.test("saki-aoi: passed panel, single-digit month and day", async () => {
  const [r] = await convert(convertInput(own("passed_panel.xml"), "p.xml"));
  assert.equal(r.result, "P");
  assert.equal(r.start, "2024-07-04T16:05:00+02:00");
  assert.equal(step(r, "R3").reportText, "Part number: RES-10K\nPackage: R0603");
  const [dmy] = await convert(convertInput(own("passed_panel.xml"), "p.xml", { dateOrder: "dmy" }));
  assert.equal(dmy.start, "2024-04-07T16:05:00+02:00");
});

Deno.test("saki-aoi: unknown verdicts are errors naming the word, never passes", async () => {
  const base = new TextDecoder().decode(own("passed_panel.xml"));
  const panel = base.replace('result="passed" startDate', 'result="repaired" startDate');
  await rejects(
    convertInput(panel, "p.xml"),
    /<Panel> on line 1: unknown panel result "repaired".*statusWords/,
  );
  const [mapped] = await convert(
    convertInput(panel, "p.xml", { statusWords: { Repaired: "P" } }),
  );
  assert.equal(mapped.result, "P");
  const image = base.replace('id="1" result="passed"', 'id="1" result="unsure"');
  await rejects(convertInput(image, "p.xml"), /<Image> on line 3: unknown image result "unsure"/);
  await rejects(
    convertInput(base, "p.xml", { statusWords: { maybe: "X" } }),
    /statusWords\.maybe.*P, F, D, S, E, T or U/,
  );
});

Deno.test("saki-aoi: broken structure is an error naming the element and line", async () => {
  const base = new TextDecoder().decode(own("passed_panel.xml"));
  await rejects(
    convertInput(base.replace('barcode="PNL-0043" ', ""), "p.xml"),
    /<Panel> on line 1 of p\.xml has no barcode attribute/,
  );
  await rejects(
    convertInput(base.replace(' startTime="16:05:00"', ""), "p.xml"),
    /has no startTime attribute/,
  );
  await rejects(
    convertInput(base.replace("7/4/2024", "7/44/2024"), "p.xml"),
    /startDate\/startTime "7\/44\/2024 16:05:00" is not a date/,
  );
  await rejects(
    convertInput(base.replace('designator="R3"', 'designator=" "'), "p.xml"),
    /<Reference> on line 6 has no designator/,
  );
  await rejects(
    convertInput(base.replace('designator="R3" ', ""), "p.xml"),
    /<Reference> on line 6 of p\.xml has no designator attribute/,
  );
  await rejects(convertInput(base.slice(0, 300), "p.xml"), /not well-formed XML in p\.xml: line/);
  await rejects(convertInput("<Board/>", "p.xml"), /root is <Board>, expected <Panel>/);
  await rejects(
    convertInput(`<!DOCTYPE Panel [<!ENTITY x "y">]>${base}`, "p.xml"),
    /refuses entity declarations/,
  );
});

Deno.test("saki-aoi: a large panel (200 images, 10,000 calls)", async () => {
  const refs = (n: number, tag: string) =>
    Array.from({ length: n }, (_, k) => `<Reference designator="${tag}${k}" partNumber="P" />`)
      .join("\n");
  const images = Array.from(
    { length: 200 },
    (_, i) =>
      `<Image barcode="N/A" id="${i + 1}" result="${i % 50 === 0 ? "failed" : "passed"}">` +
      `<Results><FalseCalls>${refs(49, "R")}</FalseCalls>` +
      (i % 50 === 0 ? `<Failed>${refs(1, "U")}</Failed>` : "") + `</Results></Image>`,
  ).join("\n");
  const xml = `<Panel barcode="BIG" result="failed" startDate="01/02/2025" startTime="10:00:00">` +
    `<Program name="BIG-PCB" ver="1"/>${images}</Panel>`;
  const [r] = await convert(convertInput(xml, "big.xml"));
  assert.equal(r.root?.steps?.length, 200);
  assert.equal(leaves(r).length, 200 * 49 + 4);
  assert.equal(leaves(r).filter((s) => s.status === "F").length, 4);
  assert.equal(allSteps(r).length, 200 + 200 + 4 + 200 * 49 + 4);
  assert.equal(r.result, "F");
});

Deno.test({
  name: "saki-aoi: detect",
  ...needsSharedFixtures,
  fn() {
    const d = (text: string | Uint8Array, name = "x.xml") => detectScore(converter, text, name);
    assert.equal(d(Deno.readFileSync(sample())), 0.9);
    assert.equal(d(own("failed_panel_crlf.xml")), 0.9);
    assert.equal(d(utf16le(new TextDecoder().decode(own("passed_panel.xml")))), 0.9);
    assert.equal(d('<Panel barcode="x">'), 0.4);
    assert.equal(d("<Panel>"), 0);
    assert.equal(d('<p:Panel xmlns:p="urn:x" barcode="1" startDate="1"/>'), 0);
    assert.equal(d("SerialNumber;1"), 0);
  },
});

Deno.test({
  name: "saki-aoi: fuzz",
  ...needsSharedFixtures,
  async fn() {
    const stats = await fuzzConverter(converter, [
      Deno.readFileSync(sample()),
      own("failed_panel_crlf.xml"),
      own("passed_panel.xml"),
    ], { name: "panel.xml" });
    assertFuzzStats(stats);
    assert.equal(stats.reports, stats.converted); // one report per converted panel
  },
});
