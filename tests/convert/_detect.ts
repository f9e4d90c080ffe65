/**
 * Format-recognition checks shared by converter tests: `format: "auto"` must pick the converter
 * for its own samples, and the converter's `detect` must stay below the auto threshold (0.5)
 * for every other format's files (the shared station samples and our own fixtures).
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import type { Converter } from "../../src/convert/contract.ts";
import { detectFormat } from "../../src/convert/conversion.ts";
import { ownFixture, sharedFixture } from "../_fixtures.ts";

/**
 * `converter`'s detect score for a text or the first 8 KiB of some bytes, under `name`: the
 * same head the pipeline gives it.
 */
export function detectScore(
  converter: Converter,
  text: string | Uint8Array,
  name: string,
): number {
  const head = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return converter.detect!({ head: head.subarray(0, 8192), name });
}

/** Every file below `dir` (recursively), or none when it does not exist. */
function filesBelow(dir: string | null): string[] {
  if (dir === null) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory) walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** `format: "auto"` picks `converter` for each of these files. */
export async function assertAutoPicks(converter: Converter, files: string[]): Promise<void> {
  assert.ok(files.length > 0, "no samples to detect");
  for (const f of files) {
    const picked = await detectFormat(Deno.readFileSync(f), path.basename(f));
    assert.equal(picked.name, converter.name, `auto picked ${picked.name} for ${f}`);
  }
}

/**
 * `converter.detect` scores every other format's file below 0.5. `ownFolders` are the
 * converter's own folders (relative to the shared `stations/` and to `tests/fixtures/convert/`),
 * left out. Returns how many files were checked.
 */
export function assertTakesNoOtherFormat(converter: Converter, ownFolders: string[]): number {
  const skip = (f: string) => ownFolders.some((o) => f.split(path.sep).includes(o));
  const files = [
    ...filesBelow(sharedFixture("stations")),
    ...filesBelow(sharedFixture("wats")),
    ...filesBelow(ownFixture("convert")),
  ].filter((f) => !skip(f) && !f.endsWith("README.md"));
  for (const f of files) {
    const head = readHead(f);
    const score = converter.detect!({ head, name: path.basename(f) });
    assert.ok(score < 0.5, `${converter.name} scores ${score} for another format's file ${f}`);
  }
  return files.length;
}

function readHead(file: string): Uint8Array {
  const fd = Deno.openSync(file, { read: true });
  try {
    const buf = new Uint8Array(8192);
    const n = fd.readSync(buf) ?? 0;
    return buf.subarray(0, n);
  } finally {
    fd.close();
  }
}
