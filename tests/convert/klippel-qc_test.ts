/**
 * Tests of the `klippel-qc` converter: the real DUT in shared/fixtures/stations/klippel-qc-log
 * (header + curve folder), the synthetic unit in tests/fixtures/convert/klippel-qc/ (CRLF,
 * Windows-1252, a negative UTC offset, Warning and Void verdicts, one-sided limits, a non-text
 * file), the folder rules (real folders, real symbolic links, a folder that appears while the
 * converter waits), format recognition and a fuzz run.
 */
import assert from "#assert";
import path from "#path";
import { converter, parseDutStartTime } from "../../src/convert/converters/klippel-qc.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { assertAutoPicks, assertTakesNoOtherFormat } from "./_detect.ts";
import { fuzzConverter } from "./_fuzz.ts";
import { convertValid, fromLatin1, latin1, leaves, rejects, step, withoutId } from "./_convert.ts";
import { utf16le } from "./_reencode.ts";
import { convertInput, fileInput } from "./_station.ts";

const PN = { partNumber: "PN-SPK", settleSeconds: 0, waitSeconds: 0 };
const REAL = "DUT xyz115 2020-05-14 10-01-37-5 UTC+0200";
const OWN = "DUT WF8-0042 2023-11-24 23-59-58-0 UTC-0500";
const real = () => sharedFixture("stations", "klippel-qc-log", `${REAL}.txt`)!;
const own = () => ownFixture("convert", "klippel-qc", `${OWN}.txt`);

/** A temporary drop folder holding a copy of the synthetic unit. */
async function tempUnit(): Promise<{ dir: string; header: string; curves: string }> {
  const dir = await Deno.makeTempDir({ prefix: "klippel-" });
  const header = path.join(dir, `${OWN}.txt`);
  const curves = path.join(dir, OWN);
  await Deno.copyFile(own(), header);
  await Deno.mkdir(curves);
  for (const e of Deno.readDirSync(ownFixture("convert", "klippel-qc", OWN))) {
    await Deno.copyFile(
      ownFixture("convert", "klippel-qc", OWN, e.name),
      path.join(curves, e.name),
    );
  }
  return { dir, header, curves };
}

Deno.test({
  name: "klippel-qc: the real DUT xyz115 (header + 6 curve files) → one failed report",
  ...needsSharedFixtures,
  async fn() {
    const reports = await convertValid(converter, fileInput(real(), PN));
    assert.equal(reports.length, 1);
    const [r] = reports;
    assert.equal(r.sn, "xyz115");
    assert.equal(r.pn, "PN-SPK");
    assert.equal(r.result, "F"); // Ctrl_OverallVerdict=0
    assert.equal(r.start, "2020-05-14T10:01:37.563+02:00"); // offset 120 min from the file
    assert.equal(r.uut?.user, "win:m.liebig");
    assert.deepEqual(r.root?.seqCall, {
      path: "D:\\databases\\WATS\\example.kdbx",
      name: "example",
      version: "1.0.0",
    });
    assert.deepEqual(r.root?.steps?.map((s) => [s.name, s.status]), [
      ["Impedance", "F"],
      ["Sound Pressure", "P"],
      ["fs", "F"], // in Results_Fail, no data file
      ["pol", "P"], // in Results_Pass, no data file
    ]);
    // Results_Fail=imp re fs; Results_Pass=resp level pol thd rbz; qts in no list.
    assert.deepEqual(leaves(r).map((s) => [s.name, s.status]), [
      ["imp", "F"],
      ["re", "F"],
      ["qts", "P"],
      ["rbz", "P"],
      ["resp", "P"],
      ["thd", "P"],
      ["level", "P"],
      ["fs", "F"],
      ["pol", "P"],
    ]);
    const imp = step(r, "imp");
    assert.equal(imp.stepType, "WATS_XYGMNLT");
    assert.equal(imp.chart?.chartType, "LineLogX");
    assert.deepEqual(imp.chart?.series.map((s) => [s.name, s.xdata.split(";").length]), [
      ["imp", 129],
      ["max", 129],
      ["min", 129],
    ]);
    assert.equal(imp.chart?.series[0].xdata.split(";")[0], "18.75");
    assert.equal(imp.chart?.series[0].ydata.split(";")[0], "1.7263");
    const out = imp.numericMeas?.find((m) => m.name === "Points out of limits");
    assert.equal(out?.status, "F");
    assert.ok(out!.value! > 0);
    // re: value "-" (not measured), limits kept, verdict from Results_Fail.
    assert.deepEqual(step(r, "re").numericMeas, [
      { compOp: "GELE", status: "F", lowLimit: 2.8764, highLimit: 3.5156 },
    ]);
    assert.deepEqual(step(r, "level").numericMeas, [
      { compOp: "GELE", status: "P", value: 95.203, lowLimit: 91.337, highLimit: 97.337 },
    ]);
    // thd: the first five rows are "-" in both columns.
    assert.equal(step(r, "thd").chart?.series[0].xdata.split(";")[0], "230");
    assert.deepEqual(
      r.miscInfos?.filter((m) => m.description !== "Header file").map((m) => m.text),
      ["0 (Fail)", "PROGRAMMER", "sp2"],
    );
  },
});

Deno.test("klippel-qc: synthetic unit: CRLF, cp1252, UTC-05:00, Warning/Void lists, one-sided limits", async () => {
  const [r] = await convertValid(converter, fileInput(own(), PN));
  assert.equal(r.sn, "WF8-0042");
  assert.equal(r.result, "F"); // verdict 2 = Warning, counted as a failure by default
  assert.equal(r.start, "2023-11-24T23:59:58.007-05:00"); // offset -300 kept, not the station's
  assert.equal(r.machineName, "QC-LINE-3");
  assert.equal(r.uut?.user, "Jörg Müller");
  assert.equal(r.root?.seqCall?.name, "Woofer-8");
  assert.deepEqual(leaves(r).map((s) => [s.name, s.status]), [
    ["spl", "P"],
    ["thd", "F"], // Results_Warning
    ["sens", "P"],
    ["res", "T"], // Results_Void: no result
    ["pol", "P"],
  ]);
  assert.deepEqual(step(r, "sens").numericMeas, [
    { compOp: "GE", status: "P", value: 90.1, lowLimit: 85 },
  ]);
  assert.equal(step(r, "res").numericMeas?.[0].compOp, "LE");
  const thd = step(r, "thd");
  assert.deepEqual(thd.chart?.series.map((s) => s.name), ["thd", "max"]); // no min curve
  assert.equal(thd.numericMeas?.find((m) => m.name === "Points out of limits")?.value, 1);
  assert.ok(
    r.miscInfos?.some((m) =>
      m.description === "Conversion warning" && /readme\.pdf/.test(m.text ?? "")
    ),
  );
  assert.ok(r.miscInfos?.some((m) => m.text === "2 (Warning)"));

  const [pass] = await convertValid(converter, fileInput(own(), { ...PN, warningAs: "pass" }));
  assert.equal(pass.result, "P");
  assert.equal(step(pass, "thd").status, "P");
  const units = { ...PN, units: { spl: "dB SPL" } };
  const [u] = await convertValid(converter, fileInput(own(), units));
  assert.equal(step(u, "spl").chart?.yUnit, "dB SPL");
  assert.equal(step(u, "spl").numericMeas?.[0].unit, "dB SPL");
});

Deno.test("klippel-qc: the start time field list", () => {
  assert.equal(
    parseDutStartTime("2020-5-20-135-5-14-10-1-37-563-120-1.589E+09"),
    "2020-05-14T10:01:37.563+02:00",
  );
  assert.equal(
    parseDutStartTime("2021-1-1-1-5-1-0-0-0-5--570-1.6E+09"),
    "2021-01-01T00:00:00.005-09:30",
  );
  assert.equal(parseDutStartTime("2021-2-8-59-1-30-10-0-0-0-60-1"), null); // 30 February
  assert.equal(parseDutStartTime("2021-2-8-59-1-3-10-0-0-0-900-1"), null); // offset 15 h
  assert.equal(parseDutStartTime("yesterday"), null);
});

Deno.test("klippel-qc: refused headers name the problem", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(own()));
  const input = (t: string) => convertInput(t, path.join(path.dirname(own()), `${OWN}.txt`), PN);
  await rejects(
    converter,
    input(text.replace("Ctrl_OverallVerdict=2", "Ctrl_OverallVerdict=7")),
    /unknown Ctrl_OverallVerdict "7"/,
  );
  await rejects(
    converter,
    input(text.replace("Ctrl_OverallVerdict=2", "Ctrl_OverallVerdict=")),
    /unknown Ctrl_OverallVerdict ""/,
  );
  await rejects(
    converter,
    input(text.replace(/Cfg_DutStartTime=.*/, "Cfg_DutStartTime=2023-13-1")),
    /Cfg_DutStartTime "2023-13-1" is not a Klippel date/,
  );
  await rejects(converter, input("frq\timp\tmax\n1\t2\t3\n"), /not a Klippel QC header/);
  const [noPn] = [{ settleSeconds: 0, waitSeconds: 0 }];
  await rejects(converter, fileInput(own(), noPn), /no part number.*partNumber/);
  // A name that would point the curve folder elsewhere.
  await rejects(converter, convertInput(text, "/tmp/x/...txt", PN), /can't be derived/);
});

Deno.test("klippel-qc: a header cut short is refused, saying where", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(own()));
  const input = (t: string) => convertInput(t, path.join(path.dirname(own()), `${OWN}.txt`), PN);
  const lines = text.split("\r\n");
  const upTo = (n: number) => lines.slice(0, n).join("\r\n") + "\r\n";
  // Cut inside the Results_Warning line (line 22): no line end.
  await rejects(
    converter,
    input(text.slice(0, text.indexOf("Results_Warning=") + 12)),
    /line 22: the last line has no line end: the file looks cut short/,
  );
  // Cut after a //comment line, before its Key=Value line.
  await rejects(
    converter,
    input(upTo(17)),
    /line 17: the header ends with a comment, without its Key=Value line.*cut short/,
  );
  // Cut at a line end inside the Results lists: Results_Fail (and the rest) never came.
  await rejects(
    converter,
    input(upTo(20)),
    /line 20: the header ends without Results_Fail \(Klippel QC writes it into every header\).*cut short/,
  );
  await rejects(
    converter,
    input(upTo(16)),
    /without Ctrl_OverallVerdict, Results_Pass, Results_Fail/,
  );
  // The whole header converts.
  assert.equal((await convertValid(converter, input(text))).length, 1);
});

Deno.test("klippel-qc: a missing curve folder is an error, or the header alone when optional", async () => {
  const t = await tempUnit();
  try {
    await Deno.remove(t.curves, { recursive: true });
    await rejects(converter, fileInput(t.header, PN), /curve folder .* is not there.*"optional"/s);
    const [r] = await convertValid(
      converter,
      fileInput(t.header, { ...PN, curveFolder: "optional" }),
    );
    assert.deepEqual(leaves(r).map((s) => [s.name, s.status]), [
      ["res", "T"],
      ["thd", "F"],
      ["spl", "P"],
      ["pol", "P"],
    ]);
    assert.ok(r.miscInfos?.some((m) => /not found/.test(m.text ?? "")));
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("klippel-qc: the converter waits for a folder that appears and settles", async () => {
  const t = await tempUnit();
  const moved = `${t.curves}.writing`;
  try {
    await Deno.rename(t.curves, moved);
    // Klippel still writing: the folder appears after the conversion started.
    const late = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await Deno.rename(moved, t.curves);
      await Deno.writeTextFile(
        path.join(t.curves, "Late-extra.txt"),
        "name\tvalue\tmax\tmin\nextra\t1.5\t2\t1\n",
      );
    })();
    const [r] = await convertValid(
      converter,
      fileInput(t.header, { ...PN, settleSeconds: 0.5, waitSeconds: 20 }),
    );
    await late;
    assert.equal(step(r, "extra").numericMeas?.[0].value, 1.5);
    assert.equal(step(r, "spl").status, "P");
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test({
  name: "klippel-qc: symbolic links in the curve folder or as the folder are refused",
  ignore: Deno.build.os === "windows", // symlinks need a privilege there
  async fn() {
    const t = await tempUnit();
    const outside = await Deno.makeTempDir({ prefix: "klippel-outside-" });
    try {
      await Deno.writeTextFile(path.join(outside, "secret.txt"), "name\tvalue\nroot\t1\n");
      await Deno.symlink(path.join(outside, "secret.txt"), path.join(t.curves, "X-secret.txt"));
      await rejects(converter, fileInput(t.header, PN), /X-secret\.txt .*symbolic link/);
      await Deno.remove(path.join(t.curves, "X-secret.txt"));
      await Deno.remove(t.curves, { recursive: true });
      await Deno.symlink(outside, t.curves);
      await rejects(converter, fileInput(t.header, PN), /curve folder .* is a symbolic link/);
    } finally {
      await Deno.remove(t.dir, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    }
  },
});

Deno.test("klippel-qc: a hard link in the curve folder (a second name for a file elsewhere) is refused", async () => {
  const t = await tempUnit();
  const outside = await Deno.makeTempDir({ prefix: "klippel-outside-", dir: t.dir });
  try {
    await Deno.writeTextFile(path.join(outside, "secret.txt"), "name\tvalue\nroot\t1\n");
    await Deno.link(path.join(outside, "secret.txt"), path.join(t.curves, "X-secret.txt"));
    await rejects(converter, fileInput(t.header, PN), /X-secret\.txt .*hard link/);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("klippel-qc: curve folder limits: files, bytes per file, bytes in all", async () => {
  const t = await tempUnit();
  try {
    await rejects(
      converter,
      fileInput(t.header, { ...PN, maxCurveFiles: 2 }),
      /more than 2 files.*maxCurveFiles/s,
    );
    const big = "frq\tspl2\tmax\n" + "100\t1\t2\n".repeat(200_000); // 1.8 MB
    await Deno.writeTextFile(path.join(t.curves, "Big-spl2.txt"), big);
    await rejects(
      converter,
      fileInput(t.header, { ...PN, maxCurveFileMB: 1 }),
      /Big-spl2\.txt has \d+ bytes.*maxCurveFileMB/s,
    );
    await rejects(
      converter,
      fileInput(t.header, { ...PN, maxCurveFileMB: 4, maxCurveFolderMB: 1 }),
      /holds more than 1048576 bytes.*maxCurveFolderMB/s,
    );
    // Within the limits, a 200,000-point curve converts.
    const [r] = await convertValid(converter, fileInput(t.header, PN));
    assert.equal(step(r, "spl2").chart?.series[0].xdata.split(";").length, 200_000);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test({
  name: "klippel-qc: format auto picks the headers; detect takes no other format's file",
  ...needsSharedFixtures,
  async fn() {
    await assertAutoPicks(converter, [real(), own()]);
    const checked = assertTakesNoOtherFormat(converter, ["klippel-qc-log", "klippel-qc"]);
    assert.ok(checked > 40, `only ${checked} files checked`);
    // Curve files on their own are not Klippel headers.
    const curve = Deno.readFileSync(ownFixture("convert", "klippel-qc", OWN, "Acoustic-spl.txt"));
    assert.equal(converter.detect!({ head: curve, name: "Acoustic-spl.txt" }), 0);
  },
});

Deno.test("klippel-qc: fuzz (truncated, bit flips, UTF-16, CP1252, CRLF, huge lines)", async () => {
  const header = Deno.readFileSync(own());
  const params = { ...PN, curveFolder: "optional" };
  const stats = await fuzzConverter(converter, [header], {
    params,
    name: `${OWN}.txt`,
    cases: 250,
  });
  assert.ok(stats.converted > 20, `converted ${stats.converted}`);
  assert.ok(stats.rejected > 20, `rejected ${stats.rejected}`);
  assert.equal(stats.reports, stats.converted); // one unit per header
});

Deno.test("klippel-qc: UTF-8, UTF-16 and LF copies of the header convert alike", async () => {
  const cp1252 = Deno.readFileSync(own());
  const text = fromLatin1(cp1252); // the fixture is Windows-1252 (Jörg Müller)
  const at = path.join(path.dirname(own()), `${OWN}.txt`);
  const [base] = await convertValid(converter, convertInput(cp1252, at, PN));
  assert.equal(base.uut?.user, "Jörg Müller");
  for (
    const bytes of [
      new TextEncoder().encode(text),
      utf16le(text),
      latin1(text.replaceAll("\r\n", "\n")),
    ]
  ) {
    const [other] = await convertValid(converter, convertInput(bytes, at, PN));
    assert.deepEqual(withoutId(other), withoutId(base));
  }
});
