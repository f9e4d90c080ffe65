import { parseSExpr, type SNode } from "../src/convert/converters/teradyne-spectrum/sexpr.ts";
const t = Deno.readTextFileSync(Deno.args[0]);
const nodes = parseSExpr(t);
const dump = (n: SNode, d: number) => { console.log("  ".repeat(d) + n.key + ": " + JSON.stringify(n.text) + " @" + n.line); n.children.forEach((c) => dump(c, d + 1)); };
const s = nodes.find((n) => n.key === "STEP" && n.children.some((c) => c.key === "SNAME" && c.text === Deno.args[1]));
if (s) dump(s, 0);
console.log(nodes.length, nodes.filter(n=>n.key==="STAT").length, "top-level STAT");
