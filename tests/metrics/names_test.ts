/** The typed list of metric names is the one the agent exposes (the public surface snapshot). */
import assert from "#assert";
import path from "#path";
import { METRIC_PREFIX, METRICS } from "../../src/metrics/names.ts";

const surface = path.join(import.meta.dirname!, "..", "surface", "snapshots", "metrics.txt");

Deno.test("metric names: the typed list and the /metrics surface snapshot name the same metrics", async () => {
  // A line: `wats_agent_<name>[_bucket|_count|_sum] <type> {label,label}`.
  const exposed = new Map<string, { type: string; labels: Set<string> }>();
  for (const line of (await Deno.readTextFile(surface)).split("\n").filter(Boolean)) {
    const m = /^(\S+) (counter|gauge|histogram) \{([^}]*)\}$/.exec(line);
    if (!m) throw new Error(`a line of ${surface} is not "name type {labels}": ${line}`);
    let name = m[1].slice(METRIC_PREFIX.length);
    if (m[2] === "histogram") name = name.replace(/_(bucket|count|sum)$/, "");
    const e = exposed.get(name) ?? { type: m[2], labels: new Set<string>() };
    for (const l of m[3].split(",").filter((l) => l && l !== "le")) e.labels.add(l);
    exposed.set(name, e);
  }
  const listed = Object.fromEntries(
    Object.entries(METRICS).map(([n, d]) => [n, `${d.type} {${[...d.labels].sort().join(",")}}`]),
  );
  const seen = Object.fromEntries(
    [...exposed].map(([n, e]) => [n, `${e.type} {${[...e.labels].sort().join(",")}}`]),
  );
  assert.deepEqual(listed, seen);
});
