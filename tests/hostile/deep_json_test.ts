/**
 * Hostile depth in reports: a WSJF file with a 50,000-deep object under a key the schema doesn't
 * know, and a custom converter returning such an object or one that refers to itself. Each is
 * refused with the reason (not queued as is), by the converter test API, by the real agent (the
 * file goes to Error, a good file still reaches the server) and by `agent convert` (a message and
 * exit code 1, never an uncaught RangeError). A report at the deepest allowed step nesting passes.
 */
import assert from "#assert";
import path from "#path";
import { converter } from "../../src/convert/converters/wsjf.ts";
import { MAX_STEP_DEPTH } from "../../src/wsjf/rules.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { AgentHarness } from "../e2e/_harness.ts";
import { convertInput } from "../convert/_station.ts";
import { convertValid, rejects } from "../convert/_convert.ts";

const DEEP = 50_000;

function report(sn: string, id: string): Record<string, unknown> {
  return {
    type: "T",
    id,
    sn,
    pn: "PN-DEEP",
    rev: "A",
    processCode: 10,
    result: "P",
    start: "2026-01-05T08:00:00.000+01:00",
    root: {
      id: 1,
      group: "M",
      stepType: "SequenceCall",
      name: "MainSequence",
      status: "P",
      seqCall: { path: "main.seq", name: "MainSequence", version: "1.0" },
    },
  };
}

/** The report as JSON text with `"extra": {"a":{"a":…1…}}` nested `depth` levels. */
function deepText(depth: number, sn = "SN-DEEP"): string {
  const base = JSON.stringify(report(sn, "6f1c1e5e-0000-4000-8000-00000000d33b"));
  return `${base.slice(0, -1)},"extra":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
}

/** Steps nested `levels` deep, each level a sequence call, the innermost a numeric test. */
function nestedSteps(levels: number): Record<string, unknown> {
  let s: Record<string, unknown> = {
    stepType: "ET_NLT",
    name: "leaf",
    status: "P",
    numericMeas: [{ compOp: "GELE", value: 1, lowLimit: 0, highLimit: 2, status: "P" }],
  };
  for (let i = levels - 1; i >= 1; i--) {
    s = { stepType: "SequenceCall", name: `level ${i}`, status: "P", steps: [s] };
  }
  return s;
}

Deno.test("deep json: a 50,000-deep object under an unknown key is refused with the reason", async () => {
  const input = convertInput(deepText(DEEP), "deep.json");
  await rejects(converter, input, /deep\.json .*extra: .*nested more than 512 levels deep/);

  // The same from any converter: the check is part of validating every report.
  const cyclic = report("SN-C", "6f1c1e5e-0000-4000-8000-00000000c1c1");
  const loop: Record<string, unknown> = { name: "me" };
  loop.self = loop;
  cyclic.misc = loop;
  const v = validateReport(cyclic);
  if (v.ok) throw new Error("a self-referring report was accepted");
  assert.match(v.problems[0], /^misc: .*nested more than 512 levels deep \(or the value refers/);

  // Not a false alarm: steps at the deepest allowed nesting, with measurements, pass.
  const deepest = report("SN-OK", "6f1c1e5e-0000-4000-8000-00000000a0a0");
  deepest.root = nestedSteps(MAX_STEP_DEPTH);
  const [ok] = await convertValid(converter, convertInput(JSON.stringify(deepest), "ok.json"));
  assert.equal(ok.sn, "SN-OK");
});

const hostileModule = `
const base = ${JSON.stringify(report("SN-X", "6f1c1e5e-0000-4000-8000-00000000e0e0"))};
export default {
  name: "hostile",
  description: "returns a too-deep or self-referring report when told to",
  convert(input) {
    const word = new TextDecoder().decode(input.bytes).trim();
    const r = structuredClone(base);
    r.id = input.sha256.slice(0, 8) + "-0000-4000-8000-" + input.sha256.slice(8, 20);
    r.sn = word;
    if (word === "DEEP") {
      let o = 1;
      for (let i = 0; i < ${DEEP}; i++) o = { a: o };
      r.extra = o;
    } else if (word === "CYCLE") {
      r.extra = { name: "loop" };
      r.extra.self = r.extra;
    }
    return [r];
  },
};
`;

Deno.test("deep json: the real agent puts too-deep and self-referring reports in Error, the good file goes on", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "json", format: "wsjf", pattern: "*.json" },
      { name: "custom", module: "./hostile.js", pattern: "*.txt" },
    ],
    config: { pool: { min: 1, max: 2, timeoutSeconds: 20 } },
  });
  await Deno.writeTextFile(path.join(h.dir, "hostile.js"), hostileModule);
  await h.start();
  await h.drop("json", "deep.json", deepText(DEEP));
  await h.drop("custom", "deep.txt", "DEEP");
  await h.drop("custom", "cycle.txt", "CYCLE");
  await h.drop("json", "good.json", JSON.stringify(report("SN-GOOD", crypto.randomUUID())));
  await h.drop("custom", "good.txt", "SN-GOOD-2");

  const note = (folder: string, name: string) =>
    Deno.readTextFile(path.join(h.dropDir(folder), "Error", `${name}.error.txt`));
  await h.waitFor(
    async () => {
      const json = path.join(h.dropDir("json"), "Error");
      const custom = path.join(h.dropDir("custom"), "Error");
      return await h.inError(json, "deep.json") && await h.inError(custom, "deep.txt") &&
        await h.inError(custom, "cycle.txt");
    },
    "the three hostile files in Error",
    60_000,
  );
  await h.waitFor(() => h.server.store.list().length === 2, "the 2 good reports on the server");
  assert.deepEqual(h.server.store.list().map((r) => r.report.sn).sort(), ["SN-GOOD", "SN-GOOD-2"]);

  assert.match(await note("json", "deep.json"), /extra: .*nested more than 512 levels deep/);
  assert.match(await note("custom", "deep.txt"), /extra: .*nested more than 512 levels deep/);
  assert.match(await note("custom", "cycle.txt"), /extra: .*refers to itself/);
  const s = await h.status();
  assert.equal(s.running, true);
  assert.equal(s.queue?.pending ?? 0, 0);
});

Deno.test("deep json: agent convert refuses it with a message and exit 1, never an uncaught error", async () => {
  await using h = await AgentHarness.create({ server: false });
  const file = path.join(h.dir, "deep.json");
  await Deno.writeTextFile(file, deepText(DEEP));
  const r = await h.cli(["convert", file, "--format", "wsjf", "--config", h.configFile]);
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /Uncaught|RangeError|Maximum call stack/);
  assert.match(r.stderr, /deep\.json can't be converted: .*extra: .*nested more than 512 levels/);
  assert.equal(r.stdout, "");

  const bad = await h.cli(["convert", file, "--params", "[1]", "--config", h.configFile]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--params must be a JSON object .*not an array/);
});
