/**
 * Tests of the `xjtag` converter: every real sample in shared/fixtures/stations/xjtag-xjlog,
 * synthetic runs in tests/fixtures/convert/xjtag/ (written for these tests) packed into archives
 * by _zip_writer.ts, damaged/hostile archives, and a fuzz run.
 */
import assert from "#assert";
import { type ConvertInput, type WsjfReport } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/xjtag.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertValid, leaf as find, leaves, rejects as expectRejects } from "./_convert.ts";
import { convertInput, fileInput, station } from "./_station.ts";
import { makeZip, type ZipInput } from "./_zip_writer.ts";

const convert = (input: ConvertInput) => convertValid(converter, input);
const rejects = (input: ConvertInput, re: RegExp) => expectRejects(converter, input, re);

const PN = { partNumber: "PN-JTAG" };
const own = (name: string) => Deno.readFileSync(ownFixture("convert", "xjtag", name));
const real = (name: string) => sharedFixture("stations", "xjtag-xjlog", name)!;

const synthetic = (extra: ZipInput[] = []) =>
  makeZip([
    { name: "Run 1.xml", data: own("run1_fail.xml") },
    { name: "Run 1.checksum", data: new Uint8Array(20), method: 0 },
    { name: "Run 2.xml", data: own("run2_aborted.xml") },
    { name: "Info.xml", data: own("Info.xml") },
    ...extra,
  ]);

// ---- real samples -------------------------------------------------------------------------

Deno.test({
  name: "xjtag: real single-run archives",
  ...needsSharedFixtures,
  async fn() {
    // [file, serial, user, test functions, execTime]
    const cases: [string, string, string, number, number | undefined][] = [
      ["1234_14_25_32_10.08.2018_Pass.xjlog", "1234", "ADMINISTRATOR", 19, undefined],
      ["55804022_XJT_2019-06-20_12-55-57_lumi_Pass.xjlog", "55804022", "lumi", 35, undefined],
      ["567567_14_29_24_17_06_2020_Pass.xjlog", "567567", "ADMINISTRATOR", 24, 47.96],
    ];
    for (const [file, sn, user, functions, execTime] of cases) {
      const reports = await convert(fileInput(real(file), PN));
      assert.equal(reports.length, 1, file);
      const [r] = reports;
      assert.equal(r.sn, sn);
      assert.equal(r.pn, "PN-JTAG");
      assert.equal(r.processCode, 210);
      assert.equal(r.result, "P");
      assert.equal(r.uut?.user, user);
      assert.equal(r.uut?.execTime, execTime);
      assert.equal(leaves(r).length, functions, file);
      assert.ok(leaves(r).every((s) => s.stepType === "ET_PFT"));
    }
    // The file name has local time 12-55-57, the XML 11:55:57.4460362Z: Oslo is UTC+2 in June.
    const [lumi] = await convert(fileInput(real(cases[1][0]), PN));
    assert.equal(lumi.start, "2019-06-20T13:55:57.4460362+02:00");
    assert.equal(lumi.uut?.comment, "FireBird Quad CXP-6 PCB03B");
    assert.equal(lumi.machineName, station.name); // no xjlink-name in this run

    // 567567: <testfunction name="NEW_SERIAL_NUMBER"> … <time-taken>4231</time-taken>, and
    // two functions with <result value="Skipped" />.
    const [r] = await convert(fileInput(real(cases[2][0]), PN));
    const ns = find(r, "NEW_SERIAL_NUMBER");
    assert.equal(ns.totTime, 4.231);
    assert.deepEqual(ns.booleanMeas, [{ status: "P" }]);
    assert.match(ns.reportText!, /^Checking voltage on CN1 pin 1.*\nVoltage read: 3271 mV/s);
    assert.deepEqual(
      leaves(r).filter((s) => s.status === "S").map((s) => s.name),
      ["IC3.TestNonDestructive", "VerifyIC3"],
    );
    assert.equal(r.root?.seqCall?.name, "Demo"); // ProjectPath …\Board Test\Demo.xjp
    assert.deepEqual(r.miscInfos, [
      { description: "XJLink serial", text: "10199" },
      { description: "XJTAG version", text: "3.10.0.0" },
    ]);
  },
});

Deno.test({
  name: "xjtag: real 6-run archive from two XJLinks",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convert(
      fileInput(real("Demonstration hardware--28_10_2019.xjlog"), PN),
    );
    assert.deepEqual(
      reports.map((r) => [r.sn, r.result, r.machineName]),
      [
        ["10001", "F", "OriginalXJLink"],
        ["1002", "P", "XJLink2"],
        ["10004", "F", "OriginalXJLink"],
        ["10003", "F", "XJLink2"],
        ["10006", "F", "OriginalXJLink"],
        ["10005", "P", "XJLink2"],
      ],
    );
    assert.equal(new Set(reports.map((r) => r.id)).size, 6);
    // Run 1: CheckChain failed; Run 3 (serial 10004): "D2.Test failed (Error = 1)".
    assert.deepEqual(leaves(reports[0]).map((s) => [s.name, s.status]), [
      ["NEW_SERIAL_NUMBER", "P"],
      ["CheckChain", "F"],
    ]);
    const d2 = find(reports[2], "D2.Test");
    assert.equal(d2.status, "F");
    assert.match(d2.reportText!, /LED D2 FAILED\.\nD2\.Test failed \(Error = 1\)/);
    assert.equal(reports[2].start, "2019-10-28T14:52:58.8971824+01:00"); // 13:52:58Z, CET
    // Same file, same ids.
    const again = await convert(fileInput(real("Demonstration hardware--28_10_2019.xjlog"), PN));
    assert.deepEqual(again.map((r) => r.id), reports.map((r) => r.id));
  },
});

Deno.test({
  name: "xjtag: real exported run XML matches the same run inside its archive",
  ...needsSharedFixtures,
  async fn() {
    const [xml] = await convert(fileInput(real("567567_14_29_24_17_06_2020_Pass.xml"), PN));
    const [zip] = await convert(fileInput(real("567567_14_29_24_17_06_2020_Pass.xjlog"), PN));
    assert.equal(xml.sn, "567567");
    assert.equal(xml.start, zip.start);
    // Only the sequence path differs: the project path is in the archive's Info.xml.
    const noPath = (r: WsjfReport) =>
      JSON.parse(JSON.stringify(r.root?.steps, (k, v) => k === "path" ? undefined : v));
    assert.deepEqual(noPath(xml), noPath(zip));
    assert.equal(leaves(xml).length, 24);
  },
});

// ---- synthetic ----------------------------------------------------------------------------

Deno.test("xjtag: synthetic 2-run archive: CRLF, failure, skip, abort, serial from header", async () => {
  const [a, b] = await convert(convertInput(await synthetic(), "synthetic.xjlog", PN));
  assert.equal(a.sn, "SYN-01");
  assert.equal(a.result, "F");
  assert.equal(a.machineName, "Link A");
  assert.equal(a.uut?.execTime, 2.1);
  assert.equal(a.uut?.comment, "Synthetic board");
  // 00:30Z on the night Oslo goes to summer time (01:00Z) is still CET.
  assert.equal(a.start, "2024-03-31T01:30:00.1234567+01:00");
  assert.deepEqual(a.root?.seqCall, {
    path: "C:\\XJTAG Projects\\Synthetic\\synthetic.xjp",
    name: "synthetic",
    version: "1.0.0",
  });
  assert.deepEqual(a.root?.steps?.map((s) => [s.name, s.status]), [
    ["Power", "P"],
    ["Connection Test", "F"],
  ]);
  const vaux = find(a, "VAUX");
  assert.equal(vaux.reportText, "VAUX supply = 2493mV\nVAUX passed");
  assert.equal(vaux.totTime, 1.25);
  assert.equal(find(a, "CONNTEST").status, "F");
  assert.equal(find(a, "FLASH.Verify").status, "S");

  assert.equal(b.sn, "SYN-02"); // <serial /> empty: taken from the header
  assert.equal(b.result, "T"); // Aborted
  assert.equal(b.machineName, station.name); // <xjlink-name /> is empty
  assert.equal(b.start, "2024-03-31T03:05:00+02:00"); // after the DST switch
  const vcore = find(b, "VCORE"); // no <result>: the run stopped inside it
  assert.equal(vcore.status, "T");
  assert.equal(vcore.stepType, "Action");
});

Deno.test("xjtag: a single exported run XML (synthetic)", async () => {
  const [r] = await convert(convertInput(own("run1_fail.xml"), "run.xml", PN));
  assert.equal(r.sn, "SYN-01");
  assert.equal(r.root?.seqCall?.name, "MainSequence"); // no Info.xml: no project
});

Deno.test("xjtag: incomplete, damaged and hostile archives are ConversionErrors", async () => {
  const missingRun = await makeZip([
    { name: "Run 1.xml", data: own("run1_fail.xml") },
    { name: "Info.xml", data: own("Info.xml") }, // says 2 runs
  ]);
  await rejects(convertInput(missingRun, "a.xjlog", PN), /says 2 test runs.*lacks Run 2\.xml/);

  const full = await synthetic();
  await rejects(convertInput(full.subarray(0, full.length - 40), "t.xjlog", PN), /truncated/);

  const bomb = await synthetic([{ name: "Run 3.xml", data: new Uint8Array(3 * 1024 * 1024) }]);
  await rejects(
    convertInput(bomb, "b.xjlog", { ...PN, maxArchiveMB: 1 }),
    /over the remaining limit.*maxArchiveMB/s,
  );
  // Each limit names the parameter that raises it, in the message and in the hint.
  const bigRun = await synthetic([{ name: "Run 3.xml", data: new Uint8Array(2 * 1024 * 1024) }]);
  await rejects(
    convertInput(bigRun, "e.xjlog", { ...PN, maxEntryMB: 1 }),
    /"Run 3\.xml" declares 2097152 bytes, over the limit of 1048576 bytes for one entry \(maxEntryMB raises it\).*raise maxEntryMB in this folder's converter params/s,
  );
  await rejects(
    convertInput(full, "c.xjlog", { ...PN, maxArchiveEntries: 3 }),
    /has 4 entries, over the limit of 3 \(maxArchiveEntries raises it\)/,
  );
  const liar = await makeZip([
    { name: "Run 1.xml", data: new Uint8Array(2_000_000), declaredSize: 1000 },
  ]);
  await rejects(convertInput(liar, "l.xjlog", PN), /inflates to more than the 1000 bytes/);

  const noRuns = await makeZip([{ name: "readme.txt", data: "hi" }]);
  await rejects(convertInput(noRuns, "n.xjlog", PN), /without any "Run N\.xml".*readme\.txt/);

  const notRun = await makeZip([{ name: "Run 1.xml", data: "<other/>" }]);
  await rejects(convertInput(notRun, "o.xjlog", PN), /Run 1\.xml: the XML root is <other>/);

  const broken = await makeZip([{ name: "Run 1.xml", data: "<testrun datetime='x'><testgroup>" }]);
  await rejects(convertInput(broken, "x.xjlog", PN), /Run 1\.xml/);

  const noInfo = '<testrun datetime="2024-01-01T00:00:00Z"><testgroup name="g"/></testrun>';
  await rejects(convertInput(noInfo, "r.xml", PN), /no <testruninfo>/);
  await rejects(convertInput("<a/>", "r.xml", PN), /root is <a>, expected <testrun>/);

  const odd = new TextDecoder().decode(own("run1_fail.xml")).replace(
    "<result>Failed</result>",
    "<result>Wobbly</result>",
  );
  await rejects(convertInput(odd, "r.xml", PN), /unknown run result "Wobbly"/);
  await rejects(convertInput(own("run1_fail.xml"), "r.xml"), /partNumber/);
  await rejects(
    convertInput(own("run1_fail.xml"), "r.xml", { ...PN, maxArchiveMB: -1 }),
    /maxArchiveMB/,
  );
});

Deno.test("xjtag: long text output is cut with a note", async () => {
  const long = new TextDecoder().decode(own("run1_fail.xml")).replace(
    "VAUX supply = 2493mV",
    "x".repeat(500),
  );
  const [r] = await convert(convertInput(long, "r.xml", { ...PN, maxReportText: 100 }));
  assert.match(find(r, "VAUX").reportText!, /^x{100}\n… \(\d+ more characters\)$/);
});

Deno.test("xjtag: detect", async () => {
  const zip = await synthetic();
  const d = (head: Uint8Array, name: string) => converter.detect!({ head, name });
  assert.equal(d(zip.subarray(0, 8192), "a.xjlog"), 0.95);
  assert.equal(d(zip.subarray(0, 8192), "a.zip"), 0.7);
  assert.equal(d(await makeZip([{ name: "x.txt", data: "x" }]), "a.zip"), 0);
  assert.equal(d(own("run1_fail.xml"), "r.xml"), 0.9);
  assert.equal(d(new TextEncoder().encode("<testrun>"), "r.xml"), 0);
  assert.equal(d(new TextEncoder().encode("SerialNumber;1"), "r.csv"), 0);
});

Deno.test("xjtag: fuzz", async () => {
  const files = await fuzzConverter(converter, [own("run1_fail.xml"), own("run2_aborted.xml")], {
    params: PN,
  });
  assertFuzzStats(files);
  const zip = await fuzzConverter(converter, [await synthetic()], { params: PN, cases: 150 });
  assertFuzzStats(zip);
});
