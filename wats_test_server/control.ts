/**
 * The test server's control endpoints under `/_test/`, for a test, the demo or a crash script
 * that runs the server as another process. They need no WATS token but answer loopback only.
 *
 * | Route | Does |
 * |---|---|
 * | `GET /_test/stats` | counts: reports, receives, requests by status, faults in force |
 * | `GET /_test/reports` | one summary per stored report (`?full=1`: the stored entries) |
 * | `GET /_test/reports/{id}` | one stored entry: normalised report, receive count, warnings |
 * | `DELETE /_test/reports` | empties the store |
 * | `GET /_test/log?since=<seq>` | request log entries after `seq` |
 * | `DELETE /_test/log` | empties the request log |
 * | `GET /_test/faults` | fault settings in force (with the seed used) |
 * | `PUT` or `POST /_test/faults` | replaces the fault settings (JSON `FaultSettings`) |
 * | `DELETE /_test/faults` | no more faults |
 * | `GET`, `PUT` or `POST /_test/clock` | reads or sets `{"skewMs": n}` |
 *
 * @module
 */
import type { FaultSettings } from "./faults.ts";
import { json, message, type Reply } from "./reply.ts";
import type { RequestLog } from "./request_log.ts";
import type { ReportStore } from "./store.ts";

/** What the control routes act on. */
export interface ControlTarget {
  readonly store: ReportStore;
  readonly log: RequestLog;
  readonly faults: FaultSettings;
  readonly clockSkewMs: number;
  setFaults(settings: FaultSettings): void;
  clearFaults(): void;
  setClockSkew(ms: number): void;
  resetLog(): void;
  stats(): unknown;
}

/** Handles one `/_test/...` request (`path` starts after "/_test"). */
export async function handleControl(
  target: ControlTarget,
  method: string,
  path: string,
  query: URLSearchParams,
  bodyText: string,
): Promise<Reply> {
  const route = path.replace(/\/+$/, "");
  if (route === "/stats" && method === "GET") return json(200, target.stats());
  if (route === "/reports") {
    if (method === "GET") {
      const entries = target.store.list();
      if (query.get("full") === "1") return json(200, entries);
      return json(
        200,
        entries.map((e) => ({
          id: e.id,
          sn: e.report.sn,
          pn: e.report.pn,
          result: e.report.result,
          receiveCount: e.receiveCount,
          reportId: e.reportId,
          firstReceivedAt: e.firstReceivedAt,
          lastReceivedAt: e.lastReceivedAt,
          warnings: e.warnings.length,
        })),
      );
    }
    if (method === "DELETE") {
      await target.store.clear();
      return json(200, { cleared: true });
    }
  }
  if (route.startsWith("/reports/") && method === "GET") {
    const id = decodeURIComponent(route.slice("/reports/".length));
    const entry = target.store.get(id);
    return entry === undefined ? message(404, `No stored report with id ${id}`) : json(200, entry);
  }
  if (route === "/log") {
    if (method === "GET") {
      const since = Number(query.get("since") ?? 0);
      if (!Number.isInteger(since) || since < 0) {
        return message(
          400,
          `since must be a request sequence number >= 0, found "${query.get("since")}"`,
        );
      }
      return json(200, target.log.entries(since));
    }
    if (method === "DELETE") {
      target.resetLog();
      return json(200, { cleared: true });
    }
  }
  if (route === "/faults") {
    if (method === "GET") return json(200, target.faults);
    if (method === "DELETE") {
      target.clearFaults();
      return json(200, target.faults);
    }
    if (method === "PUT" || method === "POST") {
      const parsed = parseJson(bodyText);
      if (parsed instanceof Error) return message(400, `Fault settings: ${parsed.message}`);
      try {
        target.setFaults(parsed as FaultSettings);
      } catch (e) {
        return message(400, (e as Error).message);
      }
      return json(200, target.faults);
    }
  }
  if (route === "/clock") {
    if (method === "GET") return json(200, { skewMs: target.clockSkewMs });
    if (method === "PUT" || method === "POST") {
      const parsed = parseJson(bodyText) as { skewMs?: unknown } | Error;
      if (parsed instanceof Error) return message(400, `Clock: ${parsed.message}`);
      if (typeof parsed?.skewMs !== "number" || !Number.isFinite(parsed.skewMs)) {
        return message(
          400,
          `Clock: send {"skewMs": <milliseconds>}, found ${bodyText.slice(0, 100)}`,
        );
      }
      target.setClockSkew(parsed.skewMs);
      return json(200, { skewMs: target.clockSkewMs });
    }
  }
  return message(
    404,
    `No test control route ${method} /_test${path} (see wats_test_server/control.ts)`,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text === "" ? "{}" : text);
  } catch (e) {
    return new Error(`the body is not valid JSON (${(e as Error).message})`);
  }
}
