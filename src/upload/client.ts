/**
 * The WATS REST client: `POST /api/Report/WSJF` with `Authorization: Basic <token>` (the token
 * is opaque and sent as given), and `GET /api/App/Version` as the connectivity probe. Every
 * answer is classified into what the uploader must do (docs/wsjf.md#answers-and-reactions).
 *
 * TLS is verified against the built-in roots plus `server.caFile` (company CAs). Proxies come
 * from HTTPS_PROXY / HTTP_PROXY / NO_PROXY, which Deno's fetch honours for every client, also
 * one made with `Deno.createHttpClient` (tests/e2e/upload_transport_test.ts proves both).
 *
 * The agent talks to server.url only: a redirect is not followed (it would send the report to a
 * host the config does not name) but reported as a URL to fix. An answer is read uncompressed
 * (`Accept-Encoding: identity`) and at most 1 MiB of it (./answer.ts).
 *
 * @module
 */
import { redactAndCut } from "../log/redact.ts";
import { readAnswer, type Redirect } from "./answer.ts";
import { parseRetryAfter } from "./backoff.ts";

/** What the uploader does with an outcome. */
export type OutcomeKind =
  | "stored" // 2xx with the matching ID
  | "rejected" // 400, 409, 413, 422: this report will never be accepted as it is
  | "auth" // 401, 403, 404: a configuration problem; pause everything
  | "transient"; // 408, 429, 5xx, network, timeout, 2xx without the ID: retry later

/** The classified answer to one request. */
export interface Outcome {
  kind: OutcomeKind;
  /** HTTP status, or null for a network error or timeout. */
  status: number | null;
  /** One line for logs and the error sidecar: what happened and, for config problems, what to fix. */
  message: string;
  /** The server's own message, when it gave one. */
  serverMessage: string | null;
  /** From Retry-After, in ms. */
  retryAfterMs: number | null;
  /** How long the request took. */
  ms: number;
}

/** Connection settings. */
export interface ClientOptions {
  /** The server's base URL (`/api/...` is appended; a trailing `/` or `/api` is dropped). */
  url: string;
  token: string;
  timeoutMs: number;
  /** PEM text of extra CA certificates (added to the built-in roots). */
  caCerts?: string[];
}

/** The most of a server's message kept for logs, the error sidecar and status. */
const MAX_MESSAGE_CHARS = 500;

/** Bodies at least this big are streamed from the queue file instead of read into memory. */
export const STREAM_THRESHOLD = 4 * 1024 * 1024;

/**
 * The slowest upload speed a report is given time for, in bytes per second (1 Mbit/s): a post
 * may take server.timeoutSeconds plus its size at this speed, so a 40 MB report on a slow link
 * is not abandoned and re-sent forever. A small report gets a few ms more.
 */
export const MIN_BYTES_PER_SECOND = 128 * 1024;

/** The time one post of `bytes` may take. */
export function postTimeoutMs(timeoutMs: number, bytes: number): number {
  return Math.round(timeoutMs + (bytes / MIN_BYTES_PER_SECOND) * 1000);
}

/** What to send: bytes in memory, or the rest of a file from `offset` (`length` bytes), streamed. */
export type Body = Uint8Array | { file: string; offset: number; length: number };

/** The answer to the version probe. */
export interface VersionAnswer {
  outcome: Outcome;
  version: string | null;
  /** The server's clock from its `Date` header, or null when absent or unreadable. */
  serverDate: Date | null;
}

/**
 * The API base for a configured server URL: without a trailing `/` or `/api`, because users
 * paste either form and pyWATS accepts both. A path prefix such as `/wats` is kept.
 */
export function apiBase(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/api$/i, "");
}

/** A WATS server. */
export class WatsClient {
  #o: ClientOptions;
  #base: string;
  #http?: Deno.HttpClient;
  #active = 0;
  #closing = false;

  /** @param opts where and how to connect */
  constructor(opts: ClientOptions) {
    this.#o = opts;
    this.#base = apiBase(opts.url);
    if (opts.caCerts?.length) this.#http = Deno.createHttpClient({ caCerts: opts.caCerts });
  }

  /** The server's base URL as configured. */
  get url(): string {
    return this.#o.url;
  }

  /** Closes the connection pool once the requests in progress have ended. */
  close(): void {
    this.#closing = true;
    if (this.#active === 0) this.#http?.close();
  }

  #begin(): void {
    this.#active++;
  }

  #end(): void {
    if (--this.#active === 0 && this.#closing) this.#http?.close();
  }

  #headers(extra: Record<string, string> = {}): Headers {
    return new Headers({
      Authorization: `Basic ${this.#o.token}`,
      Accept: "application/json",
      // Deno inflates gzip and br answers as they stream in; identity keeps the byte cap honest.
      "Accept-Encoding": "identity",
      ...extra,
    });
  }

  /** Uploads one report and classifies the answer. Never throws. */
  async postReport(reportId: string, body: Body): Promise<Outcome> {
    const t0 = performance.now();
    const bytes = body instanceof Uint8Array ? body.length : body.length;
    const timeoutMs = postTimeoutMs(this.#o.timeoutMs, bytes);
    let file: Deno.FsFile | null = null;
    this.#begin();
    try {
      let payload: BodyInit;
      if (body instanceof Uint8Array) {
        payload = body as Uint8Array<ArrayBuffer>;
      } else {
        // Streamed (chunked): the report is never held in memory as a whole.
        file = await Deno.open(body.file, { read: true });
        await file.seek(body.offset, Deno.SeekMode.Start);
        payload = file.readable;
      }
      const res = await fetch(`${this.#base}/api/Report/WSJF`, {
        method: "POST",
        headers: this.#headers({ "Content-Type": "application/json; charset=utf-8" }),
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
        client: this.#http,
        redirect: "manual",
      });
      const answer = await readAnswer(res, this.#base);
      if (answer.redirect) {
        return { ...redirectOutcome(answer.redirect), ms: performance.now() - t0 };
      }
      return classifyReportResponse(
        res.status,
        answer.text,
        retryAfterOf(res.headers),
        reportId,
        performance.now() - t0,
        answer.unread,
      );
    } catch (e) {
      return networkOutcome(e, this.#base, timeoutMs, performance.now() - t0);
    } finally {
      closeQuietly(file);
      this.#end();
    }
  }

  /** GET /api/App/Version: the server version and its clock (Date header). Never throws. */
  async version(): Promise<VersionAnswer> {
    const t0 = performance.now();
    this.#begin();
    try {
      const res = await fetch(`${this.#base}/api/App/Version`, {
        headers: this.#headers(),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        client: this.#http,
        redirect: "manual",
      });
      const answer = await readAnswer(res, this.#base);
      const text = answer.text;
      const ms = performance.now() - t0;
      const serverDate = dateOf(res.headers);
      if (answer.redirect) {
        return { outcome: { ...redirectOutcome(answer.redirect), ms }, version: null, serverDate };
      }
      if (!res.ok || answer.unread !== null) {
        return {
          outcome: res.ok
            ? {
              kind: "transient",
              status: res.status,
              message: `the server's version answer was not read: ${answer.unread}`,
              serverMessage: null,
              retryAfterMs: null,
              ms,
            }
            : classifyStatus(res.status, text, retryAfterOf(res.headers), ms, answer.unread),
          version: null,
          serverDate,
        };
      }
      let version: string | null;
      try {
        const v = JSON.parse(text);
        version = typeof v === "string" ? v : JSON.stringify(v);
      } catch {
        version = text.trim() || null; // some proxies strip the JSON quotes
      }
      if (version !== null) version = redactAndCut(version, 100);
      return {
        outcome: {
          kind: "stored",
          status: res.status,
          message: "ok",
          serverMessage: null,
          retryAfterMs: null,
          ms,
        },
        version,
        serverDate,
      };
    } catch (e) {
      return {
        outcome: networkOutcome(e, this.#base, this.#o.timeoutMs, performance.now() - t0),
        version: null,
        serverDate: null,
      };
    } finally {
      this.#end();
    }
  }
}

/** A redirect is a URL to fix: the agent sends reports to server.url and nowhere else. */
function redirectOutcome(redirect: Redirect): Omit<Outcome, "ms"> {
  return {
    kind: "auth",
    status: redirect.status,
    message: `the server redirected the request (HTTP ${redirect.status}) to ${redirect.target}; ` +
      "the agent sends reports only to server.url and does not follow redirects. Fix server.url " +
      "in the config: if the redirect goes to your WATS server's real address (e.g. its " +
      "https:// address), set that; otherwise find out what on the way redirects (a proxy, a " +
      "captive portal). The agent retries at once when the config file changes",
    serverMessage: null,
    retryAfterMs: null,
  };
}

/** Closes a file the body stream may already have closed (fetch closes it when it reads to the end). */
function closeQuietly(file: Deno.FsFile | null): void {
  if (!file) return;
  try {
    file.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e; // BadResource: already closed by the stream
  }
}

function dateOf(headers: Headers): Date | null {
  const h = headers.get("date");
  if (!h) return null;
  const d = new Date(h);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Retry-After in ms; an HTTP date counts from the server's own `Date`, so a skewed clock is harmless. */
function retryAfterOf(headers: Headers): number | null {
  return parseRetryAfter(headers.get("retry-after"), dateOf(headers)?.getTime() ?? Date.now());
}

/** Classifies the answer to a report upload, including the ID check on success. */
export function classifyReportResponse(
  status: number,
  text: string,
  retryAfterMs: number | null,
  reportId: string,
  ms: number,
  unread: string | null = null,
): Outcome {
  if (status >= 200 && status < 300) {
    let id: unknown;
    try {
      const body = JSON.parse(text);
      const first = Array.isArray(body) ? body[0] : body;
      id = first?.ID ?? first?.id ?? first?.uuid;
    } catch { /* not JSON: no ID, handled below */ }
    if (typeof id === "string" && id.toLowerCase() === reportId.toLowerCase()) {
      return {
        kind: "stored",
        status,
        message: "stored",
        serverMessage: null,
        retryAfterMs: null,
        ms,
      };
    }
    return {
      kind: "transient",
      status,
      message: `the server answered ${status} but did not confirm report ${reportId} (${
        unread ??
          `its answer ${
            id === undefined ? "has no ID" : `names ID ${redactAndCut(JSON.stringify(id), 100)}`
          }`
      }); sending it again later`,
      serverMessage: redactAndCut(text, MAX_MESSAGE_CHARS) || null,
      retryAfterMs: null,
      ms,
    };
  }
  return classifyStatus(status, text, retryAfterMs, ms, unread);
}

/** Classifies a non-2xx status. */
export function classifyStatus(
  status: number,
  text: string,
  retryAfterMs: number | null,
  ms: number,
  unread: string | null = null,
): Outcome {
  const found = extractMessage(text);
  const serverMessage = found === null ? null : redactAndCut(found, MAX_MESSAGE_CHARS);
  const said = serverMessage
    ? ` "${serverMessage.replace(/\s+/g, " ")}"`
    : unread
    ? ` (${unread})`
    : "";
  const base = { status, serverMessage, ms, retryAfterMs };
  if (status === 400 || status === 409 || status === 413 || status === 422) {
    const what = status === 413 ? "is too large for the server" : "was rejected by the server";
    return { ...base, kind: "rejected", message: `the report ${what}: HTTP ${status}${said}` };
  }
  if (status === 401 || status === 403) {
    const why = status === 401 ? "not accepted" : "without the right to submit reports";
    return {
      ...base,
      kind: "auth",
      message: `token rejected: HTTP ${status}${said} (the token is ${why}). Fix server.token ` +
        "in the config (or AGENT_TOKEN): it must be a WATS API token with the right to submit " +
        "reports; the agent retries at once when the config file changes",
    };
  }
  if (status === 404) {
    return {
      ...base,
      kind: "auth",
      message: `wrong server URL: HTTP 404${said} for the WATS API. Fix server.url in the ` +
        "config: it must be the WATS server's base URL, e.g. https://company.wats.com (with its " +
        "path prefix such as /wats if it has one); the agent retries at once when the config " +
        "file changes",
    };
  }
  return { ...base, kind: "transient", message: `the server answered HTTP ${status}${said}` };
}

function extractMessage(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  try {
    const j = JSON.parse(t);
    const m = j?.Message ?? j?.message ?? j?.error ?? j?.detail ?? j?.title;
    if (typeof m === "string") return m;
    if (typeof j === "string") return j;
  } catch { /* plain text or HTML */ }
  const title = /<title>([^<]*)<\/title>/i.exec(t); // a proxy's HTML error page
  return title ? title[1].trim() : t;
}

/** The innermost useful text of a fetch error (Deno nests the cause). */
function errorText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 5; i++) {
    const m = (cur as Error).message;
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    cur = (cur as Error).cause;
  }
  return parts.join(": ") || String(e);
}

/** Classifies a request that got no HTTP answer; TLS and connection problems say what to check. */
export function networkOutcome(e: unknown, base: string, timeoutMs: number, ms: number): Outcome {
  const err = e as Error;
  const out = (message: string): Outcome => ({
    kind: "transient",
    status: null,
    message,
    serverMessage: null,
    retryAfterMs: null,
    ms,
  });
  if (err?.name === "TimeoutError" || err?.name === "AbortError") {
    const s = Math.round(timeoutMs / 100) / 10;
    return out(
      `no answer from ${base} within ${s} s (server.timeoutSeconds, plus time for the report's ` +
        "size on a slow link)",
    );
  }
  const text = errorText(e);
  let host = base;
  try {
    host = new URL(base).host;
  } catch { /* keep the base as given */ }
  if (/NotValidForName/i.test(text)) {
    return out(
      `TLS error: the certificate of ${host} is not valid for that name (${text}). Check the ` +
        "host name in server.url: it must be a name the server's certificate lists",
    );
  }
  if (/Expired|NotValidYet/i.test(text)) {
    return out(
      `TLS error: the certificate of ${host} is expired or not yet valid (${text}). Check this ` +
        "machine's clock, or have the server's certificate renewed",
    );
  }
  if (/certificate|UnknownIssuer|tls|handshake|ssl/i.test(text)) {
    return out(
      `TLS error: the certificate of ${host} is not trusted (${text}). If the server or a ` +
        "company proxy uses a certificate from a company CA, save that CA certificate as a PEM " +
        "file and set server.caFile to it",
    );
  }
  if (/refused/i.test(text)) {
    return out(
      `connection refused by ${host}: the server is down or server.url has the wrong port`,
    );
  }
  if (/dns|lookup|resolve|name or service not known|no such host/i.test(text)) {
    return out(`can't resolve ${host} (${text}): check server.url and this machine's DNS`);
  }
  return out(`network error talking to ${host}: ${text}`);
}
