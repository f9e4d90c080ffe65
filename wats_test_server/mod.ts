/**
 * A WATS-compatible server for the agent's tests, the demo (`deno task demo`) and the benches
 * (`deno task server` runs it alone): start it, drive its faults, read its store and log, and
 * make sample reports to send to it.
 *
 * It imports nothing from src/ on purpose: it is a second reading of the WSJF format and of the
 * server's answers, written from the documentation, so a misreading in the agent shows as a
 * disagreement instead of being copied (tests/wats_test_server/validators_test.ts compares the
 * two validators; independent_test.ts keeps the folder apart).
 *
 * @module
 */
export * from "./server.ts";
export { parseFault } from "./faults.ts";
export { defaultProcesses, type WatsProcess } from "./processes.ts";
export { makeSampleReport, makeSampleReports, type SampleReportOptions } from "./sample_reports.ts";
export { validateReport, type ValidationResult } from "./validate.ts";
