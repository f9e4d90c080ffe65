/**
 * What the converter pool (./pool.ts) and a worker (./worker.ts) say to each other, and the
 * check of what a worker sends back: a worker runs converters, so its replies are not trusted
 * to have the shape they should.
 *
 * @module
 */
import type { ConvertedReport, ConvertJob, ConvertOutcome, FailureKind } from "./conversion.ts";

/**
 * What the pool posts to a worker: a job, a ping (answered only while its loop is free), or the
 * answer to a batch of reports (`stop`: the caller could not take it, end the conversion).
 */
export type WorkerRequest =
  | { jobId: number; job: ConvertJob }
  | { ping: true }
  | { ack: number; stop?: boolean };

/** What a worker posts back. */
export interface WorkerReply {
  /** Sent once, when the worker has loaded and listens for jobs. */
  ready?: true;
  /** The answer to a ping. */
  pong?: true;
  jobId?: number;
  outcome?: ConvertOutcome;
  /** Reports made so far (the job asked for batches); the worker waits for the `ack`. */
  batch?: ConvertedReport[];
  /** The worker wants to be replaced after this job (a custom module failed to load). */
  retire?: boolean;
  /** The job was not run: give it to a fresh worker (a custom module changed on disk). */
  rerun?: boolean;
  /** With `rerun`: the job's bytes (when it came with them), handed back. */
  bytes?: Uint8Array;
}

/** A reply's outcome, checked for shape: anything else is the converter's fault. */
export function wellFormed(o: unknown): ConvertOutcome {
  const x = o as Record<string, unknown> | undefined;
  if (x?.ok === false && typeof x.kind === "string" && typeof x.message === "string") {
    return {
      ok: false,
      kind: x.kind as FailureKind,
      message: x.message,
      hint: String(x.hint ?? ""),
      code: typeof x.code === "string" ? x.code : undefined,
    };
  }
  if (
    x?.ok === true && typeof x.format === "string" && typeof x.sha256 === "string" &&
    wellFormedReports(x.reports) && (x.handedOn === undefined || typeof x.handedOn === "number")
  ) {
    return x as unknown as ConvertOutcome;
  }
  return {
    ok: false,
    kind: "invalid-output",
    message: "the converter worker sent back something that is not a conversion outcome",
    hint: "A converter must return its reports, not post messages itself; fix the converter.",
  };
}

/** Whether a worker's reports (in an outcome or a batch) have the shape they should. */
export function wellFormedReports(reports: unknown): reports is ConvertedReport[] {
  return Array.isArray(reports) &&
    reports.every((r: Record<string, unknown>) =>
      typeof r?.id === "string" && typeof r.sn === "string" && typeof r.pn === "string" &&
      r.body instanceof Uint8Array
    );
}
