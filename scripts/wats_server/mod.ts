/**
 * The WATS-compatible test server library: start it, drive its faults, read its store and log,
 * and make sample reports to send to it.
 *
 * @module
 */
export * from "./server.ts";
export { parseFault } from "./faults.ts";
export { defaultProcesses, type WatsProcess } from "./processes.ts";
export { makeSampleReport, makeSampleReports, type SampleReportOptions } from "./sample_reports.ts";
export { validateReport, type ValidationResult } from "./validate.ts";
