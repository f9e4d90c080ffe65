import { converter } from "../src/convert/converters/csv.ts";
import { fileInput } from "../tests/convert/_station.ts";
import { fillStationFields } from "../src/convert/wsjf/builder.ts";
import { validateReport } from "../src/convert/wsjf/schema.ts";
const [f, p] = [Deno.args[0], JSON.parse(Deno.args[1] ?? "{}")];
try {
  const rs = await converter.convert(fileInput(f, p));
  for (const r of rs) {
    fillStationFields(r, { name: "x", location: "l", purpose: "p", timeZone: "Europe/Oslo", operator: "o" });
    const v = validateReport(r);
    console.log(JSON.stringify(r, null, 1).slice(0, Number(Deno.env.get("N") ?? 3000)));
    console.log("valid", v.ok, v.ok ? "" : v.problems);
  }
} catch (e) { console.log("ERR", e.message, "|", e.hint); }
