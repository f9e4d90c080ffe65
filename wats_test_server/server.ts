/**
 * The WATS-compatible test server: a real HTTP server on loopback that the e2e tests, the demo,
 * the benchmarks and the crash tests upload to. It validates reports independently of the
 * agent, stores them (upsert by id, receive counts), logs every request and injects faults.
 *
 * Built on node:http rather than Deno.serve because a fault must be able to close the socket
 * after the report was stored without sending any HTTP response, and because the `Date`
 * header must be settable (clock-skew tests).
 *
 * @module
 */
import http from "node:http";
import { createHash } from "#crypto";
import { handleApi } from "./api.ts";
import { type ControlTarget, handleControl } from "./control.ts";
import { FaultInjector, type FaultSettings } from "./faults.ts";
import { type ResolvedOptions, resolveOptions, type WatsServerOptions } from "./options.ts";
import { message, type Reply } from "./reply.ts";
import { RequestLog, type RequestLogEntry } from "./request_log.ts";
import { ReportStore } from "./store.ts";

export type { WatsServerOptions } from "./options.ts";
export type { Fault, FaultRule, FaultSettings, FaultSpec } from "./faults.ts";
export type { RequestLogEntry } from "./request_log.ts";
export type { StoredReport } from "./store.ts";
export { ReportStore } from "./store.ts";

/** Counts for scripts and assertions (also `GET /_test/stats`). */
export interface WatsServerStats {
  url: string;
  running: boolean;
  /** Distinct stored reports. */
  reports: number;
  /** Accepted submissions (a re-sent report counts again). */
  receives: number;
  /** `receives - reports`: how many submissions overwrote a report already stored. */
  duplicateReceives: number;
  /** Receive count per report id. */
  receiveCounts: Record<string, number>;
  /** WATS requests answered (or dropped) since the last log reset. */
  requests: number;
  /** The same, by status ("200", "503", …, "dropped"). */
  byStatus: Record<string, number>;
  faults: FaultSettings;
  clockSkewMs: number;
}

/** A running (or stopped) test server. */
export interface WatsServer extends ControlTarget, AsyncDisposable {
  /** Base URL to configure the agent with: `http://127.0.0.1:<port>` plus the path prefix. */
  readonly url: string;
  /** `http://127.0.0.1:<port>` without the prefix. */
  readonly origin: string;
  /** `<origin>/_test`: the control endpoints. */
  readonly controlUrl: string;
  /** The port (kept across stop/start). */
  readonly port: number;
  /** True between start and stop. */
  readonly running: boolean;
  /** The valid tokens. */
  readonly tokens: readonly string[];
  /** Counts: reports, receives, requests by status. */
  stats(): WatsServerStats;
  /** Stops listening and closes every connection at once (in-flight requests get no answer). */
  stop(): Promise<void>;
  /** Starts again on the same port after {@link stop}, with the same store, log and faults. */
  start(): Promise<void>;
}

/**
 * Starts a test server. Port 0 picks a free port; the handle's `url` has the one chosen.
 *
 * ```ts
 * await using server = await startWatsServer({ tokens: ["secret"] });
 * await fetch(`${server.url}/api/App/Version`, { headers: { Authorization: "Basic secret" } });
 * ```
 */
export async function startWatsServer(options: WatsServerOptions): Promise<WatsServer> {
  const resolved = resolveOptions(options);
  const store = await ReportStore.open(resolved.storeDir ?? undefined);
  const server = new TestServer(resolved, store);
  await server.start();
  return server;
}

const loopback = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

class TestServer implements WatsServer {
  readonly store: ReportStore;
  readonly log: RequestLog;
  readonly #options: ResolvedOptions;
  readonly #faults: FaultInjector;
  #port: number;
  #clockSkewMs: number;
  #http: http.Server | null = null;
  #stopped = new AbortController();

  constructor(options: ResolvedOptions, store: ReportStore) {
    this.#options = options;
    this.store = store;
    this.log = new RequestLog(options.maxLogEntries);
    this.#faults = new FaultInjector(options.faults);
    this.#port = options.port;
    this.#clockSkewMs = options.clockSkewMs;
  }

  get origin(): string {
    const host = this.#options.hostname.includes(":")
      ? `[${this.#options.hostname}]`
      : this.#options.hostname;
    return `http://${host}:${this.#port}`;
  }

  get url(): string {
    return this.origin + this.#options.pathPrefix;
  }

  get controlUrl(): string {
    return `${this.origin}/_test`;
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#http !== null;
  }

  get tokens(): readonly string[] {
    return this.#options.tokens;
  }

  get faults(): FaultSettings {
    return this.#faults.settings;
  }

  get clockSkewMs(): number {
    return this.#clockSkewMs;
  }

  setFaults(settings: FaultSettings): void {
    this.#faults.set(settings);
  }

  clearFaults(): void {
    this.#faults.set({});
  }

  setClockSkew(ms: number): void {
    this.#clockSkewMs = ms;
  }

  resetLog(): void {
    this.log.reset();
  }

  stats(): WatsServerStats {
    const reports = this.store.size;
    const receives = this.store.totalReceives;
    return {
      url: this.url,
      running: this.running,
      reports,
      receives,
      duplicateReceives: receives - reports,
      receiveCounts: this.store.receiveCounts(),
      requests: this.log.total,
      byStatus: this.log.countsByStatus(),
      faults: this.faults,
      clockSkewMs: this.#clockSkewMs,
    };
  }

  async start(): Promise<void> {
    if (this.#http !== null) return;
    this.#stopped = new AbortController();
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e) => {
        // A bug in the server itself: answer 500 and say so on stderr, never hide it.
        console.error("wats test server: request handler failed:", e);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify({ Message: `Test server bug: ${(e as Error).message}` }));
        }
      });
    });
    // Like IIS (120 s): shorter than the client's idle pool time would make it reuse closed sockets.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: Error & { code?: string }) => {
        reject(
          new Error(
            `WATS test server: cannot listen on ${this.#options.hostname}:${this.#port} ` +
              `(${e.code ?? e.message}). ${
                e.code === "EADDRINUSE" ? "Another process holds the port." : ""
              }`,
          ),
        );
      });
      server.listen(this.#port, this.#options.hostname, () => resolve());
    });
    server.on("error", (e) => console.error("wats test server:", e));
    this.#port = (server.address() as { port: number }).port;
    this.#http = server;
  }

  async stop(): Promise<void> {
    const server = this.#http;
    if (server === null) return;
    this.#http = null;
    this.#stopped.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await this.store.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #now(): Date {
    return new Date(Date.now() + this.#clockSkewMs);
  }

  #sleep(ms: number): Promise<boolean> {
    const signal = this.#stopped.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const method = req.method ?? "GET";
    const stopped = this.#stopped.signal; // this start's signal, even if the server restarts meanwhile
    if (url.pathname === "/_test" || url.pathname.startsWith("/_test/")) {
      const body = await readBody(req, 1024 * 1024);
      if (!loopback.has(req.socket.remoteAddress ?? "")) {
        this.#send(res, message(403, "Test control endpoints answer loopback clients only."));
        return;
      }
      const reply = body.kept === null
        ? message(413, "Control request body too large")
        : await handleControl(
          this,
          method,
          url.pathname.slice("/_test".length),
          url.searchParams,
          new TextDecoder().decode(body.kept),
        );
      this.#send(res, reply);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const entry = this.log.begin({
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      authorization: headers["authorization"] ?? null,
      headers,
      bodyBytes: 0,
      bodySha256: null,
      reportId: null,
      fault: null,
      message: null,
      remotePort: req.socket.remotePort ?? null,
      startedAt: new Date().toISOString(),
    });
    const limit = this.#faults.maxBodyBytes ?? this.#options.maxBodyBytes;
    let body: BodyRead;
    try {
      body = await readBody(req, limit);
    } catch (e) {
      entry.message = `request body not received: ${(e as Error).message}`;
      this.#finish(entry, null);
      return;
    }
    entry.bodyBytes = body.bytes;
    entry.bodySha256 = body.sha256;
    if (this.#options.logBodies && body.kept !== null) {
      entry.body = new TextDecoder().decode(body.kept);
    }
    const prefix = this.#options.pathPrefix.toLowerCase();
    const lower = url.pathname.toLowerCase();
    let reply: Reply;
    if (lower.startsWith(`${prefix}/api/`)) {
      reply = await handleApi({
        options: this.#options,
        store: this.store,
        faults: this.#faults,
        now: () => this.#now(),
        sleep: (ms) => this.#sleep(ms),
      }, {
        method,
        path: url.pathname.slice(prefix.length),
        query: url.searchParams,
        authorization: entry.authorization,
        body: body.kept ?? new Uint8Array(),
        bodyBytes: body.bytes,
        bodySha256: body.sha256,
        requestUri: url.href,
        entry,
      });
    } else {
      reply = message(
        404,
        `No HTTP resource was found that matches the request URI '${url.href}'.`,
      );
    }
    entry.message = reply.message ?? null;
    if (reply.drop || res.destroyed || stopped.aborted) {
      req.socket.destroy();
      this.#finish(entry, null);
      return;
    }
    this.#send(res, reply);
    this.#finish(entry, reply.status);
  }

  #send(res: http.ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = {
      "Date": this.#now().toUTCString(),
      "Server": "wats-test-server",
      ...reply.headers,
    };
    let text = "";
    if (reply.bytes !== undefined) {
      headers["Content-Type"] = reply.contentType ?? "application/octet-stream";
    } else if (reply.raw !== undefined) {
      text = reply.raw;
      headers["Content-Type"] = reply.contentType ?? "text/plain; charset=utf-8";
    } else if (reply.body !== undefined) {
      text = JSON.stringify(reply.body);
      headers["Content-Type"] = "application/json; charset=utf-8";
    }
    const payload = reply.bytes ?? new TextEncoder().encode(text);
    headers["Content-Length"] = String(payload.length); // like IIS: sized, not chunked
    if (!this.#options.keepAlive) headers["Connection"] = "close";
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  #finish(entry: RequestLogEntry, status: number | null): void {
    this.log.finish(entry, status);
    this.#options.onRequest?.(entry);
  }
}

interface BodyRead {
  /** The body, or null when it was larger than the limit (then only counted). */
  kept: Uint8Array | null;
  bytes: number;
  /** SHA-256 of the whole body, or null when it was not kept. */
  sha256: string | null;
}

/** Reads the whole request body (chunked or not); keeps it only up to `limit` bytes. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<BodyRead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let kept = true;
  const hash = createHash("sha256");
  for await (const chunk of req as AsyncIterable<Uint8Array>) {
    const data = chunk;
    bytes += data.length;
    if (kept && bytes > limit) {
      kept = false;
      chunks.length = 0;
    }
    if (kept) {
      chunks.push(data);
      hash.update(data);
    }
  }
  if (!req.complete) throw new Error(`the connection closed after ${bytes} bytes`);
  if (!kept) return { kept: null, bytes, sha256: null };
  const body = new Uint8Array(bytes);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.length;
  }
  return { kept: body, bytes, sha256: hash.digest("hex") };
}
