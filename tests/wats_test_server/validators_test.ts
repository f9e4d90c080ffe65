/**
 * Two readings of the WSJF format side by side: the agent's validator (what it lets out of a
 * converter) and the test server's (its stand-in for the WATS server's checks, written apart
 * from src/ on purpose). Both run over the same reports: every report the own fixtures convert
 * to, the server's sample reports, the raw WSJF fixtures, and one-field mutations of a valid
 * report. Where they disagree is listed; each known disagreement is written down below with why
 * it is so, and any other one fails the test.
 *
 * The dangerous direction is "agent accepts, server rejects": such a report would be queued and
 * then refused for good (a 400).
 */
import assert from "#assert";
import path from "#path";
import { ownFixture } from "../_fixtures.ts";
import { convertInput, station } from "../convert/_station.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { validateReport as agentValidate } from "../../src/wsjf/validate.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { validateReport as serverValidate } from "../../wats_test_server/validate.ts";
import { defaultProcesses } from "../../wats_test_server/processes.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { filesIn, fixtureParams } from "../../scripts/surface.ts";

// deno-lint-ignore no-explicit-any -- reports are mutated freely here
type Any = any;

/**
 * The disagreements we know of, by case name, and why they are acceptable. A case not listed
 * here must be judged alike by both.
 */
const KNOWN: Record<string, string> = {
  "mutation: sn of 101 characters":
    "the agent enforces no length limit (a server's limits are its own, and cutting a serial " +
    "loses data); it warns above pyWATS's 100. The test server enforces maxFieldLength 100.",
  "mutation: processCode unknown to the server":
    "which process codes exist is the server's configuration; the agent accepts any integer",
  "mutation: numeric value NaN text":
    "the agent's output carries finite numbers only (JSON has no NaN; the builder maps " +
    'non-finite station values); the server also reads the "NaN" strings that exports hold',
};

/** A named report to judge. */
interface Case {
  name: string;
  report: unknown;
}

async function convertedFixtures(): Promise<Case[]> {
  const root = ownFixture("convert");
  const out: Case[] = [];
  for (
    const folder of [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name)
      .sort()
  ) {
    const converter = await builtinConverters[folder]();
    for (const file of filesIn(path.join(root, folder))) {
      const rel = path.relative(root, file).replaceAll(path.sep, "/");
      let reports: unknown[];
      try {
        reports = await converter.convert(
          convertInput(Deno.readFileSync(file), file, fixtureParams[rel] ?? {}),
        );
      } catch (e) {
        if (e instanceof ConversionError) continue; // a file meant to be refused
        throw e;
      }
      reports.forEach((r, i) => {
        fillStationFields(r as object, station);
        out.push({ name: `converted ${rel} #${i}`, report: r });
      });
    }
  }
  return out;
}

function rawFixtures(): Case[] {
  const out: Case[] = [];
  const dir = ownFixture("convert", "wsjf");
  for (
    const name of [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"))
      .sort()
  ) {
    const value = JSON.parse(Deno.readTextFileSync(path.join(dir, name)));
    const list = Array.isArray(value) ? value : [value];
    list.forEach((r, i) => out.push({ name: `raw wsjf/${name} #${i}`, report: r }));
  }
  out.push({
    name: "raw wats_server/full_report.json",
    report: JSON.parse(Deno.readTextFileSync(ownFixture("wats_server", "full_report.json"))),
  });
  return out;
}

function sampleReports(): Case[] {
  return makeSampleReports(10, { seed: 7 }).map((r, i) => ({ name: `sample #${i}`, report: r }));
}

/** One-field changes to a valid report, each a thing a converter might get wrong. */
function mutations(): Case[] {
  const base = JSON.parse(Deno.readTextFileSync(ownFixture("convert", "wsjf", "full.json")));
  const numeric = (r: Any) => findStep(r.root, (s) => s.numericMeas?.length > 0);
  const table: [string, (r: Any) => void][] = [
    ["no id", (r) => delete r.id],
    ["id not a UUID", (r) => r.id = "not-a-uuid"],
    ["type X", (r) => r.type = "X"],
    ["result Q", (r) => r.result = "Q"],
    ["no pn", (r) => delete r.pn],
    ["empty sn", (r) => r.sn = ""],
    ["sn of 101 characters", (r) => r.sn = "S".repeat(101)],
    ["no processCode", (r) => delete r.processCode],
    ["processCode as text", (r) => r.processCode = "10"],
    ["processCode unknown to the server", (r) => r.processCode = 9999],
    ["no start", (r) => delete r.start],
    ["start without offset", (r) => r.start = "2026-03-02T09:15:00"],
    ["start not a date", (r) => r.start = "yesterday"],
    ["start in 1900", (r) => r.start = "1900-01-01T00:00:00+00:00"],
    ["no root", (r) => delete r.root],
    ["root not a sequence call", (r) => r.root.stepType = "ET_NLT"],
    ["root without seqCall", (r) => delete r.root.seqCall],
    ["step status Q", (r) => r.root.steps[0].status = "Q"],
    ["step group Z", (r) => r.root.steps[0].group = "Z"],
    ["numeric compOp unknown", (r) => numeric(r).numericMeas[0].compOp = "XX"],
    ["numeric GELE without highLimit", (r) => {
      const m = numeric(r).numericMeas[0];
      m.compOp = "GELE";
      m.lowLimit = 0;
      delete m.highLimit;
    }],
    ["numeric value as text", (r) => numeric(r).numericMeas[0].value = "abc"],
    ["numeric value NaN text", (r) => numeric(r).numericMeas[0].value = "NaN"],
    ["measurement status X", (r) => numeric(r).numericMeas[0].status = "X"],
    ["unknown top-level field", (r) => r.fooBar = 1],
    ["miscInfos not an array", (r) => r.miscInfos = { a: 1 }],
    ["uur on a test report", (r) => r.uur = { userLoginName: "x" }],
    ["binaryData on a test report", (r) => r.binaryData = [{ data: "AA==" }]],
    ["an array, not a report", (r) => r.__array = true],
  ];
  return table.map(([name, mutate]) => {
    const r = structuredClone(base);
    mutate(r);
    return { name: `mutation: ${name}`, report: r.__array ? [base] : r };
  });
}

function findStep(step: Any, pred: (s: Any) => boolean): Any {
  if (pred(step)) return step;
  for (const c of step.steps ?? []) {
    const f = findStep(c, pred);
    if (f) return f;
  }
  return undefined;
}

interface Verdict {
  name: string;
  agent: string | null;
  server: string | null;
}

/**
 * The test server as a site would configure it: its default processes plus every process code
 * the station formats and samples use (a real server knows its site's processes).
 */
function serverSettings(cases: Case[]) {
  const processes = [...defaultProcesses];
  for (const c of cases) {
    const code = (c.report as Any)?.processCode;
    if (/^(converted|sample) /.test(c.name) && !processes.some((p) => p.code === code)) {
      processes.push({
        code,
        name: `Test ${code}`,
        isTestOperation: true,
        isRepairOperation: false,
      });
    }
  }
  return { processes, maxFieldLength: 100, checkLimits: true };
}

/** Each validator's first objection (null: accepted), on a copy of its own. */
function judge(c: Case, settings: ReturnType<typeof serverSettings>): Verdict {
  const a = agentValidate(structuredClone(c.report));
  const s = serverValidate(structuredClone(c.report), settings);
  return {
    name: c.name,
    agent: a.ok ? null : a.problems[0],
    server: s.errors.length === 0 ? null : s.errors[0],
  };
}

Deno.test("validators: the agent's and the test server's readings of WSJF agree (known differences listed)", async () => {
  const cases = [
    ...await convertedFixtures(),
    ...sampleReports(),
    ...rawFixtures(),
    ...mutations(),
  ];
  const settings = serverSettings(cases);
  const verdicts = cases.map((c) => judge(c, settings));
  // The sets are what they claim to be: converted and sample reports are valid for the agent,
  // and most mutations are refused by someone.
  const convertedCount = cases.filter((c) => c.name.startsWith("converted ")).length;
  assert.ok(convertedCount >= 30, `converted reports: ${convertedCount}`);
  for (const v of verdicts.filter((v) => /^(converted|sample) /.test(v.name))) {
    assert.equal(v.agent, null, `${v.name}: the agent refuses its own output: ${v.agent}`);
  }
  const disagree = verdicts.filter((v) => (v.agent === null) !== (v.server === null));
  const line = (v: Verdict) =>
    `${v.name}: agent ${v.agent === null ? "accepts" : `rejects (${v.agent})`}, server ${
      v.server === null ? "accepts" : `rejects (${v.server})`
    }`;
  console.log(
    `${verdicts.length} reports, ${disagree.length} disagreement(s):\n` +
      disagree.map((v) => `  ${line(v)}\n    why: ${KNOWN[v.name] ?? "(not known)"}`).join("\n"),
  );
  const unknown = disagree.filter((v) => KNOWN[v.name] === undefined);
  const gone = Object.keys(KNOWN).filter((n) => !disagree.some((v) => v.name === n));
  assert.deepEqual(
    { unknown: unknown.map(line), gone },
    { unknown: [], gone: [] },
    "the validators disagree where nobody said they may (unknown), or agree where a difference " +
      "was listed (gone): fix the validator that is wrong, or list the difference in KNOWN with why",
  );
});
