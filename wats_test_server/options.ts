/**
 * Options of the WATS-compatible test server, and their defaults.
 *
 * @module
 */
import type { FaultSettings } from "./faults.ts";
import type { RequestLogEntry } from "./request_log.ts";
import { defaultProcesses, type WatsProcess } from "./processes.ts";

/** How to start a test server. Everything is optional except a token. */
export interface WatsServerOptions {
  /** TCP port; 0 (default) picks a free one. A restart keeps the port actually used. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1 (the control endpoints answer loopback only). */
  hostname?: string;
  /** Valid API tokens (`Authorization: Basic <token>`, compared as opaque strings). */
  tokens?: string[];
  /** Tokens that authenticate but have no rights: every `/api/*` request gets 403. */
  noRightsTokens?: string[];
  /** Path prefix before `/api`, e.g. "/wats" (older self-hosted installs). Default none. */
  pathPrefix?: string;
  /** Request bodies above this many bytes get 413. Default 50 MiB. */
  maxBodyBytes?: number;
  /** Save reports under this folder so they survive a restart of the server process. */
  storeDir?: string;
  /** Added to the server's clock for the `Date` header, Ping's ServerTime and Retry-After dates. */
  clockSkewMs?: number;
  /** Faults in force from the start. */
  faults?: FaultSettings;
  /** Known processes (replaces the default 10, 50, 90, 500). */
  processes?: WatsProcess[];
  /** `GET /api/App/Version` answer. Default "2025.1.0". */
  version?: string;
  /** Ping's ServerName. Default "wats-test-server". */
  serverName?: string;
  /** Longest allowed pn/sn/rev/machineName/location/purpose. Default 100 (pyWATS's limit). */
  maxFieldLength?: number;
  /** Reject numeric measurements whose compOp lacks the limits it needs. Default true. */
  checkLimits?: boolean;
  /** Keep the latest request body text with each stored report. Default false. */
  keepBodies?: boolean;
  /** Keep each request's body text in the request log. Default false. */
  logBodies?: boolean;
  /**
   * Allow HTTP keep-alive (default true). With false every answer says `Connection: close`,
   * so each request uses a fresh connection (fetch then never re-sends a dropped POST itself).
   */
  keepAlive?: boolean;
  /** About how many request log entries to keep. Default 100000. */
  maxLogEntries?: number;
  /** Called after each WATS request is answered or dropped (e.g. for a verbose CLI). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** Options with defaults filled in. */
export interface ResolvedOptions extends
  Required<
    Omit<WatsServerOptions, "storeDir" | "faults" | "onRequest" | "tokens" | "noRightsTokens">
  > {
  tokens: string[];
  noRightsTokens: string[];
  storeDir: string | null;
  faults: FaultSettings;
  onRequest: ((entry: RequestLogEntry) => void) | null;
}

/** Fills in defaults and checks values; throws naming the option when one is wrong. */
export function resolveOptions(options: WatsServerOptions): ResolvedOptions {
  const tokens = options.tokens ?? [];
  const noRightsTokens = options.noRightsTokens ?? [];
  if (tokens.length === 0 && noRightsTokens.length === 0) {
    throw new Error("WATS test server: give at least one token (options.tokens, or --token)");
  }
  for (const t of [...tokens, ...noRightsTokens]) {
    if (typeof t !== "string" || t === "") {
      throw new Error(
        `WATS test server: tokens must be non-empty strings, found ${JSON.stringify(t)}`,
      );
    }
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`WATS test server: port must be 0..65535, found ${options.port}`);
  }
  let prefix = (options.pathPrefix ?? "").trim().replace(/\/+$/, "");
  if (prefix !== "" && !prefix.startsWith("/")) prefix = `/${prefix}`;
  const maxBodyBytes = options.maxBodyBytes ?? 50 * 1024 * 1024;
  if (!(maxBodyBytes >= 0)) {
    throw new Error(`WATS test server: maxBodyBytes must be >= 0, found ${options.maxBodyBytes}`);
  }
  return {
    port,
    hostname: options.hostname ?? "127.0.0.1",
    tokens,
    noRightsTokens,
    pathPrefix: prefix,
    maxBodyBytes,
    storeDir: options.storeDir ?? null,
    clockSkewMs: options.clockSkewMs ?? 0,
    faults: options.faults ?? {},
    processes: options.processes ?? [...defaultProcesses],
    version: options.version ?? "2025.1.0",
    serverName: options.serverName ?? "wats-test-server",
    maxFieldLength: options.maxFieldLength ?? 100,
    checkLimits: options.checkLimits ?? true,
    keepBodies: options.keepBodies ?? false,
    logBodies: options.logBodies ?? false,
    keepAlive: options.keepAlive ?? true,
    maxLogEntries: options.maxLogEntries ?? 100_000,
    onRequest: options.onRequest ?? null,
  };
}
