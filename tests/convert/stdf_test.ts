/**
 * Tests of the `stdf` (STDF V4) converter: every stdf-v4 sample of the shared fixtures (the
 * 1,569-part big-endian gzip lot, the 33-byte fragment that must be refused), synthetic files
 * from tests/convert/_stdf_writer.ts (little-endian, multi-site with every PIR before the PRRs,
 * limits left to the first PTR, cut-off records, MPR/FTR, unknown record types, parts without
 * a PART_ID), the streamed path through the agent's own conversion function (thousands of
 * parts), format detection, bounded gzip inflation, broken files and a fuzz run.
 */
import assert from "#assert";
import zlib from "node:zlib";
import type { WsjfReport } from "../../src/convert/contract.ts";
import { converter } from "../../src/convert/converters/stdf.ts";
import { detectFormat, runConversion } from "../../src/convert/conversion.ts";
import { needsSharedFixtures, ownFixture, sharedFixtureFiles } from "../_fixtures.ts";
import { fuzzConverter } from "./_fuzz.ts";
import { convertInput, station } from "./_station.ts";
import { StdfWriter } from "./_stdf_writer.ts";
import { convertValid, rejects, withoutId } from "./_convert.ts";

const misc = (r: WsjfReport, d: string) => r.miscInfos?.find((m) => m.description === d)?.text;
const sample = (name: string) =>
  sharedFixtureFiles("stations/stdf-v4").find((f) => f.endsWith(`/${name}`))!;

/** Counts records of one type by walking the record lengths (independently of the reader). */
function countRecords(data: Uint8Array, typ: number, sub: number): number {
  const little = data[0] === 2;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let n = 0;
  for (let p = 0; p + 4 <= data.length; p += 4 + dv.getUint16(p, little)) {
    if (data[p + 2] === typ && data[p + 3] === sub) n++;
  }
  return n;
}

/** Converts with a `warn` that collects what the converter recovered from. */
async function convertWarned(bytes: Uint8Array, name: string, params = {}) {
  const warnings: string[] = [];
  const input = { ...convertInput(bytes, name, params), warn: (m: string) => warnings.push(m) };
  return { reports: await convertValid(converter, input), warnings };
}

Deno.test("stdf: every stdf-v4 sample", needsSharedFixtures, async () => {
  const files = sharedFixtureFiles("stations/stdf-v4");
  assert.equal(files.length, 2);
  // lot2.stdf.gz: a Teradyne A530 wafer-sort lot, big-endian, gzip.
  const gz = Deno.readFileSync(sample("lot2.stdf.gz"));
  const raw = new Uint8Array(zlib.gunzipSync(gz));
  const { reports, warnings } = await convertWarned(gz, "lot2.stdf.gz");
  assert.deepEqual(warnings, []);
  assert.equal(reports.length, countRecords(raw, 5, 20)); // one per PRR
  assert.equal(reports.length, 1569);
  const results: Record<string, number> = {};
  for (const r of reports) results[r.result!] = (results[r.result!] ?? 0) + 1;
  assert.deepEqual(results, { P: 1389, F: 180 });
  assert.equal(new Set(reports.map((r) => r.sn)).size, 1569);
  assert.equal(new Set(reports.map((r) => r.id)).size, 1569);
  const r = reports[1];
  assert.equal(r.sn, "GAL-LOT-02-2"); // wafer GAL-LOT-02 (names lot GAL-LOT), PART_ID 2
  assert.equal(r.pn, "GOLD8BAR"); // MIR PART_TYP
  assert.equal(r.uut?.batchSN, "GAL-LOT");
  assert.equal(r.machineName, "galaxy-t"); // NODE_NAM
  assert.equal(r.uut?.user, "ews");
  assert.equal(r.root?.seqCall?.name, "mobile-05"); // JOB_NAM
  assert.equal(r.start, "2001-06-05T22:50:22+02:00"); // START_T as an instant, shown in Oslo
  assert.deepEqual([misc(r, "X"), misc(r, "Y"), misc(r, "Hard bin")], ["20", "-3", "1"]);
  // Every PTR is one numeric measurement of the part it belongs to.
  const meas = reports.reduce(
    (n, rep) => n + (rep.root?.steps ?? []).reduce((k, s) => k + (s.numericMeas?.length ?? 0), 0),
    0,
  );
  assert.equal(meas, countRecords(raw, 15, 10));
  assert.deepEqual(r.root?.steps?.[0].numericMeas, [{
    compOp: "GTLT", // PARM_FLG bits 6/7 clear: strict comparisons
    status: "P",
    value: -0.66164064, // R4, as the shortest decimal of the float32
    unit: "v",
    lowLimit: -0.9,
    highLimit: -0.4,
  }]);
  assert.equal(r.root?.steps?.[0].name, "1000 - glxy_SS_IH     <> glxy_pin2");
  // Converting again gives the same reports (ids from file and part index).
  assert.deepEqual((await converter.convert(convertInput(gz, "lot2.stdf.gz")))[1], r);

  // The 33-byte fragment (FAR and WIR, nothing else) is refused.
  await rejects(
    converter,
    convertInput(Deno.readFileSync(sample("semi-ate-minimal-test.stdf")), "m.stdf"),
    /ends before its MRR.*stops early/,
  );
});

/** A little- or big-endian multi-site lot exercising the record rules. */
function syntheticLot(order: "big" | "little"): Uint8Array {
  const w = new StdfWriter(order);
  w.far().mir({
    lotId: "SYN-LOT",
    partType: "SYN-PN",
    nodeName: "ate-1",
    jobName: "prog",
    jobRev: "3",
    sublot: "A",
    operator: "op",
    startT: 1_700_000_000,
  });
  w.wir("SYN-LOT-W07");
  w.pir(1, 1).pir(1, 2); // every PIR before the PRRs
  w.ptr({ num: 100, site: 1, result: 1.5, text: "vdd", low: 1, high: 2, units: "V" });
  // OPT_FLAG 0x30: this record's limits are invalid, the first PTR of test 100 has them.
  w.ptr({ num: 100, site: 2, result: 2.5, testFlg: 0x80, optFlag: 0x32, low: 9, high: 9 });
  w.ptr({ num: 101, site: 1, result: 0.1, text: "leak", optFlag: 0x42, high: 0.5, units: "A" });
  w.ptr({ num: 101, site: 2, result: 0.2, cut: "afterResult" }); // all from the first PTR
  w.mpr({
    num: 200,
    site: 1,
    results: [1, 2],
    pins: [3, 4],
    text: "pins",
    low: 0,
    high: 3,
    units: "V",
  });
  w.record(180, 7, [["U4", 1]]); // a vendor record outside the spec
  w.ftr({ num: 300, site: 2, testFlg: 0x80, text: "func", vector: "v1" });
  w.ftr({ num: 301, site: 1, testFlg: 0, text: "func2" });
  w.prr({ site: 2, flag: 0x08, x: 3, y: 4, hardBin: 5, softBin: 50 });
  w.prr({ site: 1, flag: 0, partId: "17", testT: 1500 });
  w.wrr("SYN-LOT-W07");
  w.pir(1, 1).ptr({ num: 100, site: 1, result: 1.2 }).prr({ site: 1, flag: 0x04 });
  w.pir(1, 2).ftr({ num: 300, site: 2, testFlg: 0x40, text: "func" }).prr({ site: 2, flag: 0x10 });
  w.pir(1, 1); // never finished
  w.mrr();
  return w.bytes();
}

Deno.test("stdf: multi-site lot, limits from the first PTR, parts without PART_ID", async () => {
  const { reports, warnings } = await convertWarned(syntheticLot("little"), "syn.stdf");
  assert.deepEqual(reports.map((r) => [r.sn, r.result, r.uut?.testSocketIndex]), [
    ["SYN-LOT-W07-X3Y4", "F", 2], // no PART_ID: lot/wafer and coordinates
    ["SYN-LOT-W07-17", "P", 1],
    ["SYN-LOT-A-H1S1#3", "T", 1], // no wafer, no coordinates: lot, sublot, head/site, index
    ["SYN-LOT-A-H1S2#4", "E", 2], // PART_FLG bit 4: no pass/fail indication → Error
  ]);
  const [s2, s1, , noVerdict] = reports;
  assert.equal(s1.uut?.execTime, 1.5);
  assert.equal(s1.start, "2023-11-14T23:13:20+01:00");
  const names = (r: WsjfReport) => r.root!.steps!.map((s) => s.name);
  assert.deepEqual(names(s1), ["100 - vdd", "101 - leak", "200 - pins", "301 - func2"]);
  assert.deepEqual(names(s2), ["100 - vdd", "101 - leak", "300 - func"]);
  const [vdd2, leak2, func] = s2.root!.steps!;
  // Limits and units of the first PTR of each test number.
  assert.deepEqual(vdd2.numericMeas, [{
    compOp: "GELE",
    status: "F",
    value: 2.5,
    unit: "V",
    lowLimit: 1,
    highLimit: 2,
  }]);
  assert.deepEqual(leak2.numericMeas, [
    { compOp: "LE", status: "P", value: 0.2, unit: "A", lowLimit: 0.5 },
  ]);
  assert.deepEqual([func.stepType, func.status, func.reportText], ["ET_PFT", "F", "Vector v1"]);
  assert.deepEqual(
    s1.root!.steps![2].numericMeas!.map((m) => [m.name, m.value, m.lowLimit, m.highLimit]),
    [["Pin 3", 1, 0, 3], ["Pin 4", 2, 0, 3]],
  );
  assert.deepEqual([misc(s2, "Hard bin"), misc(s2, "Soft bin"), misc(s2, "Wafer")], [
    "5",
    "50",
    "SYN-LOT-W07",
  ]);
  // A functional test without a pass/fail indication is an error, not a pass.
  assert.equal(noVerdict.root!.steps![0].status, "E");
  // The unknown record goes with the next part; the unfinished part is only in the log.
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(warnings[0], /record type 180\/7 is not in STDF V4; skipped/);
  assert.match(warnings[1], /the part at head 1 site 1 has no PRR; left out/);
  assert.equal(misc(s2, "Conversion warning"), warnings[0]);

  // Big-endian, and gzip-compressed, give the same reports (ids aside: they follow the bytes).
  const big = await convertValid(converter, convertInput(syntheticLot("big"), "syn.stdf"));
  assert.deepEqual(big.map(withoutId), reports.map(withoutId));
  const gz = new Uint8Array(zlib.gzipSync(syntheticLot("little")));
  const fromGz = await convertValid(converter, convertInput(gz, "syn.stdf.gz"));
  // (the warning names the file and the offset in the inflated data).
  const same = (r: WsjfReport) => ({
    ...withoutId(r),
    miscInfos: r.miscInfos?.filter((m) => m.description !== "Conversion warning"),
  });
  assert.deepEqual(fromGz.map(same), reports.map(same));
  assert.match(misc(fromGz[0], "Conversion warning")!, /syn\.stdf\.gz: inflated byte 275: /);
  // serialFormat "partId": the PART_ID alone.
  const plain = await convertValid(
    converter,
    convertInput(syntheticLot("little"), "s.stdf", { serialFormat: "partId" }),
  );
  assert.equal(plain[1].sn, "17");
});

Deno.test("stdf: a .stdf.gz of two gzip members (cat a.gz b.gz) converts to its last part", async () => {
  // GNU gzip, the STDF cut at byte 14,509 (inside a record) into two members (README there).
  const gz = Deno.readFileSync(ownFixture("convert", "stdf", "two_members.stdf.gz"));
  const raw = new Uint8Array(zlib.gunzipSync(gz));
  const fromGz = await convertValid(converter, convertInput(gz, "two_members.stdf.gz"));
  const fromRaw = await convertValid(converter, convertInput(raw, "two_members.stdf"));
  assert.equal(fromGz.length, 40);
  assert.equal(fromGz.length, countRecords(raw, 5, 20));
  assert.deepEqual(fromGz.map((r) => r.sn).slice(-2), ["GZ2-GZ-39", "GZ2-GZ-40"]);
  assert.equal(fromGz.filter((r) => r.result === "F").length, 4); // parts 9, 18, 27, 36
  assert.deepEqual(fromGz.map(withoutId), fromRaw.map(withoutId));
  // The first member alone ends inside a record: refused, not 20 parts passed as the lot.
  await rejects(
    converter,
    convertInput(gz.subarray(0, 1711), "first.stdf.gz"),
    /first\.stdf\.gz: inflated byte 14502: the file ends inside a record/,
  );
});

/** A lot of `parts` parts on four sites, each site's PIRs before its PRRs. */
function bigLot(parts: number, testsPerPart: number): Uint8Array {
  const w = new StdfWriter("little");
  w.far().mir({ lotId: "BIG", partType: "PN-BIG", startT: 1_700_000_000 });
  for (let p = 0; p < parts; p += 4) {
    const sites = [1, 2, 3, 4].slice(0, Math.min(4, parts - p));
    for (const s of sites) w.pir(1, s);
    for (let t = 0; t < testsPerPart; t++) {
      for (const s of sites) {
        w.ptr({ num: t, site: s, result: t + s / 10, text: `t${t}`, low: 0, high: 1000 });
      }
    }
    for (const s of sites) w.prr({ site: s, flag: (p + s) % 7 === 0 ? 0x08 : 0, x: p, y: s });
  }
  w.record(180, 7, []);
  return w.mrr().bytes();
}

Deno.test("stdf: thousands of parts stream through the agent's conversion", async () => {
  const bytes = bigLot(5000, 5);
  const outcome = await runConversion({
    converter: "ate",
    format: "stdf",
    bytes,
    name: "big.stdf",
    path: "/nowhere/big.stdf",
    station,
    params: {},
  });
  if (!outcome.ok) throw new Error(outcome.message);
  assert.equal(outcome.reports.length, 5000);
  assert.equal(new Set(outcome.reports.map((r) => r.id)).size, 5000);
  assert.equal(new Set(outcome.reports.map((r) => r.sn)).size, 5000);
  const failed = outcome.reports.filter((r) => r.result === "F").length;
  let expected = 0;
  for (let p = 0; p < 5000; p += 4) for (let s = 1; s <= 4; s++) if ((p + s) % 7 === 0) expected++;
  assert.equal(failed, expected);
  // The unknown record after the last part has no report to go with: the log has it.
  assert.equal(outcome.warningCount, 1);
  assert.match(outcome.warnings![0], /record type 180\/7/);
  const last = JSON.parse(new TextDecoder().decode(outcome.reports[4999].body));
  assert.equal(last.root.steps.length, 5);
});

Deno.test("stdf: format auto-detection", needsSharedFixtures, async () => {
  const head = (b: Uint8Array) => ({ head: b.subarray(0, 8192), name: "x" });
  const gz = Deno.readFileSync(sample("lot2.stdf.gz"));
  assert.equal(converter.detect!(head(gz)), 0.95);
  assert.equal(converter.detect!(head(syntheticLot("little"))), 1);
  assert.equal(converter.detect!(head(syntheticLot("big"))), 1);
  assert.equal(converter.detect!(head(new Uint8Array(zlib.gzipSync("{@BATCH|x")))), 0);
  assert.equal(converter.detect!(head(new TextEncoder().encode("{@BATCH|x\n"))), 0);
  assert.equal((await detectFormat(gz, "lot2.stdf.gz")).name, "stdf");
  assert.equal((await detectFormat(syntheticLot("big"), "a.std")).name, "stdf");
});

Deno.test("stdf: broken files are refused with the byte offset", async () => {
  const lot = syntheticLot("little");
  await rejects(
    converter,
    convertInput(lot.subarray(0, lot.length - 3), "cut.stdf"),
    /cut\.stdf: byte \d+: the file ends inside a record: a MRR record that declares 4 bytes, but only 1 follow/,
  );
  const noMrr = lot.subarray(0, lot.length - 8);
  await rejects(converter, convertInput(noMrr, "open.stdf"), /ends before its MRR.*after 4 part/);
  await rejects(
    converter,
    convertInput(new TextEncoder().encode("hello world"), "x.stdf"),
    /byte 0: the file does not start with an STDF V4 FAR.*68 65 6C 6C 6F 20/,
  );
  // Parts before the MIR: the lot is unknown.
  const w = new StdfWriter("big");
  await rejects(
    converter,
    convertInput(w.far().pir(1, 1).prr({ flag: 0 }).mrr().bytes(), "x.stdf"),
    /byte 6: a PIR \(part\) comes before the MIR/,
  );
  // A cut-off .gz, and one that inflates past the limit (stopped there, not inflated whole).
  const gz = new Uint8Array(zlib.gzipSync(lot));
  await rejects(
    converter,
    convertInput(gz.subarray(0, gz.length - 20), "x.stdf.gz"),
    /gzip data is damaged or cut off/,
  );
  // A bomb: a valid start, then 16 MiB of zeros (empty records) in 16 KiB of gzip.
  const head = new StdfWriter("little").far().mir({ lotId: "B", startT: 1 }).bytes();
  const zeros = new Uint8Array(16 * 1024 * 1024);
  zeros.set(head);
  const bomb = new Uint8Array(zlib.gzipSync(zeros));
  assert.ok(bomb.length < 32 * 1024);
  await rejects(
    converter,
    convertInput(bomb, "bomb.stdf.gz", { maxInflatedMb: 1 }),
    /bomb\.stdf\.gz: it inflates to more than 1048576 bytes \(stopped there\).*maxInflatedMb/s,
  );
  await rejects(converter, convertInput(lot, "x.stdf", { serialFormat: "x" }), /serialFormat/);
});

Deno.test("stdf: fuzz", async () => {
  const stats = await fuzzConverter(converter, [syntheticLot("little"), syntheticLot("big")], {
    name: "fuzz.stdf",
    cases: 400,
  });
  // Mutated binary files: many still convert (flipped values), many are refused (framing).
  assert.ok(stats.converted >= 30 && stats.reports >= 100, JSON.stringify(stats));
  assert.ok(stats.rejected >= 200, JSON.stringify(stats));
  assert.equal(stats.converted + stats.rejected, stats.cases);
});
