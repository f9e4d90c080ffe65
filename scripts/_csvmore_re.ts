import { parseNumber } from "../src/convert/number.ts";
for (const n of [10000, 20000, 40000]) {
  const s = "1".repeat(n) + "x";
  const t = performance.now(); parseNumber(s); console.log(n, (performance.now() - t).toFixed(1), "ms");
}
import { } from "../src/convert/converters/csv.ts"; const re = /^([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-][^\d]*)$/u;
for (const n of [10000, 20000]) {
  const s = "1".repeat(n) + "x1";
  const t = performance.now(); re.exec(s); console.log("glued", n, (performance.now() - t).toFixed(1), "ms");
}
