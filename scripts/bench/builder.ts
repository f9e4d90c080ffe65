/**
 * The report builder alone, at flying-prober scale (the TAKAYA ATDX sample: 10 reports of
 * 3,104 numeric steps in 4 groups): time to add the steps, to `build()`, and what the pool does
 * after (`fillStationFields` + `validateReport`, then `JSON.stringify`). Medians of `--rounds`
 * repeats in one process, so a loaded machine skews less than single runs.
 *
 *   deno run -A scripts/bench/builder.ts [--reports 10] [--steps 3104] [--rounds 7]
 *
 * @module
 */
import { parseArgs } from "#util";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { ReportBuilder } from "../../src/wsjf/builder.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { station } from "../../tests/convert/_station.ts";

const ctx = { station, sha256: "ab".repeat(32), name: "bench.atdx" };
const GROUPS = 4;

function addSteps(unit: number, steps: number): ReportBuilder {
  const rb = new ReportBuilder(ctx, { partNumber: "BENCH" }, {
    sn: `SN${unit}`,
    start: { year: 2024, month: 3, day: 7, hour: 9, minute: 5, second: 1 },
    unitIndex: unit,
    result: "P",
  });
  const perGroup = Math.ceil(steps / GROUPS);
  for (let g = 0; g < GROUPS; g++) {
    const seq = rb.root.sequence(`Group ${g + 1}`, { status: "P" });
    for (let i = 0; i < perGroup && g * perGroup + i < steps; i++) {
      seq.numeric(`R${i}_NET${i}_GND`, {
        value: 1000 + (i % 17),
        low: 990,
        high: 1010 + i,
        unit: "Ohm",
        status: i % 50 === 0 ? "FAIL" : "PASS",
      }, { reportText: `REF 1000 +1% -1% R MODE ${i % 5}` });
    }
  }
  return rb;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs the benchmark and prints one line per phase. */
export function main(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      reports: { type: "string", default: "10" },
      steps: { type: "string", default: "3104" },
      rounds: { type: "string", default: "7" },
    },
  });
  const reports = Number(values.reports);
  const steps = Number(values.steps);
  const rounds = Number(values.rounds);
  const t = { add: [] as number[], build: [] as number[], validate: [] as number[], json: [] };
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    const builders = Array.from({ length: reports }, (_, u) => addSteps(u, steps));
    t.add.push(performance.now() - t0);
    t0 = performance.now();
    const built = builders.map((rb) => rb.build());
    t.build.push(performance.now() - t0);
    t0 = performance.now();
    const valid = built.map((rep) => {
      fillStationFields(rep, station);
      const v = validateReport(rep);
      if (!v.ok) throw new Error(`invalid report: ${v.problems.slice(0, 3).join("; ")}`);
      return v.report;
    });
    t.validate.push(performance.now() - t0);
    t0 = performance.now();
    bytes = valid.reduce((n, rep) => n + JSON.stringify(rep).length, 0);
    (t.json as number[]).push(performance.now() - t0);
  }
  const total = reports * steps;
  console.log(
    `${reports} reports × ${steps} numeric steps, ${(bytes / 1e6).toFixed(1)} MB of WSJF; ` +
      `median of ${rounds}`,
  );
  for (const [phase, xs] of Object.entries(t)) {
    const ms = median(xs as number[]);
    console.log(
      `${phase.padEnd(9)} ${ms.toFixed(0).padStart(6)} ms  ${
        (ms * 1000 / total).toFixed(2)
      } µs/step`,
    );
  }
}

if (import.meta.main) main(Deno.args);
