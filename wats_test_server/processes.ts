/**
 * The processes (test and repair operations) the test server knows, as `GET /api/App/Processes`
 * returns them. `processCode` in a submitted report must be one of these.
 *
 * @module
 */

/** One process as the WATS server describes it (`GET /api/App/Processes`). */
export interface WatsProcess {
  /** The process code reports carry in `processCode`. */
  code: number;
  /** Display name; the server copies it into `processName` on store. */
  name: string;
  /** Free text. */
  description?: string;
  /** A test operation: valid for UUT (type "T") reports. */
  isTestOperation: boolean;
  /** A repair operation: valid for UUR (type "R") reports. */
  isRepairOperation: boolean;
  /** A work-in-progress operation. */
  isWipOperation?: boolean;
}

/** The processes seen in the WATS sample exports: 10, 50, 90 (tests) and 500 (repair). */
export const defaultProcesses: readonly WatsProcess[] = [
  { code: 10, name: "SW Debug", isTestOperation: true, isRepairOperation: false },
  { code: 50, name: "PCBA test", isTestOperation: true, isRepairOperation: false },
  { code: 90, name: "Burn In test", isTestOperation: true, isRepairOperation: false },
  { code: 500, name: "Repair", isTestOperation: false, isRepairOperation: true },
];

/** The JSON shape `GET /api/App/Processes` answers with, one entry per process. */
export function processesResponse(processes: readonly WatsProcess[]): Record<string, unknown>[] {
  return processes.map((p, index) => ({
    code: p.code,
    name: p.name,
    description: p.description ?? "",
    isTestOperation: p.isTestOperation,
    isRepairOperation: p.isRepairOperation,
    isWipOperation: p.isWipOperation ?? false,
    processIndex: index,
    state: 1,
    ProcessID: processGuid(p.code),
  }));
}

/** A stable made-up GUID per process code (the real server has its own). */
function processGuid(code: number): string {
  const hex = code.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}
