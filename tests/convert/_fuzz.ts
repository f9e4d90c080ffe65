/**
 * A shared fuzz helper for converter tests. Feeds a converter mutated, truncated, random,
 * huge-line and wrongly-encoded versions of seed samples and checks the contract: every call
 * either returns reports that pass the schema (after `fillStationFields`, as the pool does) or
 * throws a ConversionError. Any other exception, a non-array result or an invalid report is a
 * bug. `detect` must return a number in 0..1 and never throw.
 *
 * Deterministic: a fixed PRNG seed, so a failure reproduces; each failure names its case
 * number and mutation.
 *
 * ```ts
 * Deno.test("myformat: fuzz", async () => {
 *   await fuzzConverter(converter, [Deno.readFileSync(ownFixture("convert", "myformat", "a.txt"))], {
 *     params: { partNumber: "PN" },
 *   });
 * });
 * ```
 *
 * @module
 */
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type Converter } from "../../src/convert/contract.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { concat } from "./_convert.ts";
import { convertInput, station } from "./_station.ts";
import { seededRandom } from "../../wats_test_server/prng.ts";

/** Fuzz options. */
export interface FuzzOptions {
  /** Converter params for every case. */
  params?: Record<string, unknown>;
  /** Number of cases (default 300). */
  cases?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** File name given to the converter (default "fuzz.dat"). */
  name?: string;
}

/** What happened over all cases. */
export interface FuzzStats {
  cases: number;
  /** Calls that returned reports (all valid). */
  converted: number;
  /** Calls that threw a ConversionError. */
  rejected: number;
  /** Reports returned in total. */
  reports: number;
}

type Mutator = (b: Uint8Array, r: () => number) => Uint8Array;

const int = (r: () => number, n: number) => Math.floor(r() * n);
const TOKENS = new TextEncoder().encode(` <>/"'=&;:\t\n\r{}[],.-+eE0123456789\\\u00e4`);

function lines(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 10) {
      out.push(b.subarray(s, i + 1));
      s = i + 1;
    }
  }
  if (s < b.length) out.push(b.subarray(s));
  return out;
}

const MUTATORS: ReadonlyArray<[string, Mutator]> = [
  ["bit flips", (b, r) => {
    const c = b.slice();
    for (let k = 1 + int(r, 8); k > 0 && c.length > 0; k--) c[int(r, c.length)] ^= 1 << int(r, 8);
    return c;
  }],
  ["random bytes overwrite", (b, r) => {
    const c = b.slice();
    for (let k = 1 + int(r, 16); k > 0 && c.length > 0; k--) c[int(r, c.length)] = int(r, 256);
    return c;
  }],
  ["token splice", (b, r) => {
    let c = b;
    for (let k = 1 + int(r, 6); k > 0; k--) {
      const at = int(r, c.length + 1);
      c = concat(
        c.subarray(0, at),
        TOKENS.subarray(int(r, TOKENS.length)).slice(0, 1 + int(r, 3)),
        c.subarray(at),
      );
    }
    return c;
  }],
  ["delete range", (b, r) => {
    const at = int(r, b.length + 1);
    const len = int(r, Math.max(1, Math.min(b.length - at, 2000)));
    return concat(b.subarray(0, at), b.subarray(at + len));
  }],
  ["duplicate range", (b, r) => {
    const at = int(r, b.length + 1);
    const len = int(r, Math.max(1, Math.min(b.length - at, 2000)));
    return concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
  }],
  ["truncate", (b, r) => b.slice(0, int(r, b.length + 1))],
  ["random bytes", (_b, r) => {
    const c = new Uint8Array(int(r, 2048));
    for (let i = 0; i < c.length; i++) c[i] = int(r, 256);
    return c;
  }],
  ["empty", () => new Uint8Array(0)],
  ["swap lines", (b, r) => {
    const ls = lines(b);
    if (ls.length < 2) return b;
    const i = int(r, ls.length);
    const j = int(r, ls.length);
    [ls[i], ls[j]] = [ls[j], ls[i]];
    return concat(...ls);
  }],
  ["drop and repeat lines", (b, r) => {
    const ls = lines(b);
    if (ls.length === 0) return b;
    const out: Uint8Array[] = [];
    for (const l of ls) {
      const x = r();
      if (x < 0.05) continue;
      out.push(l);
      if (x > 0.95) out.push(l);
    }
    return concat(...out);
  }],
  ["huge line", (b, r) => {
    const len = 100_000 + int(r, 200_000);
    const line = new Uint8Array(len).fill(r() < 0.5 ? 0x41 : 0x39);
    if (r() < 0.5) { for (let i = 0; i < len; i += 7) line[i] = TOKENS[int(r, TOKENS.length)]; }
    const at = int(r, b.length + 1);
    return concat(b.subarray(0, at), line, b.subarray(at));
  }],
  ["utf-16le", (b, r) => {
    const s = new TextDecoder().decode(b);
    const out = new Uint8Array(s.length * 2 + 2);
    out[0] = 0xff;
    out[1] = 0xfe;
    for (let i = 0; i < s.length; i++) {
      out[2 + 2 * i] = s.charCodeAt(i) & 0xff;
      out[3 + 2 * i] = s.charCodeAt(i) >> 8;
    }
    return r() < 0.5 ? out : out.subarray(2);
  }],
  ["latin-1 and control bytes", (b, r) => {
    let c = b;
    for (let k = 1 + int(r, 10); k > 0; k--) {
      const at = int(r, c.length + 1);
      const ins =
        [[0xe4], [0xfc, 0xf6], [0], [1], [2], [6], [0xc3], [0xef, 0xbb, 0xbf], [0x80]][int(r, 9)];
      c = concat(c.subarray(0, at), new Uint8Array(ins), c.subarray(at));
    }
    return c;
  }],
  ["BOM + CRLF", (b, r) => {
    const crlf: number[] = [];
    for (const x of b) {
      if (x === 10) crlf.push(13);
      crlf.push(x);
    }
    const body = new Uint8Array(crlf);
    return r() < 0.5 ? concat(new Uint8Array([0xef, 0xbb, 0xbf]), body) : body;
  }],
];

/**
 * Checks that every seed converts to valid reports, then runs `cases` fuzz cases against
 * `converter` and throws an Error that lists the first failures when the contract is broken.
 * Returns the counts; callers assert on them (some cases convert, some are refused), since a
 * converter that refuses every mutation, or accepts every one, is not doing its job either.
 */
export async function fuzzConverter(
  converter: Converter,
  seeds: Uint8Array[],
  options: FuzzOptions = {},
): Promise<FuzzStats> {
  if (seeds.length === 0) throw new Error("fuzzConverter needs at least one seed sample");
  // Mutations of a file the converter refuses prove nothing (a converter that rejects
  // everything would pass), so each seed must convert to valid reports first.
  for (const [k, seed] of seeds.entries()) {
    const input = convertInput(seed, options.name ?? "fuzz.dat", options.params ?? {});
    let reports: unknown;
    try {
      reports = await converter.convert(input);
    } catch (e) {
      throw new Error(
        `${converter.name}: fuzz seed ${k} does not convert (${
          e instanceof Error ? e.message : e
        }); ` +
          "give seeds (and params) that convert, so the mutations start from a valid file",
      );
    }
    if (!Array.isArray(reports) || reports.length === 0) {
      throw new Error(`${converter.name}: fuzz seed ${k} converts to no reports`);
    }
    for (const rep of reports) {
      fillStationFields(rep as object, station);
      const v = validateReport(rep);
      if (!v.ok) {
        throw new Error(`${converter.name}: fuzz seed ${k} is invalid: ${v.problems.join("; ")}`);
      }
    }
  }
  const r = seededRandom(options.seed ?? 1);
  const total = options.cases ?? 300;
  const stats: FuzzStats = { cases: total, converted: 0, rejected: 0, reports: 0 };
  const failures: string[] = [];
  for (let i = 0; i < total; i++) {
    const seed = seeds[int(r, seeds.length)];
    const [mname, mutate] = MUTATORS[int(r, MUTATORS.length)];
    let bytes = mutate(seed, r);
    if (r() < 0.2) bytes = MUTATORS[int(r, 6)][1](bytes, r); // sometimes stack two mutations
    const label = `case ${i} (${mname}, ${bytes.length} bytes)`;
    try {
      const d = converter.detect?.({
        head: bytes.subarray(0, 8192),
        name: options.name ?? "fuzz.dat",
      });
      if (d !== undefined && !(typeof d === "number" && d >= 0 && d <= 1)) {
        failures.push(`${label}: detect returned ${d}`);
      }
    } catch (e) {
      failures.push(`${label}: detect threw ${e instanceof Error ? e.stack : e}`);
    }
    const input = convertInput(bytes, options.name ?? "fuzz.dat", options.params ?? {});
    let reports: unknown;
    try {
      reports = await converter.convert(input);
    } catch (e) {
      if (e instanceof ConversionError) {
        stats.rejected++;
        if (!e.message || !e.hint) failures.push(`${label}: ConversionError without message/hint`);
      } else {
        failures.push(`${label}: threw ${e instanceof Error ? e.stack : String(e)}`);
      }
      continue;
    }
    if (!Array.isArray(reports)) {
      failures.push(`${label}: returned ${typeof reports}, not an array`);
      continue;
    }
    stats.converted++;
    stats.reports += reports.length;
    reports.forEach((rep, k) => {
      fillStationFields(rep as object, station);
      const v = validateReport(rep);
      if (!v.ok) {
        failures.push(`${label}: report ${k} invalid: ${v.problems.slice(0, 3).join("; ")}`);
      }
    });
  }
  if (failures.length > 0) {
    throw new Error(
      `${converter.name}: ${failures.length} of ${total} fuzz cases broke the contract:\n` +
        failures.slice(0, 5).join("\n"),
    );
  }
  return stats;
}

/**
 * Asserts that a fuzz run did both: some cases converted (the mutations left valid files) and
 * some were refused (the converter checks what it reads), each at least `min` times.
 */
export function assertFuzzStats(stats: FuzzStats, min = 1): void {
  const s = JSON.stringify(stats);
  if (stats.converted < min) {
    throw new Error(`only ${stats.converted} fuzz case(s) converted: ${s}`);
  }
  if (stats.rejected < min) throw new Error(`only ${stats.rejected} fuzz case(s) refused: ${s}`);
  if (stats.converted + stats.rejected !== stats.cases) {
    throw new Error(`converted + refused is not the number of cases: ${s}`);
  }
  if (stats.reports < stats.converted) {
    throw new Error(`fewer reports than converted cases: ${s}`);
  }
}
