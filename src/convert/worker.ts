/**
 * The pool worker's entry point (a `node:worker_threads` worker): takes one job at a time,
 * runs it, and posts the outcome back. Report bodies are transferred, not copied.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { type ConvertJob, runConversion } from "./run.ts";

/** A marker that the compile test finds in the binary, proving this module is embedded. */
export const WORKER_ID = "wats-agent/convert-worker@1";

parentPort!.on("message", async (msg: { job: ConvertJob }) => {
  const outcome = await runConversion(msg.job);
  const transfer = outcome.ok ? outcome.reports.map((r) => r.body.buffer as ArrayBuffer) : [];
  parentPort!.postMessage({ outcome }, transfer);
});
