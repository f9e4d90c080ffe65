import { builtinConverters } from "../src/convert/converters/mod.ts";
import { fileInput } from "../tests/convert/_station.ts";
import { fillStationFields, } from "../src/convert/wsjf/builder.ts";
import { validateReport, walkSteps } from "../src/convert/wsjf/schema.ts";
const [fmt, f, p, ...names] = Deno.args;
const converter = await builtinConverters[fmt]();
try {
  const rs = await converter.convert(fileInput(f, JSON.parse(p ?? "{}")));
  console.log("reports", rs.length);
  for (const r of rs) {
    fillStationFields(r, { name: "x", location: "l", purpose: "p", timeZone: "Europe/Oslo", operator: "o" });
    const v = validateReport(r);
    const { root, ...hdr } = r as any;
    console.log(JSON.stringify(hdr));
    let n = 0; const kinds: Record<string, number> = {};
    const all: any[] = [];
    const rec = (s: any, d: number) => { all.push([s, d]); for (const c of s.steps ?? []) rec(c, d + 1); };
    rec(root, 0);
    for (const [s] of all) kinds[s.stepType] = (kinds[s.stepType] ?? 0) + 1;
    console.log("steps", all.length, JSON.stringify(kinds), "valid", v.ok, v.ok ? "" : v.problems);
    for (const [s, d] of all) if (names.some((nm) => s.name.includes(nm)) || names.includes("*")) { const { steps, ...rest } = s; console.log(" ".repeat(d) + JSON.stringify(rest)); }
  }
} catch (e) { console.log("ERR", (e as Error).message, "|", (e as any).hint); }
