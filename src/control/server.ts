/**
 * The control endpoint: HTTP on 127.0.0.1 only. Read-only routes are open on loopback;
 * routes that change state need the bearer token the agent writes to
 * `<dataDir>/control.json` (readable only by the agent's user), which the CLI reads.
 *
 * - `GET /health`   health with reasons; 200 healthy/degraded, 503 unhealthy
 * - `GET /metrics`  Prometheus text
 * - `GET /status`   the full status snapshot (JSON)
 * - `GET /`         the status page
 * - `POST /flush`   upload everything now (body `{"errors": true}` also requeues errors)
 * - `POST /requeue` requeue error entries (body `{"keys": [...]}` or `{"all": true}`)
 * - `POST /pause`, `POST /resume`   intake
 *
 * @module
 */
import path from "#path";
import { timingSafeEqual } from "#crypto";
import { logger } from "../log/log.ts";
import type { StatusSnapshot } from "./snapshot.ts";

/** What the control server serves from. */
export interface ControlHandlers {
  snapshot(): Promise<StatusSnapshot>;
  metrics(): Promise<string>;
  flush(opts: { errors: boolean }): Promise<{ requeued: number }>;
  requeue(opts: { keys?: string[]; all?: boolean }): Promise<{ requeued: number }>;
  pause(): void;
  resume(): void;
}

/** What `<dataDir>/control.json` holds. */
export interface ControlInfo {
  pid: number;
  port: number;
  token: string;
  startedAt: string;
  version: string;
}

/** The control file's path. */
export function controlFile(dataDir: string): string {
  return path.join(dataDir, "control.json");
}

const log = logger("control");
const pageUrl = new URL("./page/index.html", import.meta.url);

/** A running control server. */
export interface ControlServer {
  port: number;
  token: string;
  shutdown(): Promise<void>;
}

/** Starts the control server and writes control.json (mode 0600). */
export async function startControlServer(
  dataDir: string,
  port: number,
  handlers: ControlHandlers,
  meta: { version: string; startedAt: string },
): Promise<ControlServer> {
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const expected = new TextEncoder().encode(`Bearer ${token}`);
  const authorized = (req: Request) => {
    const got = new TextEncoder().encode(req.headers.get("authorization") ?? "");
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  let page: string | null = null;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      if (req.method === "GET") {
        switch (url.pathname) {
          case "/health": {
            const s = await handlers.snapshot();
            return json(s.health, s.health.state === "unhealthy" ? 503 : 200);
          }
          case "/metrics":
            return new Response(await handlers.metrics(), {
              headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
            });
          case "/status":
            return json(await handlers.snapshot());
          case "/":
          case "/index.html":
            page ??= await Deno.readTextFile(pageUrl);
            return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
        }
        return json({ error: `no such page: ${url.pathname}` }, 404);
      }
      if (req.method === "POST") {
        if (!authorized(req)) {
          return json({ error: "this needs the control token (Authorization: Bearer <token> from control.json)" }, 401);
        }
        const body = await req.json().catch(() => ({}));
        switch (url.pathname) {
          case "/flush":
            return json(await handlers.flush({ errors: body?.errors === true }));
          case "/requeue":
            return json(await handlers.requeue({ keys: body?.keys, all: body?.all === true }));
          case "/pause":
            handlers.pause();
            return json({ paused: true });
          case "/resume":
            handlers.resume();
            return json({ paused: false });
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
  const info: ControlInfo = { pid: Deno.pid, port: server.addr.port, token, ...meta };
  const file = controlFile(dataDir);
  await Deno.writeTextFile(file + ".tmp", JSON.stringify(info, null, 2), { mode: 0o600 });
  await Deno.rename(file + ".tmp", file);
  return {
    port: server.addr.port,
    token,
    async shutdown() {
      await server.shutdown();
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
