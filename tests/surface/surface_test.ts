/**
 * The public surface holds still: what a station engineer, a monitoring system or a WATS server
 * sees of the agent (status shape, metric names, CLI help, config keys and defaults, the reports
 * each fixture converts to) is compared with the snapshots committed in tests/surface/snapshots/.
 * A refactor must leave them as they are; a deliberate change updates them with
 * `deno task surface`, in a commit of its own that says why.
 *
 * @module
 */
import { committed, committedIn, type Part, parts, type Snapshot } from "../../scripts/surface.ts";

const HOW_TO_UPDATE =
  "If this change to the public surface is deliberate, run `deno task surface` " +
  "and commit tests/surface/snapshots/ on its own, with the reason in the message.";

/** The lines only in `expected` (-) and only in `actual` (+), at most `max` of them. */
function lineDiff(expected: string, actual: string, max = 40): string {
  const count = (text: string) => {
    const m = new Map<string, number>();
    for (const l of text.split("\n")) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const e = count(expected), a = count(actual);
  const out: string[] = [];
  for (const [l, n] of e) for (let i = a.get(l) ?? 0; i < n; i++) out.push(`- ${l}`);
  for (const [l, n] of a) for (let i = e.get(l) ?? 0; i < n; i++) out.push(`+ ${l}`);
  if (out.length === 0) return "  (the same lines in another order)";
  return out.slice(0, max).join("\n") + (out.length > max ? `\n… ${out.length - max} more` : "");
}

/** Every difference between the collected and the committed snapshot files of one part. */
function differences(actual: Snapshot, subs: Set<string>): string[] {
  const names = new Set(actual.keys());
  for (const sub of subs) for (const n of committedIn(sub)) names.add(n);
  const expected = committed(names);
  const problems: string[] = [];
  for (const name of [...names].sort()) {
    const want = expected.get(name), got = actual.get(name);
    if (want === undefined) problems.push(`${name}: new (not in the snapshots)`);
    else if (got === undefined) problems.push(`${name}: gone (in the snapshots, not produced)`);
    else if (want !== got) problems.push(`${name} differs:\n${lineDiff(want, got)}`);
  }
  return problems;
}

function check(part: Part) {
  Deno.test({
    name: `surface: ${part.name} as in tests/surface/snapshots/`,
    ignore: !part.available,
    async fn() {
      const actual = await part.collect();
      // A folder of per-file snapshots is compared whole, so a fixture that disappears shows.
      const subs = new Set(
        [...actual.keys()].filter((n) => n.includes("/")).map((n) => n.split("/")[0]),
      );
      const problems = differences(actual, subs);
      if (problems.length > 0) {
        throw new Error(
          `the public surface changed (${part.name}):\n\n${problems.join("\n\n")}\n\n` +
            HOW_TO_UPDATE,
        );
      }
    },
  });
}

for (const part of parts) check(part);
