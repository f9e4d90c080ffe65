/**
 * Mutations of real samples, through `format: "auto"` and the worker's conversion
 * (runConversion), with assertions on what came out of every case, not only "no crash":
 *
 * - re-encoded (UTF-16LE with a BOM, the other line end: LF → CRLF or CRLF → LF, Windows-1252
 *   ↔ UTF-8 for non-ASCII text): every variant converts to the same reports (ids aside);
 * - truncated at 8 points (3 for samples over 1 MB): refused with a reason, or only units the
 *   whole file has, each exactly as there (a cut unit must never pass for a complete one);
 * - 10 single bit flips (3 over 1 MB): refused with a reason, or at most the original number of
 *   units; never a converter bug (an exception, invalid WSJF, two reports with one id);
 * - very large (the text repeated to about 3 MB, as a log that keeps growing): refused with a
 *   reason, the units repeated, or exactly the original units.
 *
 * The samples: every shared station sample that converts (_samples_expected.ts), and our own
 * CRLF fixtures (for CRLF → LF).
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import { type ConvertOutcome, runConversion } from "../../src/convert/conversion.ts";
import { decodeText } from "../../src/convert/text.ts";
import { seededRandom } from "../../wats_test_server/prng.ts";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import { toCrlf, toLf } from "./_convert.ts";
import { utf16le, windows1252 } from "./_reencode.ts";
import { PN, SAMPLES } from "./_samples_expected.ts";
import { station } from "./_station.ts";

interface Sample {
  key: string;
  file: string;
  params: Record<string, unknown>;
  shared: boolean;
}

const samples: Sample[] = [
  ...Object.entries(SAMPLES).filter(([, e]) => !("fails" in e)).map(([rel, e]) => ({
    key: `shared:${rel}`,
    file: sharedFixture("stations", rel) ?? rel,
    params: e.params ?? {},
    shared: true,
  })),
  ...[
    ["atml/atml202_failed_crlf.xml", PN],
    ["i3070/panel_crlf.log", {}],
    ["saki-aoi/failed_panel_crlf.xml", {}],
    ["teststand-xml/classic_failed_crlf.xml", PN],
    ["virinco-xml/report_crlf.xml", {}],
    ["yestech-aoi/board_fail_crlf.txt", {}],
  ].map(([rel, params]) => ({
    key: `own:${rel}`,
    file: ownFixture("convert", rel as string),
    params: params as Record<string, unknown>,
    shared: false,
  })),
];

/**
 * Known failures, with the reason; each is a converter finding (fix it, then remove the row).
 */
const KNOWN_ISSUES: Readonly<Record<string, string>> = {};

/**
 * Formats with no end marker, where a file cut exactly at a line end reads as a complete file
 * with fewer rows (docs/converters.md, "Files cut short"): for these samples a cut right after
 * a line end may convert (to no more units than the whole file); every other cut is refused
 * or gives only whole units, as for all samples.
 */
const NO_END_MARKER: ReadonlySet<string> = new Set([
  "shared:fct-csv-semicolon/fct_all_ok.csv", // key;value header + step table, plain rows
]);

/** Samples whose converters tell a file cut short: some refusal of a cut copy must say so. */
const CUT_SHORT_SAID =
  /^shared:(fct-csv-semicolon|klippel-qc-log|listen-soundcheck-txt|takaya-[\w-]+)\//;

const decoder = new TextDecoder();
/**
 * A report body without its id (ids may be derived from the file's bytes) and with the line
 * numbers in conversion warnings masked (a copy further down a file is on other lines).
 */
const content = (body: Uint8Array) => {
  const { id: _id, ...rest } = JSON.parse(decoder.decode(body));
  return JSON.stringify(rest).replace(/line \d+: /g, "line N: ");
};

function convert(s: Sample, bytes: Uint8Array): Promise<ConvertOutcome> {
  return runConversion({
    converter: "variants",
    format: "auto",
    bytes,
    name: path.basename(s.file),
    path: s.file,
    station: { ...station },
    params: s.params,
  });
}

/** The whole sample's reports (ids aside); the sample must convert. */
async function original(s: Sample): Promise<{ bytes: Uint8Array; reports: string[] }> {
  const bytes = Deno.readFileSync(s.file);
  const o = await convert(s, bytes);
  if (!o.ok) throw new Error(`${s.key} does not convert: ${o.message}`);
  return { bytes, reports: o.reports.map((r) => content(r.body)) };
}

/** Fewer cases for samples over 1 MB (each conversion of those takes seconds). */
const cases = (bytes: Uint8Array, n: number) => bytes.length > 1_000_000 ? 3 : n;

function isBinary(bytes: Uint8Array): boolean {
  const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  return gz || zip || bytes.subarray(0, 8192).includes(0);
}

/** A refusal must be the converter's own, with a reason: not a crash or a converter bug. */
function assertRefusal(o: ConvertOutcome & { ok: false }, what: string): void {
  assert.equal(o.kind, "conversion", `${what}: ${o.kind}: ${o.message}`);
  assert.ok(o.message.length > 0 && o.hint.length > 0, `${what}: refused without a reason`);
}

async function reencoded(s: Sample): Promise<void> {
  const { bytes, reports } = await original(s);
  const { text, encoding } = decodeText(bytes);
  const body = text.replace(/^\ufeff/, "");
  const variants: Array<[string, Uint8Array]> = [["UTF-16LE + BOM", utf16le(body)]];
  variants.push(
    /\r\n/.test(body) ? ["CRLF → LF", toLf(bytes)] : ["LF → CRLF", toCrlf(bytes)],
  );
  if (/[\u0080-\uffff]/.test(body)) {
    // An XML file says its encoding in its declaration: a re-encoded copy says the new one.
    const declared = (enc: string) =>
      body.replace(/(<\?xml[^>]*\bencoding\s*=\s*["'])[^"']*(["'])/, `$1${enc}$2`);
    const w = windows1252(declared("windows-1252"));
    if (encoding === "utf-8" && w) variants.push(["UTF-8 → Windows-1252", w]);
    if (encoding !== "utf-8") {
      variants.push(["Windows-1252 → UTF-8", new TextEncoder().encode(declared("utf-8"))]);
    }
  }
  let same = 0;
  for (const [name, v] of variants) {
    const o = await convert(s, v);
    if (!o.ok) throw new Error(`${s.key} ${name}: ${o.kind}: ${o.message}`);
    assert.deepEqual(o.reports.map((r) => content(r.body)), reports, `${s.key} ${name}`);
    same++;
  }
  assert.equal(same, variants.length);
  assert.ok(same >= 2, `${s.key}: only ${same} re-encodings`);
}

async function truncated(s: Sample): Promise<void> {
  const { bytes, reports } = await original(s);
  const whole = new Set(reports);
  const stats = { cases: 0, refused: 0, cutShort: 0, exact: 0, units: 0, atLineEnd: 0 };
  const n = cases(bytes, 8);
  for (let k = 1; k <= n; k++) {
    const cut = bytes.subarray(0, Math.floor((bytes.length * k) / (n + 1)));
    const o = await convert(s, cut);
    stats.cases++;
    const what = `${s.key} cut at ${cut.length} of ${bytes.length} bytes`;
    if (!o.ok) {
      assertRefusal(o, what);
      if (/cut short/.test(o.message)) stats.cutShort++;
      stats.refused++;
      continue;
    }
    const lineEnd = cut[cut.length - 1] === 0x0a || cut[cut.length - 1] === 0x0d;
    if (lineEnd && NO_END_MARKER.has(s.key)) {
      assert.ok(o.reports.length <= reports.length, `${what}: more units than the whole file`);
      stats.atLineEnd++;
      continue;
    }
    const partial = o.reports.map((r) => content(r.body)).filter((r) => !whole.has(r));
    assert.equal(partial.length, 0, `${what}: ${partial.length} unit(s) not in the whole file`);
    assert.ok(o.reports.length <= reports.length, `${what}: more units than the whole file`);
    stats.exact++;
    stats.units += o.reports.length;
  }
  assert.equal(stats.refused + stats.exact + stats.atLineEnd, stats.cases, JSON.stringify(stats));
  // A cut file holds fewer units than the whole one (the cut one is left out or all refused).
  assert.ok(stats.units < stats.cases * reports.length, JSON.stringify(stats));
  // Where the converters check it, the refusals say so (not only some later error).
  if (CUT_SHORT_SAID.test(s.key)) {
    assert.ok(
      stats.cutShort > 0,
      `${s.key}: no refusal says "cut short": ${JSON.stringify(stats)}`,
    );
  }
}

async function bitFlips(s: Sample): Promise<void> {
  const { bytes, reports } = await original(s);
  const random = seededRandom(bytes.length);
  const stats = { cases: 0, refused: 0, converted: 0 };
  for (let k = 0; k < cases(bytes, 10); k++) {
    const c = bytes.slice();
    const at = Math.floor(random() * c.length);
    const bit = Math.floor(random() * 8);
    c[at] ^= 1 << bit;
    const o = await convert(s, c);
    stats.cases++;
    const what = `${s.key} bit ${bit} of byte ${at} flipped`;
    if (!o.ok) {
      assertRefusal(o, what);
      stats.refused++;
      continue;
    }
    assert.ok(o.reports.length <= reports.length, `${what}: ${o.reports.length} units`);
    stats.converted++;
  }
  assert.equal(stats.refused + stats.converted, stats.cases, JSON.stringify(stats));
}

async function large(s: Sample): Promise<void> {
  const { bytes, reports } = await original(s);
  const times = Math.max(2, Math.ceil(3_000_000 / bytes.length));
  const big = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) big.set(bytes, i * bytes.length);
  const o = await convert(s, big);
  const what = `${s.key} repeated ${times} times (${big.length} bytes)`;
  if (!o.ok) return assertRefusal(o, what);
  const got = o.reports.map((r) => content(r.body));
  if (got.length === reports.length) {
    assert.deepEqual(got, reports, `${what}: neither the units repeated nor the original units`);
  } else {
    // Times are the same in every copy, so each copy's units must come out as in the original.
    assert.equal(got.length, reports.length * times, `${what}: ${got.length} units`);
    for (let i = 0; i < times; i++) {
      assert.deepEqual(got.slice(i * reports.length, (i + 1) * reports.length), reports, what);
    }
  }
}

const checks: Array<[string, (s: Sample) => Promise<void>, (s: Sample) => boolean]> = [
  ["re-encoded", reencoded, (s) => !isBinary(head(s))],
  ["truncated", truncated, () => true],
  ["bit flips", bitFlips, () => true],
  // Binary archives (zip, gzip) do not grow by appending; larger ones are above 3 MB already.
  ["very large", large, (s) => !isBinary(head(s)) && Deno.statSync(s.file).size < 2_000_000],
];

function head(s: Sample): Uint8Array {
  if (s.shared && needsSharedFixtures.ignore) return new Uint8Array();
  const f = Deno.openSync(s.file);
  try {
    const buf = new Uint8Array(8192);
    return buf.subarray(0, f.readSync(buf) ?? 0);
  } finally {
    f.close();
  }
}

for (const s of samples) {
  for (const [name, fn, applies] of checks) {
    if (!(s.shared && needsSharedFixtures.ignore) && !applies(s)) continue;
    const issue = KNOWN_ISSUES[`${s.key}: ${name}`];
    Deno.test({
      name: `variants: ${s.key}: ${name}` + (issue ? ` (known issue: ${issue})` : ""),
      ignore: (s.shared && needsSharedFixtures.ignore) || issue !== undefined,
      fn: () => fn(s),
    });
  }
}
