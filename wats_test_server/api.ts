/**
 * The WATS API routes of the test server: report submit and read-back, header query, version,
 * processes, ping. Each `/api/*` request passes, in order: injected faults, the body size limit
 * (413), authentication (401/403), then its route.
 *
 * @module
 */
import { createHash } from "#crypto";
import { type AppliedFault, type Fault, type FaultInjector, faultLabel } from "./faults.ts";
import { QueryError, queryHeaders } from "./header_query.ts";
import type { ResolvedOptions } from "./options.ts";
import { processesResponse } from "./processes.ts";
import { gzipOfZeros } from "./gzip_bomb.ts";
import { json, message, type Reply } from "./reply.ts";
import type { RequestLogEntry } from "./request_log.ts";
import type { ReportStore } from "./store.ts";
import { normaliseReport } from "./normalise.ts";
import { isUuid, validateReport } from "./validate.ts";

/** What the routes need from the running server. */
export interface ApiContext {
  options: ResolvedOptions;
  store: ReportStore;
  faults: FaultInjector;
  /** The server's (possibly skewed) clock. */
  now(): Date;
  /** Waits `ms`; resolves false when the server stopped meanwhile. */
  sleep(ms: number): Promise<boolean>;
}

/** One `/api/*` request, body already read. */
export interface ApiRequest {
  method: string;
  /** Path after the prefix, e.g. "/api/Report/WSJF". */
  path: string;
  query: URLSearchParams;
  authorization: string | null;
  /** The body (empty when it was larger than the limit and not kept). */
  body: Uint8Array;
  bodyBytes: number;
  bodySha256: string | null;
  /** The full request URL, for 404 messages. */
  requestUri: string;
  /** The log entry, to record the report id, fault and message. */
  entry: RequestLogEntry;
}

const deniedText = "Authorization has been denied for this request.";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Handles one `/api/*` request. */
export async function handleApi(ctx: ApiContext, req: ApiRequest): Promise<Reply> {
  const pre = ctx.faults.inScope(req.method, req.path) ? ctx.faults.draw() : null;
  if (pre !== null) req.entry.fault = `${faultLabel(pre.fault)} (${pre.source})`;
  if (pre?.fault.kind === "status") return statusFault(ctx, pre, req);
  if (pre?.fault.kind === "wrongId") return wrongIdReply();
  if (pre !== null && (pre.fault.kind === "gzipBomb" || pre.fault.kind === "redirect")) {
    return await hostileReply(pre.fault, req);
  }
  if (pre?.fault.kind === "slow" && !(await ctx.sleep(pre.fault.delayMs))) {
    return { status: 0, drop: true };
  }
  const reply = await route(ctx, req, pre);
  if (pre?.fault.kind === "drop") reply.drop = true;
  return reply;
}

async function route(ctx: ApiContext, req: ApiRequest, pre: AppliedFault | null): Promise<Reply> {
  const limit = ctx.faults.maxBodyBytes ?? ctx.options.maxBodyBytes;
  if (req.bodyBytes > limit) {
    return message(
      413,
      `The request body is ${req.bodyBytes} bytes; this server accepts at most ${limit} bytes.`,
    );
  }
  const token = authToken(req.authorization);
  if (
    token === null ||
    (!ctx.options.tokens.includes(token) && !ctx.options.noRightsTokens.includes(token))
  ) {
    return message(401, deniedText, { "WWW-Authenticate": 'Basic realm="WATS"' });
  }
  if (!ctx.options.tokens.includes(token)) {
    return message(403, "The token is valid but has no rights to use this API.");
  }
  const path = req.path.toLowerCase();
  const method = req.method;
  if (path === "/api/report/wsjf") {
    return method === "POST" ? await postReport(ctx, req, token, pre) : notAllowed(method);
  }
  if (path.startsWith("/api/report/wsjf/")) {
    return method === "GET"
      ? getReport(ctx, req.path.slice("/api/report/wsjf/".length))
      : notAllowed(method);
  }
  if (path === "/api/report/query/header") {
    if (method !== "GET") return notAllowed(method);
    try {
      return json(200, queryHeaders(ctx.store.list(), req.query));
    } catch (e) {
      if (e instanceof QueryError) return message(400, e.message);
      throw e;
    }
  }
  if (path === "/api/app/version") {
    return method === "GET" ? json(200, ctx.options.version) : notAllowed(method);
  }
  if (path === "/api/app/processes") {
    return method === "GET"
      ? json(200, processesResponse(ctx.options.processes))
      : notAllowed(method);
  }
  if (path === "/api/internal/client/ping") {
    return method === "GET"
      ? json(200, { ServerName: ctx.options.serverName, ServerTime: ctx.now().toISOString() })
      : notAllowed(method);
  }
  if (path === "/api/systemstatus") {
    return method === "GET"
      ? json(200, { Status: "OK", Version: ctx.options.version })
      : notAllowed(method);
  }
  return message(
    404,
    `No HTTP resource was found that matches the request URI '${req.requestUri}'.`,
  );
}

async function postReport(
  ctx: ApiContext,
  req: ApiRequest,
  token: string,
  pre: AppliedFault | null,
): Promise<Reply> {
  let text: string;
  try {
    text = utf8.decode(req.body); // drops a leading BOM, like .NET's reader
  } catch {
    return message(400, "The request body is not valid UTF-8 text.");
  }
  if (text.trim() === "") {
    return message(400, "The request body is empty; expected one WSJF report.");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return message(400, `The request body is not valid JSON: ${(e as Error).message}`);
  }
  const report = body as Record<string, unknown>;
  if (isUuid(report?.id)) req.entry.reportId = report.id.toLowerCase();
  if (pre === null) {
    const rule = ctx.faults.forReport(report?.id, report?.sn);
    if (rule !== null) {
      req.entry.fault = `${faultLabel(rule.fault)} (${rule.source})`;
      if (rule.fault.kind === "status") return statusFault(ctx, rule, req);
      if (rule.fault.kind === "wrongId") return wrongIdReply();
      if (rule.fault.kind === "gzipBomb" || rule.fault.kind === "redirect") {
        return await hostileReply(rule.fault, req);
      }
      if (rule.fault.kind === "slow" && !(await ctx.sleep(rule.fault.delayMs))) {
        return { status: 0, drop: true };
      }
      if (rule.fault.kind === "drop") {
        return { ...(await store(ctx, req, report, token, text)), drop: true };
      }
    }
  }
  return await store(ctx, req, report, token, text);
}

async function store(
  ctx: ApiContext,
  req: ApiRequest,
  report: Record<string, unknown>,
  token: string,
  text: string,
): Promise<Reply> {
  const result = validateReport(report, {
    processes: ctx.options.processes,
    maxFieldLength: ctx.options.maxFieldLength,
    checkLimits: ctx.options.checkLimits,
  });
  if (result.errors.length > 0) {
    const shown = result.errors.slice(0, 3).join("; ");
    const more = result.errors.length > 3 ? ` (and ${result.errors.length - 3} more)` : "";
    const reply = message(400, `Invalid WSJF report: ${shown}${more}`);
    reply.body = { Message: reply.message, Errors: result.errors };
    return reply;
  }
  const normalised = normaliseReport(report, {
    processes: ctx.options.processes,
    origin: tokenGuid(token),
  });
  const entry = await ctx.store.upsert({
    id: String(report.id),
    report: normalised,
    warnings: result.warnings,
    bodyBytes: req.bodyBytes,
    bodySha256: req.bodySha256 ?? "",
    ...(ctx.options.keepBodies ? { body: text } : {}),
  }, ctx.now());
  return json(200, { ID: entry.id, uuid: entry.id, Report_ID: entry.reportId });
}

function getReport(ctx: ApiContext, id: string): Reply {
  const decoded = decodeURIComponent(id);
  if (!isUuid(decoded)) {
    return message(400, `The value '${decoded}' is not a valid report id (a UUID).`);
  }
  const entry = ctx.store.get(decoded);
  if (entry === undefined) return message(404, `Report ${decoded.toLowerCase()} was not found.`);
  return json(200, entry.report);
}

function statusFault(ctx: ApiContext, applied: AppliedFault, req: ApiRequest): Reply {
  const fault = applied.fault;
  if (fault.kind !== "status") throw new Error("statusFault needs a status fault");
  const headers: Record<string, string> = {};
  const echo = (text: string) =>
    fault.echoAuthorization ? `${text} Request headers: Authorization: ${req.authorization}` : text;
  const defaults = ctx.faults.retryAfter;
  const seconds = fault.retryAfterSeconds ?? (fault.status === 429 ? defaults.seconds : undefined);
  if (seconds !== undefined) {
    const form = fault.retryAfterForm ?? defaults.form;
    headers["Retry-After"] = form === "date"
      ? new Date(Math.ceil((ctx.now().getTime() + seconds * 1000) / 1000) * 1000).toUTCString()
      : String(Math.ceil(seconds));
  }
  if (fault.status === 502 || fault.status === 504) {
    // What a reverse proxy in front of WATS answers: HTML, not the API's JSON.
    const title = fault.status === 502 ? "502 Bad Gateway" : "504 Gateway Time-out";
    return {
      status: fault.status,
      raw: `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`,
      contentType: "text/html",
      headers,
      message: echo(fault.message ?? title),
    };
  }
  const text = echo(fault.message ?? defaultFaultMessage(fault.status));
  return message(fault.status, text, headers);
}

/** 200 with a made-up ID and nothing stored: the client must not take it as a confirmation. */
function wrongIdReply(): Reply {
  const other = crypto.randomUUID();
  return { ...json(200, { ID: other, uuid: other, Report_ID: 0 }), message: "answered another ID" };
}

/** The gzip bomb or the redirect of a fault; nothing is stored. */
async function hostileReply(
  fault: Extract<Fault, { kind: "gzipBomb" | "redirect" }>,
  req: ApiRequest,
): Promise<Reply> {
  if (fault.kind === "redirect") {
    const location = `${fault.to}${req.path}`;
    return {
      status: fault.status ?? 307,
      headers: { Location: location },
      message: `redirected to ${location}`,
    };
  }
  const inflated = fault.inflatedBytes ?? 1024 * 1024 * 1024;
  return {
    status: fault.status ?? 200,
    bytes: await gzipOfZeros(inflated),
    contentType: "application/json; charset=utf-8",
    headers: { "Content-Encoding": "gzip" },
    message: `gzip bomb (${inflated} bytes inflated)`,
  };
}

function defaultFaultMessage(status: number): string {
  switch (status) {
    case 429:
      return "Too many requests. Slow down and retry later (test fault).";
    case 408:
      return "The server timed out waiting for the request (test fault).";
    case 503:
      return "The service is unavailable (test fault).";
    case 500:
      return "An error has occurred (test fault).";
    default:
      return `Injected status ${status} (test fault).`;
  }
}

function notAllowed(method: string): Reply {
  return message(405, `The requested resource does not support http method '${method}'.`);
}

/** The token after "Basic " (scheme case-insensitive), taken whole and never decoded. */
function authToken(header: string | null): string | null {
  if (header === null || !/^basic /i.test(header)) return null;
  return header.slice(6);
}

const guids = new Map<string, string>();

/** A stable GUID per token: the `origin` a real server stamps on reports from token users. */
function tokenGuid(token: string): string {
  let guid = guids.get(token);
  if (guid === undefined) {
    const h = createHash("sha256").update(token).digest("hex");
    guid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${
      h.slice(20, 32)
    }`;
    guids.set(token, guid);
  }
  return guid;
}
