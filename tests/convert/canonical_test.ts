/**
 * The copy of a report already in validated form (src/wsjf/canonical.ts), held against zod: it
 * must return exactly what zod returns (stripped of control characters, key order included) or
 * nothing, for real converter outputs and for thousands of mutated reports; and real reports
 * must take it (else the validation speed-up has silently gone).
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import { compileCanonical } from "../../src/wsjf/canonical.ts";
import { wsjfReportSchema } from "../../src/wsjf/schema.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { stripControlCharsDeep } from "../../src/convert/text.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { ownFixture } from "../_fixtures.ts";
import { convertInput, station } from "./_station.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const copy = compileCanonical(wsjfReportSchema);

/** zod's validated form of `value` (what validateReport starts from), or undefined. */
function zodForm(value: unknown): unknown {
  const parsed = wsjfReportSchema.safeParse(value);
  return parsed.success ? stripControlCharsDeep(parsed.data) : undefined;
}

/** The fast copy is zod's result, or declines: never a different answer. */
function agrees(value: unknown, what: string): "fast" | "declined" {
  const before = JSON.stringify(value);
  const fast = copy(value);
  assert.equal(JSON.stringify(value), before, `${what}: the input is not changed`);
  if (fast === undefined) return "declined";
  assert.notEqual(fast, value, `${what}: a copy, as zod makes`);
  const z = zodForm(structuredClone(value));
  assert.ok(z !== undefined, `${what}: accepted by the fast copy but not by zod`);
  assert.equal(JSON.stringify(fast), JSON.stringify(z), `${what}: same as zod, key order too`);
  assert.deepEqual(fast, z, what);
  return "fast";
}

/** The converters' own outputs, before validation, on the project's own sample files. */
async function converterOutputs(): Promise<{ what: string; report: Any }[]> {
  const out: { what: string; report: Any }[] = [];
  const root = ownFixture("convert");
  for await (const dir of Deno.readDir(root)) {
    if (!dir.isDirectory || !(dir.name in builtinConverters)) continue;
    const converter = await builtinConverters[dir.name]();
    for await (const f of Deno.readDir(path.join(root, dir.name))) {
      if (!f.isFile) continue;
      const file = path.join(root, dir.name, f.name);
      let reports: Any[];
      try {
        const input = convertInput(await Deno.readFile(file), file);
        const raw = converter.convertStream
          ? await Array.fromAsync(converter.convertStream(input) as AsyncIterable<Any>)
          : await converter.convert(input);
        reports = raw as Any[];
      } catch {
        continue; // a sample of a broken file: its converter says why elsewhere
      }
      reports.forEach((r, i) => {
        fillStationFields(r, station);
        out.push({ what: `${dir.name}/${f.name} #${i + 1}`, report: r });
      });
    }
  }
  return out;
}

Deno.test("canonical: every built-in converter's output on the own samples takes the fast copy, equal to zod's", async () => {
  const outputs = await converterOutputs();
  const formats = new Set(outputs.map((o) => o.what.split("/")[0]));
  assert.ok(formats.size >= 15, `converters with outputs: ${[...formats].join(", ")}`);
  const declined: string[] = [];
  for (const { what, report } of outputs) {
    if (agrees(report, what) === "declined") declined.push(what);
  }
  assert.deepEqual(declined, [], "valid converter outputs that zod had to copy");
});

Deno.test("canonical: sample reports as the e2e benchmark makes them take the fast copy", () => {
  for (const r of makeSampleReports(20, { seed: 3, extraNumericSteps: 40 })) {
    fillStationFields(r, station);
    assert.equal(agrees(JSON.parse(JSON.stringify(r)), r.sn), "fast", r.sn);
  }
});

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that are wrong, or right but changed by validation, somewhere in a report. */
const ODD: unknown[] = [
  null,
  undefined,
  Number.NaN,
  Infinity,
  -Infinity,
  2 ** 31,
  -(2 ** 31) - 1,
  1.5,
  -0,
  0,
  "",
  " ",
  "lt",
  " LT ",
  "LT",
  "GELE",
  "line",
  "LINE",
  "P",
  "p",
  "XYG",
  "S\u0001N",
  "tab\there",
  "emoji 😀",
  "lone \ud800",
  "\ufffe",
  "5B0C2A8E-3D1F-4C7A-9E62-1F8D4B7A0C31",
  "5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31",
  true,
  false,
  [],
  ["x"],
  [{ a: "\u0002" }],
  {},
  { nested: { deep: ["ok", "bad\u0003"] } },
  { nested: { deep: ["ok"] } },
  JSON.parse('{"__proto__": {"polluted": true}}'),
  Object.create({ inherited: 1 }),
  new Date(0),
];

/** Every object and array inside `v`, with the parent and key that hold it. */
function places(v: Any): { parent: Any; key: string | number }[] {
  const out: { parent: Any; key: string | number }[] = [];
  const walk = (x: Any) => {
    if (x === null || typeof x !== "object") return;
    for (const k of Array.isArray(x) ? x.keys() : Object.keys(x)) {
      out.push({ parent: x, key: k });
      walk(x[k]);
    }
  };
  walk(v);
  return out;
}

Deno.test("canonical: thousands of mutated reports: the fast copy equals zod's or declines", () => {
  const next = rng(20261203);
  const base = makeSampleReports(8, { seed: 5, extraNumericSteps: 6 }).map((r) => {
    fillStationFields(r, station);
    return JSON.stringify(r);
  });
  let fast = 0;
  let declined = 0;
  for (let i = 0; i < 4000; i++) {
    const r = JSON.parse(base[i % base.length]);
    const edits = 1 + Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const at = places(r);
      const p = at[Math.floor(next() * at.length)];
      const roll = next();
      if (roll < 0.15) {
        if (Array.isArray(p.parent)) p.parent.splice(p.key as number, 1);
        else delete p.parent[p.key];
      } else if (roll < 0.25 && !Array.isArray(p.parent)) {
        p.parent[`extra${e}`] = ODD[Math.floor(next() * ODD.length)];
      } else {
        p.parent[p.key] = ODD[Math.floor(next() * ODD.length)];
      }
    }
    if (agrees(r, `mutant ${i}`) === "fast") fast++;
    else declined++;
  }
  // Both ways are exercised: mutations that keep a report valid and canonical, and others.
  assert.ok(fast > 200 && declined > 200, `fast ${fast}, declined ${declined}`);
});

Deno.test("canonical: validateReport gives the same result by either way", () => {
  const r = JSON.parse(JSON.stringify(makeSampleReports(1, { seed: 9 })[0]));
  fillStationFields(r, station);
  const fast = validateReport(r);
  const slow = validateReport({ ...r, id: r.id.toUpperCase() }); // zod lower-cases it
  if (!fast.ok || !slow.ok) throw new Error("both are valid");
  assert.deepEqual(slow.report, fast.report);
  assert.deepEqual(slow.warnings, fast.warnings);
  assert.notEqual(fast.report, r, "a copy: the input is not what is remembered as validated");
});

Deno.test("canonical: a converter's odd objects: hidden schema keys, a Proxy that shows __proto__ late, a trap that throws", () => {
  const base = () => {
    const r = JSON.parse(JSON.stringify(makeSampleReports(1, { seed: 11 })[0]));
    fillStationFields(r, station);
    return r;
  };
  // A schema key that for..in does not list (not enumerable) beside an unknown key: the unknown
  // one is kept, as zod keeps it.
  const hidden = base();
  Object.defineProperty(hidden.uut, "comment", { value: "c", enumerable: false });
  hidden.uut.vendorField = "kept";
  const out = copy(hidden) as Any;
  if (out !== undefined) assert.equal(out.uut.vendorField, "kept");
  const checked = validateReport(hidden);
  assert.ok(checked.ok && (checked.report as Any).uut.vendorField === "kept");
  // A Proxy that hides "__proto__" from the first look and lists it later: never copied.
  const proxied = base();
  let looks = 0;
  const evil = { steps: "inherited" };
  proxied.root = new Proxy(proxied.root, {
    ownKeys: (t) => [...Reflect.ownKeys(t), "__proto__"],
    getOwnPropertyDescriptor: (t, k) =>
      k === "__proto__"
        ? looks++ === 0
          ? undefined
          : { value: evil, enumerable: true, configurable: true, writable: true }
        : Reflect.getOwnPropertyDescriptor(t, k),
    get: (t, k, receiver) => k === "__proto__" ? evil : Reflect.get(t, k, receiver),
  });
  const p = copy(proxied) as Any;
  assert.ok(p === undefined || !Object.hasOwn(p.root, "__proto__"), "no __proto__ key copied");
  // A trap that throws: the fast copy declines and zod meets it as before (no new exception).
  const throwing = base();
  throwing.uut = new Proxy(throwing.uut, {
    getOwnPropertyDescriptor: (t, k) => {
      if (k === "__proto__") throw new Error("trap");
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
  assert.equal(copy(throwing), undefined);
});
