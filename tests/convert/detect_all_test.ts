/**
 * `format: "auto"` over every sample we have: the shared station samples (their folder names the
 * format) and our own fixtures (tests/fixtures/convert/<format>/). For each sample the expected
 * converter must score highest, at least 0.5 (what auto takes), with every other converter at
 * least 0.2 lower, and `detectFormat` (what the worker runs for "auto") must pick it. Files that
 * are not units of their own (a Klippel unit's data files, an xjlog's inner Info.xml) must be
 * taken by no converter.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import type { Converter } from "../../src/convert/contract.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { detectFormat } from "../../src/convert/conversion.ts";
import {
  needsSharedFixtures,
  ownFixture,
  sharedFixture,
  sharedFixtureFiles,
} from "../_fixtures.ts";

/** Each shared station folder (and sub-folder holding samples) → the format that reads it. */
const SHARED_FORMAT: Readonly<Record<string, string>> = {
  "atml-teststand": "atml",
  "devkit-example-csv": "csv",
  "fct-csv-semicolon": "csv",
  "keysight-i3070-log": "i3070",
  "klippel-qc-log": "klippel-qc",
  "listen-soundcheck-txt/EU": "soundcheck",
  "listen-soundcheck-txt/US": "soundcheck",
  "saki-aoi-xml": "saki-aoi",
  "sigmaquest-unitreport-xml": "sigmaquest",
  "spea-3030-csv": "spea-3030",
  "stdf-v4": "stdf",
  "stepwize-xspc": "stepwize",
  "takaya-apt94xx-atd": "takaya",
  "takaya-atd": "takaya",
  "takaya-atdx": "takaya",
  "teradyne-gr228x-log": "teradyne-gr228x",
  "teradyne-spectrum-ict": "teradyne-spectrum",
  "teststand-xml": "teststand-xml",
  "virinco-example-xml": "virinco-xml",
  "viscom-aoi-xml": "viscom-aoi",
  "wats-wrml": "wsxf",
  "wats-wsjf": "wsjf",
  "wats-wstf": "wstf",
  "wats-wsxf": "wsxf",
  "xjtag-xjlog": "xjtag",
  "yestech-aoi-txt": "yestech-aoi",
};

/**
 * Folders whose files belong to a unit described elsewhere, so auto must take none of them:
 * shared ones relative to stations/, our own relative to tests/fixtures/convert/.
 */
const PART_OF_A_UNIT_SHARED = ["klippel-qc-log/DUT xyz115 2020-05-14 10-01-37-5 UTC+0200"];
const PART_OF_A_UNIT_OWN = ["klippel-qc/DUT WF8-0042 2023-11-24 23-59-58-0 UTC-0500"];
/** Our own fixture files that are not units: the inner entry of an xjlog ZIP. */
const NOT_A_UNIT_OWN = ["xjtag/Info.xml"];

/**
 * Samples auto does not recognise today, with the reason. Each is a finding to fix in the
 * converter's `detect` (then remove the entry); the test for it is skipped, not left out.
 */
const KNOWN_ISSUES: Readonly<Record<string, string>> = {};

const converters: Array<[string, Converter]> = await Promise.all(
  Object.entries(builtinConverters).map(async ([name, load]) => [name, await load()] as const),
);

/** The first 8 KiB of a file: what the worker's `detectFormat` gives `detect`. */
function head(file: string): Uint8Array {
  const f = Deno.openSync(file);
  try {
    const buf = new Uint8Array(8192);
    const n = f.readSync(buf) ?? 0;
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/** Every converter's score for a file, highest first. */
function scores(file: string): Array<[string, number]> {
  const h = head(file);
  const name = path.basename(file);
  return converters.map(([n, c]) => [n, c.detect?.({ head: h, name }) ?? 0] as [string, number])
    .sort((a, b) => b[1] - a[1]);
}

function fmt(s: Array<[string, number]>): string {
  return s.slice(0, 3).map(([n, v]) => `${n}=${v}`).join(", ");
}

async function assertWinner(file: string, format: string): Promise<void> {
  const s = scores(file);
  const [[winner, best], [second, next]] = s;
  assert.equal(winner, format, `${file}: ${winner} wins, not ${format} (${fmt(s)})`);
  assert.ok(best >= 0.5, `${file}: ${format} scores only ${best} (auto needs 0.5)`);
  assert.ok(
    best - next >= 0.2 - 1e-9,
    `${file}: runner-up ${second}=${next} is within 0.2 of ${format}=${best}`,
  );
  const picked = await detectFormat(Deno.readFileSync(file), path.basename(file));
  assert.equal(picked.name, format, `${file}: detectFormat picked ${picked.name}`);
}

function assertNobodyTakes(file: string): void {
  const s = scores(file);
  assert.ok(s[0][1] < 0.5, `${file} is part of a unit, yet ${s[0][0]} takes it (${fmt(s)})`);
}

function register(
  key: string,
  check: () => void | Promise<void>,
  shared: boolean,
) {
  const issue = KNOWN_ISSUES[key];
  Deno.test({
    name: `detect all: ${key}` + (issue ? ` (known issue: ${issue})` : ""),
    ignore: (shared && needsSharedFixtures.ignore) || issue !== undefined,
    fn: check,
  });
}

// Shared samples (absent on a clone without the shared fixtures: the tests are then skipped).
for (const [folder, format] of Object.entries(SHARED_FORMAT)) {
  for (const file of sharedFixtureFiles(path.join("stations", folder))) {
    const rel = path.relative(sharedFixture("stations")!, file);
    register(`shared:${rel}`, () => assertWinner(file, format), true);
  }
}
for (const folder of PART_OF_A_UNIT_SHARED) {
  for (const file of sharedFixtureFiles(path.join("stations", folder))) {
    const rel = path.relative(sharedFixture("stations")!, file);
    register(`shared:${rel}`, () => assertNobodyTakes(file), true);
  }
}

// Our own fixtures: the folder is the format's name.
const ownRoot = ownFixture("convert");
const ownFolders = [...Deno.readDirSync(ownRoot)].filter((e) => e.isDirectory).map((e) => e.name)
  .sort();
for (const folder of ownFolders) {
  for (
    const e of [...Deno.readDirSync(path.join(ownRoot, folder))].sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    if (!e.isFile || e.name.startsWith(".")) continue; // .gitattributes
    const rel = `${folder}/${e.name}`;
    const file = path.join(ownRoot, folder, e.name);
    const check = NOT_A_UNIT_OWN.includes(rel)
      ? () => assertNobodyTakes(file)
      : () => assertWinner(file, folder);
    register(`own:${rel}`, check, false);
  }
}
for (const folder of PART_OF_A_UNIT_OWN) {
  for (const e of Deno.readDirSync(path.join(ownRoot, folder))) {
    const file = path.join(ownRoot, folder, e.name);
    register(`own:${folder}/${e.name}`, () => assertNobodyTakes(file), false);
  }
}

Deno.test({
  name: "detect all: every shared station folder has a format in the map",
  ...needsSharedFixtures,
  fn() {
    const root = sharedFixture("stations")!;
    const mapped = new Set([...Object.keys(SHARED_FORMAT), ...PART_OF_A_UNIT_SHARED]);
    const unmapped: string[] = [];
    const walk = (rel: string) => {
      for (const e of Deno.readDirSync(path.join(root, rel))) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) walk(r);
        else if (e.isFile && rel !== "" && !mapped.has(rel)) unmapped.push(r);
      }
    };
    walk("");
    assert.deepEqual(unmapped, [], "samples in folders the test does not check");
  },
});

Deno.test("detect all: every own fixture folder is a built-in format", () => {
  const unknown = ownFolders.filter((f) => !(f in builtinConverters));
  assert.deepEqual(unknown, []);
});
