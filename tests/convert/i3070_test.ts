import assert from "#assert";
import path from "#path";
import { converter } from "../../src/convert/converters/i3070.ts";
import type { WsjfReport } from "../../src/convert/contract.ts";
import { parseI3070Records } from "../../src/convert/converters/i3070/records.ts";
import { needsSharedFixtures, ownFixture, sharedFixtureFiles } from "../_fixtures.ts";
import { agentRunFlags } from "../../src/runtime.ts";
import { assertFuzzStats, fuzzConverter } from "./_fuzz.ts";
import { convertInput, fileInput } from "./_station.ts";
import {
  allSteps,
  convertValid,
  measurementCount,
  rejects,
  step,
  toLf,
  withoutId,
} from "./_convert.ts";

const real = (name: string) =>
  sharedFixtureFiles("stations/keysight-i3070-log").find((f) => path.basename(f) === name)!;
const own = (name: string) => ownFixture("convert", "i3070", name);
const misc = (r: WsjfReport, d: string) => r.miscInfos?.find((m) => m.description === d)?.text;

/** Counts a record type in a log by scanning the text (independently of the parser). */
function countRecords(text: string, name: string): number {
  return text.split(`{@${name}|`).length - 1;
}

Deno.test("i3070: every real sample converts to valid reports", needsSharedFixtures, async () => {
  const files = sharedFixtureFiles("stations/keysight-i3070-log");
  assert.equal(files.length, 3);
  for (const f of files) {
    const text = Deno.readTextFileSync(f);
    const reports = await convertValid(converter, fileInput(f));
    assert.equal(reports.length, countRecords(text, "BTEST"), f);
    // Every analog record becomes one numeric measurement.
    const numeric = reports.flatMap(allSteps).reduce((n, s) => n + (s.numericMeas?.length ?? 0), 0);
    const analog = ["A-RES", "A-CAP", "A-IND", "A-JUM", "A-DIO", "A-ZEN", "A-MEA"]
      .reduce((n, t) => n + countRecords(text, t), 0);
    assert.equal(numeric, analog, f);
  }
});

Deno.test("i3070: real single board (cmd_all_ok.ict)", needsSharedFixtures, async () => {
  const f = real("cmd_all_ok.ict");
  const [r] = await convertValid(converter, fileInput(f));
  assert.equal(r.sn, "V102508400021DB828853020");
  assert.equal(r.pn, "RSA_Kaizen_INV_Command");
  assert.equal(r.rev, "RevA");
  assert.equal(r.result, "P");
  assert.equal(r.machineName, "DESKTOP-EFC444A");
  assert.equal(r.start, "2025-03-25T19:40:47+01:00"); // 250325194047, Europe/Oslo (CET)
  assert.equal(r.uut?.execTime, 26);
  assert.equal(r.uut?.fixtureId, "2426");
  assert.equal(r.uut?.testSocketIndex, 3); // board 003 in a one-board file
  assert.equal(r.uut?.batchSN, "V102508400019DB828853020"); // parent panel id
  assert.equal(misc(r, "Version label"), "VER_01");
  assert.equal(r.root?.seqCall?.name, "RSA_Kaizen_INV_Command");
  // 696 blocks, one of them (`3%testjet`) a sequence of 2 TJET steps, plus PF and TS.
  const text = Deno.readTextFileSync(f);
  assert.equal(countRecords(text, "BLOCK"), 696);
  assert.equal(allSteps(r).filter((s) => s.stepType !== "SequenceCall").length, 695 + 2 + 1 + 1);
  assert.ok(allSteps(r).every((s) => s.status === "P" || s.status === "D"));
  // {@BLOCK|3%c22|00 {@A-CAP|0|+4.651285E-09{@LIM3|+4.700000E-09|+5.640000E-09|+3.525000E-09}}
  const c22 = step(r, "c22");
  assert.deepEqual(c22.numericMeas, [{
    compOp: "GELE",
    status: "P",
    value: 4.651285e-9,
    unit: "F",
    lowLimit: 3.525e-9,
    highLimit: 5.64e-9,
  }]);
  assert.equal(c22.reportText, "nominal 4.7e-9 F");
  // The custom {@MySW_Version:OK|OK record is ignored.
  assert.ok(!allSteps(r).some((s) => s.name.includes("MySW")));
});

Deno.test("i3070: real analog failure (cmd_analog_nok.ict)", needsSharedFixtures, async () => {
  const [r] = await convertValid(converter, fileInput(real("cmd_analog_nok.ict")));
  assert.equal(r.sn, "V102508400024DB828853020");
  assert.equal(r.result, "F");
  assert.equal(r.uut?.errorCode, 6);
  assert.equal(r.uut?.errorMessage, "failed analog test");
  // {@BLOCK|3%c201|01 {@A-CAP|1|+4.446183E-06{@LIM3|+3.700000E-06|+4.440000E-06|+2.775000E-06}}
  const c201 = step(r, "c201");
  assert.equal(c201.status, "F");
  assert.deepEqual(c201.numericMeas, [{
    compOp: "GELE",
    status: "F",
    value: 4.446183e-6,
    unit: "F",
    lowLimit: 2.775e-6,
    highLimit: 4.44e-6,
  }]);
  assert.equal(
    allSteps(r).find((s) => s.name === "A-CAP")?.status,
    "F",
    "the failure shows on its group",
  );
  const report = step(r, "Failure report");
  assert.equal(report.reportText?.split("\n").length, 14);
  assert.match(report.reportText!, /^-+\nValeo INV_Command.*\n[\s\S]*3%c201 HAS FAILED/);
});

Deno.test(
  "i3070: real 2-board panel with BATCH on the closing line",
  needsSharedFixtures,
  async () => {
    const input = fileInput(real("panel_all_ok.ict"));
    const reports = await convertValid(converter, input);
    assert.deepEqual(reports.map((r) => r.sn), [
      "V112506200217B70016003",
      "V112506200218B70016003",
    ]);
    assert.deepEqual(reports.map((r) => r.uut?.testSocketIndex), [1, 2]);
    assert.deepEqual(reports.map((r) => r.uut?.batchSN), [
      "V112506200217B70016003",
      "V112506200217B70016003",
    ]);
    assert.ok(reports.every((r) => r.result === "P" && r.pn === "DCDC_PSA_C1"));
    // Stable, distinct ids per board.
    const again = await converter.convert(input);
    assert.deepEqual(again.map((r) => r.id), reports.map((r) => r.id));
    assert.notEqual(reports[0].id, reports[1].id);
    // Named A-MEA sub-measurements in one block → one multi-numeric step.
    const fonct = step(reports[0], "q1950_5/fonct1");
    assert.equal(fonct.stepType, "ET_MNLT");
    // {@A-MEA|0|+5.559256E-02|ON{@LIM2|+3.000000E-01|-2.000000E-01}}
    assert.deepEqual(fonct.numericMeas?.find((m) => m.name === "ON"), {
      name: "ON",
      compOp: "GELE",
      status: "P",
      value: 5.559256e-2,
      lowLimit: -0.2,
      highLimit: 0.3,
    });
    // A block mixing D-T and A-MEA is a sequence of a pass/fail and numeric steps.
    const u6051 = step(reports[0], "u6051_15");
    assert.equal(u6051.stepType, "SequenceCall");
    assert.equal(u6051.steps?.filter((s) => s.stepType === "ET_PFT").length, 5);
    assert.deepEqual(u6051.steps?.filter((s) => s.numericMeas).map((s) => s.name), [
      "S1_Z1",
      "S1_Z0",
      "S0_Z1",
      "S0_Z0",
    ]);
    assert.equal(measurementCount(reports[1]), measurementCount(reports[0]));
  },
);

Deno.test("i3070: synthetic CRLF panel, failing board, X'd-out board", async () => {
  // Synthetic fixture: 3 boards, CRLF, no final newline, each BATCH on the previous "}}" line.
  const input = fileInput(own("panel_crlf.log"));
  const reports = await convertValid(converter, input);
  assert.deepEqual(reports.map((r) => r.sn), ["SYN0001", "SYN0002"], "X'd-out board skipped");
  const [ok, bad] = reports;
  assert.equal(ok.result, "P");
  assert.equal(ok.pn, "SYN_BOARD");
  assert.equal(ok.rev, "B");
  assert.equal(ok.uut?.user, "jdoe");
  assert.equal(ok.uut?.fixtureId, "FX-12");
  assert.equal(ok.start, "2024-03-15T08:15:00+01:00");
  assert.deepEqual(ok.root?.steps?.map((s) => s.name), [
    "PF",
    "TS",
    "A-RES",
    "A-CAP",
    "A-MEA",
    "D-T",
    "TJET",
    "A-DIO",
  ]);
  assert.deepEqual(step(ok, "d1").numericMeas, [{
    compOp: "LOG",
    status: "P",
    value: 0.65,
    unit: "V",
  }]);
  assert.equal(step(ok, "r1").reportText, "nominal 1000 Ω");
  assert.deepEqual(step(ok, "u1/vcc").numericMeas?.map((m) => [m.name, m.value]), [
    ["VCC_hi", 3.3],
    ["VCC_lo", 0.01],
  ]);
  assert.ok(!allSteps(ok).some((s) => /SITE|NESTED/.test(s.name)), "custom record ignored");

  assert.equal(bad.result, "F");
  assert.equal(bad.uut?.errorCode, 6);
  const shorts = step(bad, "shorts");
  assert.equal(shorts.status, "F");
  assert.equal(
    shorts.reportText,
    "shorts 001, opens 000, phantoms 000\nTS-S|1|0|GND\nTS-D\\VCC\\+1.200000E+00",
  );
  assert.equal(step(bad, "r1").numericMeas?.[0].status, "F");
  assert.equal(step(bad, "u3").reportText, "substatus 1, failing vector 17, pin count 4");
  assert.equal(step(bad, "Failure report").reportText, "2%r1 HAS FAILED\nMeasured:   1.2100k");

  // LF and CRLF give the same reports (ids aside: they come from the file's bytes).
  const lf = await convertValid(converter, convertInput(toLf(input.bytes), "panel_lf.log"));
  assert.deepEqual(lf.map(withoutId), reports.map(withoutId));
});

Deno.test("i3070: X'd-out boards as Terminated when asked", async () => {
  const reports = await convertValid(
    converter,
    fileInput(own("panel_crlf.log"), { xOutBoards: "terminated" }),
  );
  assert.equal(reports.length, 3);
  const x = reports[2];
  assert.equal(x.sn, "SYN0003");
  assert.equal(x.result, "T");
  assert.equal(x.uut?.errorCode, 13);
  assert.match(misc(x, "X-out")!, /X'd out/);
  // Skipping X-outs does not shift the other boards' ids.
  const skipped = await converter.convert(fileInput(own("panel_crlf.log")));
  assert.deepEqual(skipped.map((r) => r.id), reports.slice(0, 2).map((r) => r.id));
});

Deno.test("i3070: 13-field BATCH, 12-field BTEST, aborted board", async () => {
  const [r] = await convertValid(converter, fileInput(own("aborted_13fields.log")));
  assert.equal(r.sn, "SYN0100");
  assert.equal(r.result, "T");
  assert.equal(r.uut?.errorCode, 81);
  assert.equal(r.uut?.errorMessage, "aborted (STOP)");
  assert.equal(r.uut?.batchSN, undefined);
  assert.equal(r.uut?.user, "test-operator", "no operator in BATCH → the station's");
  assert.equal(misc(r, "Version label"), undefined);
});

Deno.test("i3070: runtime error status and records outside the BTEST braces", async () => {
  // Synthetic: BATCH closed at once, BTEST closed at once, the block after it (other nesting
  // than the samples), status 80 (runtime error), LF, final newline.
  const log = "{@BATCH|PN9|A|F1|1||btest|B1|op7|ctrl9|TP|R1|P|PR\n}\n" +
    "{@BTEST|SN9|80|240101120000|000005|0|all||n|n|240101120005||002\n}\n" +
    "{@BLOCK|2%r7|00\n{@A-RES|0|+1.000000E+02{@LIM2|+1.100000E+02|+9.000000E+01}}\n}\n";
  const [r] = await convertValid(converter, convertInput(log, "err.log"));
  assert.equal(r.sn, "SN9");
  assert.equal(r.result, "E");
  assert.equal(r.uut?.errorMessage, "runtime error");
  assert.equal(r.uut?.user, "op7");
  assert.equal(r.machineName, "ctrl9");
  assert.equal(step(r, "r7").numericMeas?.[0].value, 100);
});

Deno.test("i3070: params", async () => {
  const [r] = await converter.convert(
    fileInput(own("panel_crlf.log"), { partNumberFrom: "versionLabel" }),
  );
  assert.equal(r.pn, "VER_07");
  const [chicago] = await converter.convert(
    fileInput(own("panel_crlf.log"), {}, { timeZone: "America/Chicago" }),
  );
  assert.equal(chicago.start, "2024-03-15T08:15:00-05:00");
  await rejects(
    converter,
    fileInput(own("panel_crlf.log"), { xOutBoards: "maybe" }),
    /xOutBoards/,
  );
});

Deno.test("i3070: damaged and foreign files give clear errors", async () => {
  await rejects(
    converter,
    fileInput(own("truncated.log")),
    /line 5: the file ends inside the \{@BLOCK record that starts on line 3.*incomplete/,
  );
  await rejects(
    converter,
    convertInput("@\n* PASS *\n", "x.ATD"),
    /line 1: text outside any record.*not a Keysight i3070 log/,
  );
  await rejects(converter, convertInput("{@BATCH|A|B\n}\n", "x.log"), /no \{@BTEST record/);
  await rejects(
    converter,
    convertInput("{@BATCH|A\n{@BTEST||00|240101120000\n}}", "x.log"),
    /line 2: BTEST board id \(field 1\) is empty/,
  );
  // …but an X'd-out board without a board id is simply not reported.
  const xOut = "{@BATCH|A\n{@BTEST||13|240101120000\n}}";
  assert.deepEqual(await converter.convert(convertInput(xOut, "x.log")), []);
  assert.deepEqual(
    await converter.convert(convertInput(xOut, "x.log", { xOutBoards: "terminated" })),
    [],
  );
  await rejects(
    converter,
    convertInput("{@BATCH|A||||||||||||\n{@BTEST|SN1|00|notadate|1||||||||1\n}}", "x.log"),
    /line 2: BTEST start time \(field 3\) "notadate"/,
  );
  await rejects(converter, convertInput("}", "x.log"), /"\}" without an open record/);
  await rejects(
    converter,
    convertInput(
      "{@BATCH|A||||||||||||\n{@BTEST|SN1|00|240101120000|1||||||||1\n{@BLOCK|1%r1|OK\n" +
        "{@A-RES|0|+1.0E+00{@LIM2|+2.0E+00|+0.0E+00}}\n}\n}}",
      "x.log",
    ),
    /line 3: \{@BLOCK status "OK" is not a number/,
  );
  await rejects(
    converter,
    convertInput("{@BATCH|X\n" + "{@BATCH|X".repeat(100_000), "deep.log"),
    /line 2: records nested more than 64 deep/,
  );
});

/** Converts with a `warn` that collects what the converter recovered from. */
async function convertWarned(text: string | Uint8Array, name: string) {
  const warnings: string[] = [];
  const input = { ...convertInput(text, name), warn: (m: string) => warnings.push(m) };
  return { reports: await convertValid(converter, input), warnings };
}

Deno.test("i3070: lines cut at 80 columns: records closed at the line end, cut limits dropped", async () => {
  // Written as a real log would be, then every line cut at 80 characters (CRLF).
  const { reports: [r], warnings } = await convertWarned(
    Deno.readFileSync(own("cut_80_columns.log")),
    "cut_80_columns.log",
  );
  assert.equal(r.sn, "SYN8000417");
  assert.equal(r.result, "F"); // BTEST status 06 (analog failure), not guessed from the steps
  const outputs = step(r, "u7_outputs");
  const meas = outputs.numericMeas!;
  assert.equal(meas.length, 9);
  // Cut mid-number ("+2.000000E", "+1.18"): the low limit is left out, the high one kept.
  // (WSJF keeps the one limit of LE in lowLimit.)
  for (const m of meas.slice(0, 6)) {
    assert.deepEqual([m.compOp, m.highLimit], ["LE", undefined], m.name);
    assert.ok(Number.isFinite(m.lowLimit), m.name);
  }
  assert.equal(meas[3].lowLimit, 1.582);
  // Cut in the braces only: both limits are whole and kept.
  for (const m of meas.slice(6)) {
    assert.deepEqual([m.compOp, m.lowLimit, m.highLimit], ["GELE", 11.4, 12.6], m.name);
  }
  assert.equal(meas[5].name, "Supply_rail_5V0_after_ramp_x");
  // The failing capacitor after the cut lines is still its own step (nesting stayed right).
  assert.equal(step(r, "c3").status, "F");
  // 8 records closed at their line end, 6 limits dropped, 1 unknown record: all warned, in
  // the log (via warn) and in the report.
  assert.equal(warnings.length, 15);
  assert.equal(warnings.filter((w) => /not closed on its line/.test(w)).length, 8);
  assert.equal(warnings.filter((w) => /low limit ".*" is cut off; left out/.test(w)).length, 6);
  assert.ok(warnings[0].startsWith("line 9: "), warnings[0]);
  assert.ok(warnings.some((w) => /unknown record \{@MySW_Version:OK skipped/.test(w)));
  const notes = r.miscInfos!.filter((m) => m.description === "Conversion warning");
  assert.equal(notes.length, 11); // 10 of them, then a count of the rest
  assert.match(notes[10].text!, /^5 more \(15 in all/);
});

Deno.test(
  "i3070: a real log cut at 64 columns converts like the whole one",
  needsSharedFixtures,
  async () => {
    const text = Deno.readTextFileSync(real("cmd_analog_nok.ict"));
    const cut = text.split("\n").map((l) => l.slice(0, 64)).join("\n");
    const whole = (await convertValid(converter, convertInput(text, "nok.ict")))[0];
    const { reports: [r], warnings } = await convertWarned(cut, "nok.ict");
    assert.equal(r.sn, whole.sn);
    assert.equal(r.result, whole.result);
    assert.equal(measurementCount(r), measurementCount(whole));
    const cutAnalog = text.split("\n").filter((l) => /^\{@A-/.test(l) && l.length > 64).length;
    assert.ok(cutAnalog > 100);
    assert.equal(warnings.filter((w) => /not closed on its line/.test(w)).length, cutAnalog);
    // No limit is invented: every limit kept is the one the whole log has for that step.
    const meas = (rep: WsjfReport) => allSteps(rep).flatMap((s) => s.numericMeas ?? []);
    const all = meas(whole);
    let kept = 0;
    meas(r).forEach((m, i) => {
      const w = all[i];
      assert.equal(m.value, w.value);
      if (m.compOp === "GELE") {
        assert.deepEqual([m.lowLimit, m.highLimit], [w.lowLimit, w.highLimit]);
        kept++;
      } else if (m.compOp === "LE") assert.equal(m.lowLimit, w.highLimit); // low cut off
      else assert.equal(m.compOp, "LOG");
    });
    assert.ok(kept > 0 && kept < all.length);
  },
);

Deno.test("i3070: a cut log that stops early is still refused", async () => {
  const text = new TextDecoder().decode(Deno.readFileSync(own("cut_80_columns.log")));
  await rejects(
    converter,
    convertInput(text.slice(0, text.lastIndexOf("{@BLOCK|1%c3")), "x.log"),
    /line \d+: the file ends inside the \{@BTEST record that starts on line 2/,
  );
});

Deno.test("i3070: the tokeniser splits on braces, not lines", () => {
  const records = parseI3070Records(
    "{@BATCH|T\n{@BTEST|S|00\n{@BLOCK|1%a|00\n{@A-MEA|0|+1.0E+00|x\n{@LIM2|+2|+0}}\n}\n}}{@BATCH|T\n}",
  );
  assert.deepEqual(records.map((r) => [r.name, r.line]), [["BATCH", 1], ["BATCH", 7]]);
  const mea = records[0].children[0].children[0].children[0];
  assert.deepEqual([mea.name, mea.fields], ["A-MEA", ["0", "+1.0E+00", "x"]]);
  assert.deepEqual(mea.children[0].fields, ["+2", "+0"]);
});

Deno.test("i3070: detect", () => {
  const head = (s: string) => new TextEncoder().encode(s);
  assert.equal(converter.detect!({ head: head("{@BATCH|X|\n{@BTEST|S|00"), name: "a" }), 1);
  assert.equal(converter.detect!({ head: head("@\n* PASS *\n"), name: "a.ATD" }), 0);
  assert.equal(converter.detect!({ head: head("<?xml?>"), name: "a.xml" }), 0);
});

Deno.test("i3070: fuzz", async () => {
  const stats = await fuzzConverter(converter, [
    Deno.readFileSync(own("panel_crlf.log")),
    Deno.readFileSync(own("aborted_13fields.log")),
    Deno.readFileSync(own("cut_80_columns.log")),
  ]);
  assertFuzzStats(stats);
});

Deno.test("i3070: agent convert shows the warnings of a cut log (through a real worker)", async () => {
  const root = path.resolve(import.meta.dirname!, "../..");
  const dir = await Deno.makeTempDir();
  try {
    // No config beside the file: the command's own defaults, format by detection.
    const file = path.join(dir, "cut_80_columns.log");
    await Deno.copyFile(own("cut_80_columns.log"), file);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--frozen", ...agentRunFlags, path.join(root, "main.ts"), "convert", file],
      env: { NO_COLOR: "1" },
      cwd: dir,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(report.sn, "SYN8000417");
    assert.equal(report.result, "F");
    assert.match(stderr, /^warning: line 9: \{@A-MEA record not closed on its line/m);
    assert.match(
      stderr,
      /1 report\(s\) from cut_80_columns\.log \(format i3070\), 15 warning\(s\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
