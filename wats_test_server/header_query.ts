/**
 * A minimal `GET /api/Report/Query/Header`: `$filter` with `eq` comparisons joined by `and`,
 * `$top` (default 10, max 10000), `$skip` and `$orderby` on start/uuid/serialNumber/timeStamp.
 * Anything else is refused with a message rather than silently ignored.
 *
 * @module
 */
import type { StoredReport } from "./store.ts";

const resultWords: Record<string, string> = {
  P: "Passed",
  F: "Failed",
  E: "Error",
  T: "Terminated",
};

/** A query the test server cannot answer; the message says what is not supported. */
export class QueryError extends Error {}

/** The `ReportHeader` JSON for one stored report. */
export function reportHeader(entry: StoredReport): Record<string, unknown> {
  const r = entry.report;
  const uut = (r.uut ?? {}) as Record<string, unknown>;
  const uur = (r.uur ?? {}) as Record<string, unknown>;
  return {
    uuid: entry.id,
    serialNumber: r.sn,
    partNumber: r.pn,
    revision: r.rev,
    reportType: r.type,
    result: resultWords[r.result as string] ?? r.result,
    start: r.startUTC,
    processCode: r.processCode,
    processName: r.processName,
    stationName: r.machineName,
    location: r.location ?? null,
    purpose: r.purpose ?? null,
    userName: uut.user ?? uur.user ?? null,
    batchNumber: uut.batchSN ?? null,
    fixtureId: uut.fixtureId ?? null,
    comment: uut.comment ?? uur.comment ?? null,
    executionTime: uut.execTime ?? null,
    testSocketIndex: uut.testSocketIndex ?? null,
    errorCode: uut.errorCode ?? null,
    errorMessage: uut.errorMessage ?? null,
    receiveCount: entry.receiveCount,
    timeStamp: entry.reportId,
    referencedUut: uur.refUUT ?? null,
  };
}

/** Answers a header query over `entries`; throws {@link QueryError} for what is not supported. */
export function queryHeaders(
  entries: StoredReport[],
  params: URLSearchParams,
): Record<string, unknown>[] {
  const conditions = parseFilter(params.get("$filter"));
  const top = intParam(params, "$top", 10);
  if (top > 10000) {
    throw new QueryError(`$top must be at most 10000 (found ${top}); page with $skip`);
  }
  const skip = intParam(params, "$skip", 0);
  const order = parseOrderBy(params.get("$orderby"));
  const headers = entries.map(reportHeader).filter((h) =>
    conditions.every(([field, value]) => h[field] === value)
  );
  headers.sort((a, b) => {
    const x = a[order.field] as string | number;
    const y = b[order.field] as string | number;
    const c = x < y ? -1 : x > y ? 1 : 0;
    return order.descending ? -c : c;
  });
  return headers.slice(skip, skip + top);
}

const filterFields = [
  "uuid",
  "serialNumber",
  "partNumber",
  "revision",
  "reportType",
  "result",
  "processCode",
  "stationName",
  "location",
  "purpose",
];

/** Parses `a eq 'x' and b eq 5`; returns [field, value] pairs. */
function parseFilter(filter: string | null): [string, string | number][] {
  if (filter === null || filter.trim() === "") return [];
  const conditions: [string, string | number][] = [];
  const pattern = /^\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(-?\d+))\s*(?:and\b|$)/i;
  let rest = filter;
  while (rest.trim() !== "") {
    const m = pattern.exec(rest);
    if (m === null) {
      throw new QueryError(
        `$filter "${filter}" is not supported by the test server: use <field> eq '<text>' ` +
          `(or a number) joined by "and"`,
      );
    }
    const field = filterFields.find((f) => f.toLowerCase() === m[1].toLowerCase());
    if (field === undefined) {
      throw new QueryError(
        `$filter field "${m[1]}" is not supported (use ${filterFields.join(", ")})`,
      );
    }
    conditions.push([field, m[2] !== undefined ? m[2].replaceAll("''", "'") : Number(m[3])]);
    rest = rest.slice(m[0].length);
  }
  if (/\band\s*$/i.test(filter)) throw new QueryError(`$filter "${filter}" ends with "and"`);
  return conditions;
}

function parseOrderBy(text: string | null): { field: string; descending: boolean } {
  if (text === null || text.trim() === "") return { field: "start", descending: true };
  const m = /^\s*(start|uuid|serialNumber|timeStamp)(?:\s+(asc|desc))?\s*$/i.exec(text);
  if (m === null) {
    throw new QueryError(
      `$orderby "${text}" is not supported (use start, uuid, serialNumber or timeStamp, asc or desc)`,
    );
  }
  const field = ["start", "uuid", "serialNumber", "timeStamp"].find((f) =>
    f.toLowerCase() === m[1].toLowerCase()
  )!;
  return { field, descending: m[2]?.toLowerCase() === "desc" };
}

function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  if (!/^\d+$/.test(text)) throw new QueryError(`${name} must be a whole number (found "${text}")`);
  return Number(text);
}
