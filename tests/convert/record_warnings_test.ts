/**
 * The record-oriented converters on every real sample of the shared fixtures: clean files give
 * no warnings (warnings must mean something), and the one known oddity is named.
 */
import assert from "#assert";
import path from "#path";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { needsSharedFixtures, sharedFixtureFiles } from "../_fixtures.ts";
import { convertValid } from "./_convert.ts";
import { fileInput } from "./_station.ts";

const FOLDERS: Array<[string, string[], Record<string, unknown>]> = [
  ["i3070", ["keysight-i3070-log"], {}],
  ["teradyne-gr228x", ["teradyne-gr228x-log"], {}],
  ["teradyne-spectrum", ["teradyne-spectrum-ict"], {}],
  ["spea-3030", ["spea-3030-csv"], { partNumber: "PN" }],
  ["takaya", ["takaya-atd", "takaya-apt94xx-atd", "takaya-atdx"], {}],
  ["stdf", ["stdf-v4"], {}],
];

Deno.test(
  "record converters: real samples convert without warnings",
  needsSharedFixtures,
  async () => {
    const seen: Record<string, string[]> = {};
    for (const [format, folders, params] of FOLDERS) {
      const converter = await builtinConverters[format]();
      for (const f of folders.flatMap((d) => sharedFixtureFiles(`stations/${d}`))) {
        if (f.endsWith("semi-ate-minimal-test.stdf")) continue; // refused: tested in stdf_test.ts
        const warnings: string[] = [];
        const reports = await convertValid(converter, {
          ...fileInput(f, params),
          warn: (m: string) => warnings.push(m),
        });
        assert.ok(reports.length > 0, f);
        if (warnings.length > 0) seen[path.basename(f)] = warnings;
      }
    }
    // The 2-board panel carries a custom user record on each board.
    assert.deepEqual(seen, {
      "panel_all_ok.ict": [
        "line 2026: unknown record {@MySW_Version:OK skipped, with what is nested in it",
        "line 4053: unknown record {@MySW_Version:OK skipped, with what is nested in it",
      ],
    });
  },
);
