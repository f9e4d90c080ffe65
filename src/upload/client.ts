/**
 * The WATS REST client: `POST /api/Report/WSJF` with `Authorization: Basic <token>` (the token
 * is opaque and sent as given), and `GET /api/App/Version` as the connectivity probe. Every
 * answer is classified into what the uploader must do (shared/reference/wats-formats-api.md §3.8).
 *
 * @module
 */
import { parseRetryAfter } from "./backoff.ts";

/** What the uploader does with an outcome. */
export type OutcomeKind =
  | "stored" // 2xx with the matching ID
  | "rejected" // 400, 409, 413: this report will never be accepted as it is
  | "auth" // 401, 403, 404: a configuration problem; pause everything
  | "transient"; // 408, 429, 5xx, network, timeout, 2xx without the ID: retry later

/** The classified answer to one request. */
export interface Outcome {
  kind: OutcomeKind;
  /** HTTP status, or null for a network error or timeout. */
  status: number | null;
  /** One line for logs and the error sidecar. */
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
  url: string;
  token: string;
  timeoutMs: number;
  /** PEM text of extra CA certificates. */
  caCerts?: string[];
}

/** Bodies at least this big are streamed from the queue file instead of read into memory. */
export const STREAM_THRESHOLD = 4 * 1024 * 1024;

/** What to send: bytes in memory, or a byte range of a file streamed from disk. */
export type Body = Uint8Array | { file: string; offset: number; length: number };

/** A WATS server. */
export class WatsClient {
  #o: ClientOptions;
  #http?: Deno.HttpClient;

  /** @param opts where and how to connect */
  constructor(opts: ClientOptions) {
    this.#o = opts;
    // Proxies come from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, which Deno's fetch honours.
    if (opts.caCerts?.length) this.#http = Deno.createHttpClient({ caCerts: opts.caCerts });
  }

  /** The server's base URL. */
  get url(): string {
    return this.#o.url;
  }

  /** Closes the connection pool. */
  close(): void {
    this.#http?.close();
  }

  #headers(extra: Record<string, string> = {}): Headers {
    return new Headers({ Authorization: `Basic ${this.#o.token}`, Accept: "application/json", ...extra });
  }

  /** Uploads one report and classifies the answer. Never throws. */
  async postReport(reportId: string, body: Body): Promise<Outcome> {
    const t0 = performance.now();
    let file: Deno.FsFile | undefined;
    try {
      let payload: BodyInit;
      const headers = this.#headers({ "Content-Type": "application/json" });
      if (body instanceof Uint8Array) {
        payload = body as Uint8Array<ArrayBuffer>;
      } else {
        file = await Deno.open(body.file, { read: true });
        await file.seek(body.offset, Deno.SeekMode.Start);
        payload = file.readable;
        file = undefined; // the stream closes it
      }
      const res = await fetch(`${this.#o.url}/api/Report/WSJF`, {
        method: "POST",
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        client: this.#http,
      });
      const text = await res.text();
      return classifyReportResponse(res.status, text, res.headers.get("retry-after"), reportId, performance.now() - t0);
    } catch (e) {
      file?.close();
      return networkOutcome(e, this.#o.timeoutMs, performance.now() - t0);
    }
  }

  /** GET /api/App/Version: the server version and its clock (Date header). Never throws. */
  async version(): Promise<{ outcome: Outcome; version: string | null; serverDate: Date | null }> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.#o.url}/api/App/Version`, {
        headers: this.#headers(),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        client: this.#http,
      });
      const text = await res.text();
      const ms = performance.now() - t0;
      const dateHeader = res.headers.get("date");
      const serverDate = dateHeader ? new Date(dateHeader) : null;
      if (res.ok) {
        let version: string | null = null;
        try {
          const v = JSON.parse(text);
          version = typeof v === "string" ? v : JSON.stringify(v);
        } catch {
          version = text.trim() || null;
        }
        return {
          outcome: { kind: "stored", status: res.status, message: "ok", serverMessage: null, retryAfterMs: null, ms },
          version,
          serverDate,
        };
      }
      return { outcome: classifyStatus(res.status, text, res.headers.get("retry-after"), ms), version: null, serverDate };
    } catch (e) {
      return { outcome: networkOutcome(e, this.#o.timeoutMs, performance.now() - t0), version: null, serverDate: null };
    }
  }
}

/** Classifies the answer to a report upload, including the ID check on success. */
export function classifyReportResponse(
  status: number,
  text: string,
  retryAfter: string | null,
  reportId: string,
  ms: number,
): Outcome {
  if (status >= 200 && status < 300) {
    let id: unknown;
    try {
      const body = JSON.parse(text);
      const first = Array.isArray(body) ? body[0] : body;
      id = first?.ID ?? first?.id ?? first?.uuid;
    } catch { /* not JSON: handled below */ }
    if (typeof id === "string" && id.toLowerCase() === reportId.toLowerCase()) {
      return { kind: "stored", status, message: "stored", serverMessage: null, retryAfterMs: null, ms };
    }
    return {
      kind: "transient",
      status,
      message: `the server answered ${status} but did not confirm report ${reportId} ` +
        `(its answer ${id === undefined ? "has no ID" : `names ID ${JSON.stringify(id)}`})`,
      serverMessage: text.slice(0, 500) || null,
      retryAfterMs: null,
      ms,
    };
  }
  return classifyStatus(status, text, retryAfter, ms);
}

/** Classifies a non-2xx status. */
export function classifyStatus(status: number, text: string, retryAfter: string | null, ms: number): Outcome {
  const serverMessage = extractMessage(text);
  const said = serverMessage ? `: ${serverMessage}` : "";
  const base = { status, serverMessage, ms, retryAfterMs: parseRetryAfter(retryAfter) };
  if (status === 400 || status === 409 || status === 413 || status === 422) {
    const what = status === 413 ? "is too large for the server" : "was rejected by the server";
    return { ...base, kind: "rejected", message: `the report ${what} (HTTP ${status})${said}` };
  }
  if (status === 401 || status === 403) {
    return {
      ...base,
      kind: "auth",
      message: `token rejected (HTTP ${status})${said}. Check server.token in the config ` +
        "(or AGENT_TOKEN): it must be a valid WATS API token with the right to submit reports",
    };
  }
  if (status === 404) {
    return {
      ...base,
      kind: "auth",
      message: `wrong server URL: ${status} Not Found for the WATS API${said}. Check server.url in ` +
        "the config: it must be the WATS server's base URL (without /api)",
    };
  }
  return { ...base, kind: "transient", message: `the server answered HTTP ${status}${said}` };
}

function extractMessage(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  try {
    const j = JSON.parse(t);
    const m = j?.Message ?? j?.message ?? j?.error ?? j?.title;
    if (typeof m === "string") return m.slice(0, 500);
    if (typeof j === "string") return j.slice(0, 500);
  } catch { /* plain text */ }
  return t.slice(0, 500);
}

function networkOutcome(e: unknown, timeoutMs: number, ms: number): Outcome {
  const err = e as Error;
  const timedOut = err?.name === "TimeoutError" || err?.name === "AbortError";
  const message = timedOut
    ? `no answer within ${timeoutMs / 1000} s (server.timeoutSeconds)`
    : `network error: ${err?.message ?? String(e)}`;
  return { kind: "transient", status: null, message, serverMessage: null, retryAfterMs: null, ms };
}
