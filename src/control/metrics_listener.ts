/**
 * The fleet's scrape path (`control.metricsListen`): `GET /metrics` alone, read-only, on an
 * address and port of its own, so a Prometheus elsewhere on the network can scrape the agent
 * while the control endpoint stays on loopback. Nothing else answers here: every other path is
 * 404 and every other method 405, whatever the headers say. It has no Host check (a scraper
 * may use any name for the station); there is nothing to rebind to but the metrics, which
 * carry no secret.
 *
 * @module
 */
import { logger } from "../log/log.ts";

const log = logger("control");

/** A running metrics listener. */
export interface MetricsListener {
  /** The address actually bound, as `host:port` (IPv6 in brackets). */
  address: string;
  shutdown(): Promise<void>;
}

/** `"0.0.0.0:9469"` → hostname and port; `"[::]:9469"` → `::` (the form the schema accepts). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon);
  return {
    hostname: host.startsWith("[") ? host.slice(1, -1) : host,
    port: Number(listen.slice(colon + 1)),
  };
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, ::ffff:127.x.x.x). */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

function refuse(status: 404 | 405, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      ...HEADERS,
      ...(status === 405 ? { allow: "GET, HEAD" } : {}),
    },
  });
}

/** Starts the listener; throws an error naming `control.metricsListen` when it can't bind. */
export function startMetricsListener(
  listen: string,
  render: () => Promise<string>,
): MetricsListener {
  const { hostname, port } = parseListen(listen);
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/metrics") {
      return refuse(404, `only /metrics is served on this address, not ${url.pathname}`);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return refuse(405, `/metrics is read-only here: GET or HEAD, not ${req.method}`);
    }
    try {
      const body = await render();
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", ...HEADERS },
      });
    } catch (e) {
      log.error("Metrics scrape on {address} failed: {error}", {
        address: listen,
        error: (e as Error).message,
      });
      return new Response("metrics could not be rendered (see the agent log)\n", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8", ...HEADERS },
      });
    }
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, handler);
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse
      ? `port ${port} on ${hostname} is already in use; pick a free port or stop what uses it`
      : e instanceof Deno.errors.AddrNotAvailable
      ? `${hostname} is not an address of this station; use one of its addresses, or ` +
        `0.0.0.0 for every interface`
      : (e as Error).message;
    throw new Error(
      `control.metricsListen "${listen}": can't listen (${why}). Fix control.metricsListen in ` +
        "the config, or remove it to serve /metrics on the loopback control endpoint only.",
    );
  }
  const { hostname: boundHost, port: boundPort } = server.addr;
  const address = `${boundHost.includes(":") ? `[${boundHost}]` : boundHost}:${boundPort}`;
  if (isLoopback(boundHost)) {
    log.info("Metrics for scraping on http://{address}/metrics (read-only; nothing else there)", {
      address,
    });
  } else {
    log.warn(
      "Metrics for scraping on http://{address}/metrics: reachable from the network by anyone " +
        "who can reach this station (station name, version, converter names, counts; read-only, " +
        "nothing else there). If that is not meant, set control.metricsListen to a loopback or " +
        "the scraping network's address, or firewall the port.",
      { address },
    );
  }
  return { address, shutdown: () => server.shutdown() };
}
