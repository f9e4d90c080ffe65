/**
 * `format: "auto"` and the AOI / Virinco example converters: each recognises its own samples
 * (and the agent picks it for them), and none of them claims any other shared sample: its score
 * there stays below 0.5 (the least `auto` takes) and below the converter that reads the file.
 */
import assert from "#assert";
import path from "#path";
import type { Converter } from "../../src/convert/contract.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { detectFormat } from "../../src/convert/conversion.ts";
import { needsSharedFixtures, sharedFixture } from "../_fixtures.ts";

/** Each new format and the shared sample folder(s) that hold its files. */
const OWN: Readonly<Record<string, readonly string[]>> = {
  "saki-aoi": ["stations/saki-aoi-xml"],
  "viscom-aoi": ["stations/viscom-aoi-xml"],
  "yestech-aoi": ["stations/yestech-aoi-txt"],
  "virinco-xml": ["stations/virinco-example-xml"],
};

/** Every file under the shared fixtures' stations/ and wats/ trees, relative to the fixtures. */
function allSamples(): string[] {
  const root = sharedFixture()!;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(path.join(root, rel))) {
      const p = path.join(rel, e.name);
      if (e.isDirectory) walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  walk("stations");
  walk("wats");
  return out.sort();
}

function head(rel: string): Uint8Array {
  const f = Deno.openSync(sharedFixture(rel)!);
  try {
    const buf = new Uint8Array(8192);
    const n = f.readSync(buf) ?? 0;
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

Deno.test({
  name: "detect: AOI and Virinco example converters take their own samples, and no other",
  ...needsSharedFixtures,
  async fn() {
    const converters = new Map<string, Converter>();
    for (const [name, load] of Object.entries(builtinConverters)) {
      converters.set(name, await load());
    }
    const samples = allSamples();
    assert.ok(samples.length > 40, `only ${samples.length} shared samples found`);
    let foreign = 0;
    for (const rel of samples) {
      const bytes = head(rel);
      const name = path.basename(rel);
      const scores = new Map<string, number>();
      for (const [n, c] of converters) scores.set(n, c.detect?.({ head: bytes, name }) ?? 0);
      for (const [format, folders] of Object.entries(OWN)) {
        const mine = scores.get(format)!;
        if (folders.some((f) => rel.startsWith(`${f}/`))) {
          assert.ok(mine >= 0.5, `${format} scores its own sample ${rel} only ${mine}`);
          const full = Deno.readFileSync(sharedFixture(rel)!);
          assert.equal((await detectFormat(full, name)).name, format, rel);
          continue;
        }
        foreign++;
        assert.ok(mine < 0.5, `${format} claims ${rel} with ${mine}`);
        const best = Math.max(...[...scores].filter(([n]) => n !== format).map(([, s]) => s));
        if (best >= 0.5) {
          assert.ok(mine < best, `${format} scores ${rel} ${mine}, the reader only ${best}`);
        }
      }
    }
    assert.ok(foreign > 4 * 40, `${foreign} foreign checks`);
  },
});
