/**
 * Every shared station sample converts, through `format: "auto"` and the worker's own
 * conversion (runConversion: detect, convert, fill station fields, validate, serialise, the path
 * `agent convert FILE` takes), to the reports its README row describes: the number of units,
 * each serial and verdict, the part number. Or it is refused with the reason specific to that
 * file. The expected values are in _samples_expected.ts; every file must have a row there.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import type { WsjfReport } from "../../src/convert/contract.ts";
import { runConversion } from "../../src/convert/conversion.ts";
import { needsSharedFixtures, sharedFixture, sharedFixturesDir } from "../_fixtures.ts";
import { type Expected, SAMPLES } from "./_samples_expected.ts";
import { station } from "./_station.ts";

const decoder = new TextDecoder();

/** Every sample file under stations/, relative to it (not the README or .gitattributes). */
function allSamples(): string[] {
  const root = sharedFixture("stations")!;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(r);
      else if (e.isFile && rel !== "") out.push(r);
    }
  };
  walk("");
  return out.sort();
}

async function check(rel: string, expected: Expected): Promise<void> {
  const file = sharedFixture("stations", rel)!;
  const outcome = await runConversion({
    converter: "samples",
    format: "auto",
    bytes: Deno.readFileSync(file),
    name: path.basename(file),
    path: file,
    station: { ...station },
    params: expected.params ?? {},
  });
  if ("fails" in expected) {
    if (outcome.ok) throw new Error(`${rel} converted, but must be refused (${expected.fails})`);
    assert.equal(outcome.kind, "conversion", `${rel}: ${outcome.message}`);
    assert.match(outcome.message, expected.fails);
    assert.ok(outcome.hint.length > 0, `${rel}: refused without a hint`);
    return;
  }
  if (!outcome.ok) throw new Error(`${rel}: ${outcome.kind}: ${outcome.message}`);
  const reports: WsjfReport[] = outcome.reports.map((r) => JSON.parse(decoder.decode(r.body)));
  assert.equal(reports.length, expected.sn.length, `${rel}: number of units`);
  assert.deepEqual(reports.map((r) => r.sn), expected.sn, `${rel}: serials`);
  if (expected.result) {
    assert.deepEqual(reports.map((r) => r.result), expected.result, `${rel}: verdicts`);
  }
  if (expected.pn !== undefined) {
    const pns = [...new Set(reports.map((r) => r.pn))];
    assert.deepEqual(pns, [expected.pn], `${rel}: part number`);
  }
  assert.equal(new Set(reports.map((r) => r.id)).size, reports.length, `${rel}: ids not unique`);
}

for (const [rel, expected] of Object.entries(SAMPLES)) {
  Deno.test({
    name: `samples: ${rel}`,
    ...needsSharedFixtures,
    fn: () => check(rel, expected),
  });
}

Deno.test({
  name: "samples: the table has one row for each sample file, and no other",
  ...needsSharedFixtures,
  fn() {
    assert.ok(sharedFixturesDir !== null);
    const files = allSamples();
    const rows = Object.keys(SAMPLES).sort();
    assert.deepEqual(
      files.filter((f) => !(f in SAMPLES)),
      [],
      "sample files without an expected row",
    );
    assert.deepEqual(rows.filter((r) => !files.includes(r)), [], "rows for files that are gone");
  },
});
