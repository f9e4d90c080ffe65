/**
 * The configuration file's schema. Key names are public contract: extend, never rename.
 *
 * @module
 */
import { z } from "zod";

const seconds = (def: number) => z.number().positive().default(def);

/** Where and how to upload. */
export const serverSchema = z.strictObject({
  /** Base URL of the WATS server, e.g. https://example.wats.com (a path prefix is allowed). */
  url: z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }),
  /** The WATS API token, sent as given after "Basic ". AGENT_TOKEN overrides it. */
  token: z.string().min(1, "expected the WATS API token (or set AGENT_TOKEN)").optional(),
  /** Seconds one upload request may take before it is abandoned and retried. */
  timeoutSeconds: seconds(30),
  /** A PEM file with extra CA certificates (company proxies, private CAs). */
  caFile: z.string().optional(),
  /** Uploads in flight at once. */
  concurrency: z.int().min(1).max(64).default(4),
  /** Backoff after transient failures (full jitter, exponential). */
  retry: z.strictObject({
    initialSeconds: seconds(1),
    maxSeconds: seconds(300),
    /** Retries allowed per minute across all reports (the retry budget). */
    budgetPerMinute: z.int().min(1).default(60),
  }).prefault({}),
  /** Circuit breaker: opens after this many consecutive failures, probes every probeSeconds. */
  breaker: z.strictObject({
    failures: z.int().min(1).default(5),
    probeSeconds: seconds(10),
  }).prefault({}),
  /**
   * While no upload has succeeded for this long, check the connection (`GET /api/App/Version`),
   * so health tells "can't reach the server" before reports pile up.
   */
  checkSeconds: seconds(60),
  /** Seconds between retries while the token or URL is rejected (401/403/404). */
  authRetrySeconds: seconds(300),
  /** Warn when the server clock differs from the station's by more than this. */
  clockSkewWarnSeconds: seconds(300),
});

/** The station every report is stamped with. */
export const stationSchema = z.strictObject({
  name: z.string().min(1).default(() => Deno.hostname?.() ?? "station"),
  location: z.string().default(""),
  purpose: z.string().default(""),
  /** IANA time zone for naive timestamps in station files; default: this machine's zone. */
  timeZone: z.string().refine(isTimeZone, "expected an IANA time zone such as Europe/Oslo")
    .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
  /** Operator name used when a file names none. */
  operator: z.string().default("operator"),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Post-actions for a source file once its reports are durably queued. */
export const afterSuccessSchema = z.enum(["delete", "move", "keep"]);

/** One watched folder and how its files are converted. */
export const converterSchema = z.strictObject({
  /** A name for logs and status, unique in the config. */
  name: z.string().min(1).regex(/^[\w.-]+$/, "expected letters, digits, '.', '_' or '-'"),
  /** A built-in format name, "auto", or omitted when `module` names a custom converter. */
  format: z.string().min(1).optional(),
  /** A custom converter module (.js or .ts) implementing the converter contract. */
  module: z.string().min(1).optional(),
  /** The drop folder. */
  watch: z.string().min(1),
  /** Glob for files to take, matched against the path relative to `watch`. */
  pattern: z.string().min(1).default("*"),
  /** Also take files in subfolders. */
  recursive: z.boolean().default(false),
  /** Extra glob patterns to ignore, on top of the defaults (*.tmp, *.part, ~$*, dotfiles). */
  ignore: z.array(z.string()).default([]),
  /** Follow symbolic links (loops are detected). */
  followSymlinks: z.boolean().default(false),
  afterSuccess: afterSuccessSchema.default("move"),
  /** Where `move` puts converted files; default <watch>/Done. */
  doneFolder: z.string().optional(),
  /** Where files that can't be converted go; default <watch>/Error. */
  errorFolder: z.string().optional(),
  /** Parameters for the converter (part number defaults, date order, …). */
  params: z.record(z.string(), z.unknown()).default({}),
  enabled: z.boolean().default(true),
}).refine((c) => c.format !== undefined || c.module !== undefined, {
  message: 'expected "format" (a built-in format or "auto") or "module" (a custom converter file)',
  path: ["format"],
});

/** The niceness the agent runs at unless `priority.nice` says otherwise (below normal). */
export const DEFAULT_NICE = 10;

/** The whole configuration file. */
export const configSchema = z.strictObject({
  server: serverSchema,
  station: stationSchema.prefault({}),
  /** Queue, state and logs live here. */
  dataDir: z.string().min(1).default("./agent-data"),
  /** Loopback control endpoint used by `agent status` and `agent flush`. */
  control: z.strictObject({
    port: z.int().min(0).max(65535).default(8089),
    /**
     * Off by default. "address:port" (e.g. "0.0.0.0:9469", "[::]:9469"): also serve
     * `GET /metrics` alone, read-only, there, for a fleet's Prometheus. Firewall it.
     */
    metricsListen: z.string().refine(
      (s) =>
        /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+):\d{1,5}$/.test(s) && +s.split(":").pop()! < 65536,
      'expected "address:port", e.g. "0.0.0.0:9469" (every interface), "10.0.0.5:9469" or ' +
        '"[::]:9469" (IPv6)',
    ).optional(),
  }).prefault({}),
  queue: z.strictObject({
    /** Intake pauses above this many reports waiting (queued + processing + error retrying). */
    maxReports: z.int().min(1).default(100_000),
    /** Intake pauses when the data directory's disk has less free space than this. */
    minFreeDiskMb: z.number().min(0).default(500),
    /** Completed reports kept as an audit trail: at most this many ... */
    keepCompletedCount: z.int().min(0).default(1000),
    /** ... and none older than this. */
    keepCompletedHours: z.number().min(0).default(168),
    /** A re-dropped file with identical content: skip it, or send its reports again. */
    duplicates: z.enum(["skip", "send"]).default("skip"),
  }).prefault({}),
  intake: z.strictObject({
    /** Full rescan of every drop folder (the source of truth; watch events are hints). */
    rescanSeconds: seconds(5),
    /** A file is taken when its size and mtime have not changed for this long. */
    stableSeconds: z.number().min(0).default(1),
    /** A zero-byte file goes to Error after staying empty this long. */
    emptyFileSeconds: seconds(60),
    /**
     * A larger file goes to Error unread (checked at the gate, and never read past it): one
     * huge or sparse file must not exhaust the station's memory.
     */
    maxFileMb: z.number().positive().default(256),
  }).prefault({}),
  pool: z.strictObject({
    /** Workers kept when idle (0: start them only when a file arrives; saves ~25 MiB). */
    min: z.int().min(0).default(0),
    max: z.int().min(1).default(Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2))),
    /** Seconds one file may take to convert. */
    timeoutSeconds: seconds(60),
    /** Heap limit of each worker in MiB. */
    memoryMb: z.int().min(16).default(512),
    /** Workers that may be lost (stuck, not reclaimable) before the agent restarts itself. */
    maxLostWorkers: z.int().min(1).default(1),
  }).prefault({}).refine((p) => p.min <= p.max, {
    message: "expected pool.min <= pool.max",
    path: ["min"],
  }),
  /** When health turns degraded or unhealthy. */
  health: z.strictObject({
    /** Unhealthy when nothing was uploaded for this long while reports wait. */
    stallMinutes: z.number().positive().default(10),
    /** Degraded when the oldest report still to upload is older than this. */
    oldestQueuedMinutes: z.number().positive().default(30),
    /** Degraded when more than this share of uploads failed in the last 5 minutes. */
    maxErrorRate: z.number().min(0).max(1).default(0.5),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(["debug", "info", "warning", "error"]).default("info"),
    /** The JSON-lines log file in <dataDir>/logs rotates at this size. */
    maxFileMb: z.number().positive().default(10),
    maxFiles: z.int().min(1).default(5),
  }).prefault({}),
  /** How much the agent yields the CPU to the station's own software. */
  priority: z.strictObject({
    /**
     * Unix niceness, 0 (normal) to 19 (lowest); Windows: 10-18 below normal, 19 idle. The
     * service starts the agent at it; an agent started by hand lowers itself to it.
     */
    nice: z.int().min(0).max(19).default(DEFAULT_NICE),
  }).prefault({}),
  converters: z.array(converterSchema).default([]),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.converters.forEach((conv, i) => {
    if (seen.has(conv.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["converters", i, "name"],
        message: `expected a unique name, found "${conv.name}" twice`,
      });
    }
    seen.add(conv.name);
  });
});

/** The configuration as validated, with defaults filled in (paths not yet resolved). */
export type ConfigInput = z.infer<typeof configSchema>;
/** One converter entry. */
export type ConverterConfig = z.infer<typeof converterSchema>;
