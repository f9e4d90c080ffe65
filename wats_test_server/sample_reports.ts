/**
 * Made-up, valid WSJF test reports for the demo, tests and benchmarks: distinct ids and serial
 * numbers, nested sequences, numeric (single, multiple, LT with lowLimit, LOG), pass/fail and
 * string steps, and a share of failing units whose failure propagates to the root. The same
 * seed and index always give the same report.
 *
 * @module
 */
import { createHash } from "#crypto";
import { type Random, seededRandom } from "./prng.ts";

/** A generated report: plain JSON, ready to `JSON.stringify` and post or drop in a folder. */
export interface SampleReport {
  type: "T";
  id: string;
  pn: string;
  sn: string;
  rev: string;
  processCode: number;
  result: "P" | "F";
  machineName: string;
  location: string;
  purpose: string;
  start: string;
  uut: Record<string, unknown>;
  root: SampleStep;
  [key: string]: unknown;
}

/** A step of a generated report, before it has its id. */
interface StepFields {
  group: "S" | "M" | "C";
  stepType: string;
  name: string;
  status: string;
  steps?: SampleStep[];
  [key: string]: unknown;
}

/** A step of a generated report. */
export interface SampleStep extends StepFields {
  id: number;
}

/** How to vary the generated reports. */
export interface SampleReportOptions {
  /** Different seeds give different ids and values. Default 1. */
  seed?: number;
  /** Start time of report 0 (later reports start `intervalSeconds` apart). Default 2026-03-02T08:00:00Z. */
  start?: Date | string;
  /** Seconds between report starts. Default 45. */
  intervalSeconds?: number;
  /** Share of failing units, 0..1. Default 0.2. */
  failRate?: number;
  /** Extra numeric steps per report, to make reports bigger (benchmarks). Default 0. */
  extraNumericSteps?: number;
  /** Serial number prefix. Default "SN". */
  serialPrefix?: string;
}

const products = [
  { pn: "DEMO-PCBA-100", rev: "A", process: 50 },
  { pn: "DEMO-PSU-220", rev: "C", process: 90 },
  { pn: "DEMO-RADIO-7", rev: "B", process: 10 },
];
const stations = [
  { name: "STATION-01", location: "Lab 1", purpose: "Development", offset: 60 },
  { name: "LINE2-ICT", location: "Line 2", purpose: "Production", offset: 0 },
  { name: "EOL-TESTER-3", location: "Plant East", purpose: "Production", offset: -300 },
];
const operators = ["alice", "bob", "chen", "dana"];

/** Makes `count` reports (indexes 0..count-1). */
export function makeSampleReports(
  count: number,
  options: SampleReportOptions = {},
): SampleReport[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`makeSampleReports: count must be a whole number >= 0, found ${count}`);
  }
  return Array.from({ length: count }, (_, i) => makeSampleReport(i, options));
}

/** Makes the report with this index; the same seed and index give the same report. */
export function makeSampleReport(index: number, options: SampleReportOptions = {}): SampleReport {
  const seed = options.seed ?? 1;
  const digest = createHash("sha256").update(`wats-sample:${seed}:${index}`).digest("hex");
  const random = seededRandom(parseInt(digest.slice(32, 40), 16));
  const product = products[index % products.length];
  const station = stations[Math.floor(index / products.length) % stations.length];
  const failRate = options.failRate ?? 0.2;
  const fails = random() < failRate;
  const startMs = new Date(options.start ?? "2026-03-02T08:00:00Z").getTime() +
    index * (options.intervalSeconds ?? 45) * 1000;

  const b = new StepBuilder(random);
  const power = b.sequence("Power", [
    b.numeric("Supply voltage", "GELE", 3.2, 3.4, "V"),
    b.numeric("Standby current", "LT", 1.0, null, "mA"),
    b.multiNumeric("Rails", [
      ["5V", "GELE", 4.9, 5.1, "V"],
      ["12V", "GELE", 11.5, 12.5, "V"],
      ["Ripple", "LOG", null, null, "V"],
    ]),
  ]);
  const functional = b.sequence("Functional", [
    b.passFail("LED check"),
    b.multiPassFail("Self tests", ["RAM", "Flash", "Watchdog"]),
    b.string("Firmware version", "IGNORECASE", "v2.4.1"),
    b.string("Board id", "CASESENSIT", `${product.pn}-${product.rev}`),
    ...Array.from(
      { length: options.extraNumericSteps ?? 0 },
      (_, i) => b.numeric(`Sweep point ${i + 1}`, "GELE", -1 - i / 100, 1 + i / 100, "dB"),
    ),
  ]);
  const root = b.root([
    b.action("Initialize fixture", "S"),
    power,
    functional,
    b.action("Save log", "C"),
  ]);
  let failedStepId: number | null = null;
  if (fails) failedStepId = b.failOne(root);

  const user = operators[Math.floor(random() * operators.length)];
  const report: SampleReport = {
    type: "T",
    id: `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-a${
      digest.slice(17, 20)
    }-${digest.slice(20, 32)}`,
    pn: product.pn,
    sn: `${options.serialPrefix ?? "SN"}-${seed}-${String(index + 1).padStart(6, "0")}`,
    rev: product.rev,
    processCode: product.process,
    result: root.status === "F" ? "F" : "P",
    machineName: station.name,
    location: station.location,
    purpose: station.purpose,
    start: localTime(startMs, station.offset),
    uut: {
      user,
      execTime: round(2 + random() * 28, 3),
      fixtureId: `FX-${1 + Math.floor(random() * 9)}`,
      ...(failedStepId !== null ? { stepIdCausedUUTFailure: failedStepId } : {}),
    },
    miscInfos: [{ description: "Generator", text: `sample_reports seed ${seed}` }],
    root,
  };
  return report;
}

/** Builds steps with ids in depth-first pre-order (the root is 1), as exports number them. */
class StepBuilder {
  readonly #random: Random;
  readonly #steps: SampleStep[] = [];

  constructor(random: Random) {
    this.#random = random;
  }

  root(children: SampleStep[]): SampleStep {
    const root = this.sequence("MainSequence Callback", children);
    this.#renumber(root);
    return root;
  }

  sequence(name: string, steps: SampleStep[]): SampleStep {
    return this.#step({
      group: "M",
      stepType: "SequenceCall",
      name,
      status: "P",
      seqCall: { path: "demo/sample.seq", name, version: "1.2.0" },
      steps,
    });
  }

  action(name: string, group: "S" | "C"): SampleStep {
    return this.#step({ group, stepType: "Action", name, status: "D" });
  }

  numeric(
    name: string,
    compOp: string,
    low: number | null,
    high: number | null,
    unit: string,
  ): SampleStep {
    return this.#step({
      group: "M",
      stepType: "ET_NLT",
      name,
      status: "P",
      numericMeas: [this.#numericMeas(compOp, low, high, unit)],
    });
  }

  multiNumeric(
    name: string,
    items: [string, string, number | null, number | null, string][],
  ): SampleStep {
    return this.#step({
      group: "M",
      stepType: "ET_MNLT",
      name,
      status: "P",
      numericMeas: items.map(([n, op, lo, hi, unit]) => ({
        name: n,
        ...this.#numericMeas(op, lo, hi, unit),
      })),
    });
  }

  passFail(name: string): SampleStep {
    return this.#step({
      group: "M",
      stepType: "ET_PFT",
      name,
      status: "P",
      booleanMeas: [{ status: "P" }],
    });
  }

  multiPassFail(name: string, names: string[]): SampleStep {
    return this.#step({
      group: "M",
      stepType: "ET_MPFT",
      name,
      status: "P",
      booleanMeas: names.map((n) => ({ name: n, status: "P" })),
    });
  }

  string(name: string, compOp: string, limit: string): SampleStep {
    const value = compOp === "IGNORECASE" ? limit.toUpperCase() : limit;
    return this.#step({
      group: "M",
      stepType: "ET_SVT",
      name,
      status: "P",
      stringMeas: [{ compOp, status: "P", value, limit }],
    });
  }

  /** Makes one measurement fail and propagates F up to the root; returns the failed step's id. */
  failOne(root: SampleStep): number {
    const candidates = this.#steps.filter((s) =>
      (s.numericMeas as { compOp: string }[] | undefined)?.some((m) => m.compOp !== "LOG") ||
      s.booleanMeas !== undefined || s.stringMeas !== undefined
    );
    const step = candidates[Math.floor(this.#random() * candidates.length)];
    const numeric = step.numericMeas as Record<string, unknown>[] | undefined;
    if (numeric !== undefined) {
      const m = numeric.find((x) => x.compOp !== "LOG")!;
      m.value = m.compOp === "LT"
        ? round((m.lowLimit as number) * (1.2 + this.#random()), 4)
        : round((m.highLimit as number) + Math.abs(m.highLimit as number) * 0.05 + 0.01, 4);
      m.status = "F";
    } else if (step.booleanMeas !== undefined) {
      const list = step.booleanMeas as Record<string, unknown>[];
      list[list.length - 1].status = "F";
    } else {
      const m = (step.stringMeas as Record<string, unknown>[])[0];
      m.value = "unexpected";
      m.status = "F";
    }
    step.status = "F";
    step.causedUUTFailure = true;
    this.#markFailedPath(root, step);
    return step.id;
  }

  #markFailedPath(node: SampleStep, target: SampleStep): boolean {
    if (node === target) return true;
    for (const child of node.steps ?? []) {
      if (this.#markFailedPath(child, target)) {
        node.status = "F";
        return true;
      }
    }
    return false;
  }

  #numericMeas(
    compOp: string,
    low: number | null,
    high: number | null,
    unit: string,
  ): Record<string, unknown> {
    let value: number;
    if (compOp === "LT") value = (low as number) * (0.3 + 0.6 * this.#random());
    else if (low !== null && high !== null) {
      value = low + (high - low) * (0.1 + 0.8 * this.#random());
    } else value = this.#random() * 0.05;
    const m: Record<string, unknown> = { compOp, status: "P", value: round(value, 4), unit };
    if (low !== null) m.lowLimit = low;
    if (high !== null) m.highLimit = high;
    return m;
  }

  #step(fields: StepFields): SampleStep {
    const step: SampleStep = { id: 0, totTime: round(0.01 + this.#random() * 0.5, 3), ...fields };
    this.#steps.push(step);
    return step;
  }

  #renumber(root: SampleStep): void {
    let next = 1;
    const visit = (s: SampleStep) => {
      s.id = next++;
      s.steps?.forEach(visit);
    };
    visit(root);
  }
}

/** ISO local time with its offset, e.g. 2026-03-02T09:15:00.000+01:00. */
function localTime(utcMs: number, offsetMinutes: number): string {
  const local = new Date(utcMs + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
