/**
 * The control endpoint: HTTP on 127.0.0.1 only. Read-only routes are open on loopback;
 * routes that change state need the bearer token the agent writes to
 * `<dataDir>/control.json` (mode 0600: readable only by the agent's user), which the CLI reads.
 *
 * - `GET /health`   health with reasons; 200 healthy/degraded, 503 unhealthy
 * - `GET /metrics`  Prometheus text
 * - `GET /status`   the full status snapshot (JSON)
 * - `GET /history`  per-minute counts for the last hour (JSON)
 * - `GET /`         the status page (static files from ./page/)
 * - `POST /flush`   upload everything now (body `{"errors": true}` also requeues errors)
 * - `POST /requeue` requeue error entries (body `{"keys": [...]}` or `{"all": true}`)
 * - `POST /pause`, `POST /resume`   intake
 * - `POST /stop`    stop gracefully (`agent stop`): answers 202, then drains and exits 0. Windows
 *   has no SIGTERM (Task Scheduler and Deno end a process outright), so this is the graceful way
 *   there; it works the same everywhere.
 *
 * `control.metricsListen` adds a second listener that serves `GET /metrics` alone, for a
 * fleet's Prometheus (./metrics_listener.ts); this one stays on loopback.
 *
 * The status page's retry button: the page is served with a second, per-run "page token"
 * embedded in it, which allows only the retry actions (`/requeue`, `/flush`), never
 * pause/resume. Only a script of the page's own origin can read it (the same-origin policy);
 * DNS rebinding (a foreign name resolving to 127.0.0.1) is refused by the Host check, and a
 * cross-site form post has no token and a foreign Origin. A cookie was not used: every port on
 * 127.0.0.1 is the same "site", so any other local web app's page could post with it.
 *
 * @module
 */
import { readAtMost } from "../read_at_most.ts";
import path from "#path";
import { timingSafeEqual } from "#crypto";
import { addSecrets, logger, redact, redactDeep } from "../log/log.ts";
import type { StatusSnapshot } from "../status/snapshot.ts";
import { PRIVATE_FILE } from "../private.ts";
import { replaceDurably } from "../queue/fs_ops.ts";
import type { HistoryAnswer } from "./history.ts";
import { type MetricsListener, startMetricsListener } from "./metrics_listener.ts";

/** What the control server serves from. */
export interface ControlHandlers {
  snapshot(): Promise<StatusSnapshot>;
  metrics(): Promise<string>;
  history(): HistoryAnswer;
  flush(opts: { errors: boolean }): Promise<{ requeued: number }>;
  requeue(opts: { keys?: string[]; all?: boolean }): Promise<{ requeued: number }>;
  pause(): void;
  resume(): void;
  /** Begins the graceful stop (not awaited: the stop shuts this server down). */
  stop(): void;
}

/** What `<dataDir>/control.json` holds. */
export interface ControlInfo {
  pid: number;
  port: number;
  token: string;
  startedAt: string;
  version: string;
  /** The metrics listener's address (`host:port`), when `control.metricsListen` is set. */
  metricsListen?: string;
}

/** The control file's path. */
export function controlFile(dataDir: string): string {
  return path.join(dataDir, "control.json");
}

const log = logger("control");

/** The status page's files: URL path → file in ./page/ and its content type. */
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** Where the page gets its token from: `<meta name="agent-page-token" content="...">`. */
export const PAGE_TOKEN_PLACEHOLDER = "{{AGENT_PAGE_TOKEN}}";

/** Actions the page token may call. */
const PAGE_ACTIONS = new Set(["/requeue", "/flush"]);

/** Host names the control endpoint answers to (anything else is DNS rebinding or a mistake). */
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const PAGE_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** A running control server. */
export interface ControlServer {
  port: number;
  token: string;
  /** The status page's token (retry actions only). */
  pageToken: string;
  shutdown(): Promise<void>;
}

function randomToken(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

function sameBytes(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The host name of a Host header value ("127.0.0.1:8089" → "127.0.0.1", "[::1]:80" → "[::1]"),
 * or null when the value is not exactly a name and an optional port: "127.0.0.1:1@evil.com" or
 * "localhost.evil.com" must not pass for a local name.
 */
export function hostName(host: string): string | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?$/.exec(host.trim().toLowerCase());
  return m ? m[1] : null;
}

/** Starts the control server and writes control.json (mode 0600). */
export async function startControlServer(
  dataDir: string,
  port: number,
  handlers: ControlHandlers,
  meta: { version: string; startedAt: string; metricsListen?: string },
): Promise<ControlServer> {
  const token = randomToken();
  const pageToken = randomToken();
  addSecrets([token, pageToken]);
  const files = new Map<string, string>();
  const readPage = async (name: string): Promise<string> => {
    let text = files.get(name);
    if (text === undefined) {
      text = await Deno.readTextFile(new URL(`./page/${name}`, import.meta.url));
      files.set(name, text);
    }
    return text;
  };
  // Everything served can quote a server message or a converter error: no secret goes out.
  const metrics = async () => redact(await handlers.metrics());
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(redactDeep(body)), {
      status,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });

  /** Which token authorizes the request: "control", "page" or null. */
  const authorized = (req: Request): "control" | "page" | null => {
    const got = req.headers.get("authorization") ?? "";
    if (sameBytes(got, `Bearer ${token}`)) return "control";
    if (sameBytes(got, `Bearer ${pageToken}`)) return "page";
    return null;
  };

  const handler = async (req: Request): Promise<Response> => {
    // HTTP/2 sends no Host line: its :authority is the request URL's host.
    const host = req.headers.get("host") ?? URL.parse(req.url)?.host ?? "";
    if (!LOCAL_HOSTS.has(hostName(host) ?? "")) {
      return json({
        error: `the control endpoint answers only to 127.0.0.1 or localhost, not to Host "${host}"`,
      }, 421);
    }
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return json({ error: `the request's Host "${host}" or path is not a valid URL` }, 400);
    }
    // An absolute request target ("GET http://evil.com/ HTTP/1.1") names its own host.
    if (!LOCAL_HOSTS.has(url.hostname)) {
      return json({
        error: `the control endpoint answers only to 127.0.0.1 or localhost, not to ${url.host}`,
      }, 421);
    }
    try {
      if (req.method === "GET" || req.method === "HEAD") {
        switch (url.pathname) {
          case "/health": {
            const s = await handlers.snapshot();
            return json(s.health, s.health.state === "unhealthy" ? 503 : 200);
          }
          case "/metrics":
            return new Response(await metrics(), {
              headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
            });
          case "/status":
            return json(await handlers.snapshot());
          case "/history":
            return json(handlers.history());
        }
        const page = PAGE_FILES[url.pathname];
        if (page) {
          let body = await readPage(page.file);
          if (page.file === "index.html") body = body.replaceAll(PAGE_TOKEN_PLACEHOLDER, pageToken);
          return new Response(body, { headers: { "content-type": page.type, ...PAGE_HEADERS } });
        }
        return json({ error: `no such page: ${url.pathname}` }, 404);
      }
      if (req.method === "POST") {
        const origin = req.headers.get("origin");
        if (origin !== null && origin !== `http://${host}`) {
          return json({ error: `cross-origin request from ${origin} refused` }, 403);
        }
        const who = authorized(req);
        if (who === null) {
          return json({
            error: "this needs the control token (Authorization: Bearer <token> from control.json)",
          }, 401);
        }
        if (who === "page" && !PAGE_ACTIONS.has(url.pathname)) {
          return json({ error: `the status page may not call ${url.pathname}; use the CLI` }, 403);
        }
        const body = await readSmallJson(req);
        if (body === TOO_LARGE) {
          return json({ error: `a request body is at most ${MAX_BODY_BYTES} bytes` }, 413);
        }
        switch (url.pathname) {
          case "/flush":
            return json(await handlers.flush({ errors: body?.errors === true }));
          case "/requeue": {
            const keys = body?.keys;
            if (
              keys !== undefined &&
              !(Array.isArray(keys) && keys.every((k) => typeof k === "string"))
            ) {
              return json({
                error: `"keys" must be a list of queue keys, found ${JSON.stringify(keys)}`,
              }, 400);
            }
            if (keys === undefined && body?.all !== true) {
              return json({ error: 'give "keys": [...] or "all": true' }, 400);
            }
            log.info("Requeue asked through the {via}", {
              via: who === "page" ? "status page" : "control API",
            });
            return json(await handlers.requeue({ keys, all: body?.all === true }));
          }
          case "/pause":
            handlers.pause();
            return json({ paused: true });
          case "/resume":
            handlers.resume();
            return json({ paused: false });
          case "/stop":
            // Not awaited: the stop shuts this server down, and a shutdown waits for open requests.
            setTimeout(() => handlers.stop(), 0);
            return json({ stopping: true, pid: Deno.pid }, 202);
        }
        return json({ error: `no such action: ${url.pathname}` }, 404);
      }
      return json({ error: `method ${req.method} not allowed` }, 405);
    } catch (e) {
      log.error("Control request {method} {path} failed: {error}", {
        method: req.method,
        path: url.pathname,
        error: (e as Error).message,
      });
      return json({ error: (e as Error).message }, 500);
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `control port ${port} on 127.0.0.1 is already in use. Set control.port in the config to a ` +
          "free port (or 0 to pick one), or stop what uses it.",
      );
    }
    throw e;
  }
  let scrape: MetricsListener | null = null;
  if (meta.metricsListen) {
    try {
      scrape = startMetricsListener(meta.metricsListen, metrics);
    } catch (e) {
      await server.shutdown();
      throw e;
    }
  }
  const info: ControlInfo = {
    pid: Deno.pid,
    port: server.addr.port,
    token,
    version: meta.version,
    startedAt: meta.startedAt,
    ...(scrape ? { metricsListen: scrape.address } : {}),
  };
  const file = controlFile(dataDir);
  await replaceDurably(file, JSON.stringify(info, null, 2), { mode: PRIVATE_FILE });
  return {
    port: server.addr.port,
    token,
    pageToken,
    async shutdown() {
      await Promise.all([server.shutdown(), scrape?.shutdown()]);
      await Deno.remove(file).catch(() => {});
    },
  };
}

/** Reads control.json, or null when absent or unreadable. */
export async function readControlInfo(dataDir: string): Promise<ControlInfo | null> {
  try {
    return JSON.parse(await Deno.readTextFile(controlFile(dataDir)));
  } catch {
    return null;
  }
}

/** The actions take a few keys at most: a bigger body is refused unread (no memory for it). */
const MAX_BODY_BYTES = 1024 * 1024;
const TOO_LARGE = Symbol("too large");

/** A POST body as JSON ({} when empty or not JSON), or TOO_LARGE past {@link MAX_BODY_BYTES}. */
async function readSmallJson(req: Request): Promise<typeof TOO_LARGE | Record<string, unknown>> {
  if (Number(req.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return TOO_LARGE;
  if (!req.body) return {};
  const { bytes, over } = await readAtMost(req.body, MAX_BODY_BYTES);
  if (over) return TOO_LARGE;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === "object" && v !== null ? v : {};
  } catch {
    return {};
  }
}
