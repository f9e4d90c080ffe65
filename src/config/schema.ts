/**
 * The configuration file's schema. Key names are public contract: extend, never rename.
 *
 * @module
 */
import { z } from "zod";

const seconds = (def: number) => z.number().positive().default(def);

// Every key carries its description (`.describe`, or `.meta` with `defaultText` for a default
// computed on the station): `deno task docs` writes docs/config.md from them and `agent init`
// comments its starter config with them.

/** Where and how to upload. */
export const serverSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }).refine(
    (u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u),
    "expected no user name or password in the URL (they would show wherever the URL does): " +
      "put the WATS API token in server.token",
  ).describe(
    "The WATS server's base URL, e.g. `https://example.wats.com` (a path prefix is allowed, " +
      "no `/api`). `http://` sends the token in clear: warned unless the server is on this machine.",
  ),
  token: z.string().min(1, "expected the WATS API token (or set AGENT_TOKEN)").optional()
    .describe(
      "Required, here or in the `AGENT_TOKEN` environment variable (which overrides it): the WATS " +
        "API token, sent as given in `Authorization: Basic <token>`; never logged.",
    ),
  timeoutSeconds: seconds(30).describe(
    "Seconds one upload request may take before it is abandoned and retried.",
  ),
  caFile: z.string().optional().describe(
    "A PEM file with extra CA certificates (company TLS inspection, private CA). TLS is " +
      "always verified.",
  ),
  concurrency: z.int().min(1).max(64).default(4).describe("Uploads in flight at once."),
  retry: z.strictObject({
    initialSeconds: seconds(1).describe("First backoff after a transient failure."),
    maxSeconds: seconds(300).describe(
      "Longest backoff (full-jitter exponential); a longer `Retry-After` from the server wins.",
    ),
    budgetPerMinute: z.int().min(1).default(60).describe(
      "Retries started per minute across all reports (first attempts are not limited).",
    ),
  }).prefault({}).describe("Backoff after transient failures."),
  breaker: z.strictObject({
    failures: z.int().min(1).default(5).describe(
      "Consecutive failures that open the circuit breaker.",
    ),
    probeSeconds: seconds(10).describe(
      "While open, one `GET /api/App/Version` probe per this many seconds.",
    ),
  }).prefault({}).describe("The circuit breaker."),
  // Health tells "can't reach the server" before reports pile up.
  checkSeconds: seconds(60).describe(
    "While no upload has succeeded for this long, check the connection (`GET /api/App/Version`); " +
      'a failed check makes health degraded ("can\'t reach the WATS server") until it answers.',
  ),
  authRetrySeconds: seconds(300).describe(
    "While the token or URL is rejected (401/403/404), uploads pause and are retried this " +
      "often (and at once when the config changes).",
  ),
  clockSkewWarnSeconds: seconds(300).describe(
    "Warn (and degrade health) when the server clock differs from the station's by more.",
  ),
}).describe("Where and how to upload.");

/** The station every report is stamped with. */
export const stationSchema = z.strictObject({
  name: z.string().min(1).default(() => Deno.hostname?.() ?? "station").meta({
    description: "The machineName of reports that have none.",
    defaultText: "this computer's name",
  }),
  location: z.string().default("").describe("The location of reports that have none."),
  purpose: z.string().default("").describe("The purpose of reports that have none."),
  timeZone: z.string().refine(isTimeZone, "expected an IANA time zone such as Europe/Oslo")
    .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone).meta({
      description: "IANA time zone of times written in station files without a zone; the " +
        "reports' start always carries an offset.",
      defaultText: "this computer's zone",
    }),
  operator: z.string().default("operator").describe("Operator name used when a file names none."),
}).describe("Every report is stamped with this station.");

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
  name: z.string().min(1).regex(/^[\w.-]+$/, "expected letters, digits, '.', '_' or '-'")
    .describe("A name for logs and status, unique in the config (letters, digits, ., _, -)."),
  format: z.string().min(1).optional().describe(
    'A built-in format (docs/converters.md) or `"auto"` (detect per file); leave it out when ' +
      "`module` names a custom converter.",
  ),
  module: z.string().min(1).optional().describe(
    "A custom converter module (`.js` or `.ts`) instead of `format` (README: Custom converters).",
  ),
  watch: z.string().min(1).describe("The drop folder."),
  pattern: z.string().min(1).default("*").describe(
    "Glob for the files to take (`*`, `?`, `**`, `[abc]`, `{a,b}`); without `/` it matches " +
      "the file name in any subfolder. Case-insensitive on Windows.",
  ),
  recursive: z.boolean().default(false).describe("Also take files in subfolders."),
  ignore: z.array(z.string()).default([]).describe(
    "More globs to skip, on top of `*.tmp`, `*.part`, `*.partial`, `~$*` and dotfiles.",
  ),
  followSymlinks: z.boolean().default(false).describe(
    "Follow symbolic links (loops are detected). Only where nobody but trusted accounts can " +
      "write the drop folder: the agent then reads, uploads and deletes or moves whatever a " +
      "link in it leads to, with its own rights (root or SYSTEM as a service).",
  ),
  afterSuccess: afterSuccessSchema.default("move").describe(
    'After the reports are durably queued: `"delete"` the file, `"move"` it to `doneFolder` ' +
      '(keeping its subfolder path, never overwriting: `(1)` is added), or `"keep"` it ' +
      "(remembered, so it is not taken again; what append-mode logs need).",
  ),
  doneFolder: z.string().optional().meta({
    description: "Where `move` puts converted files.",
    defaultText: "`<watch>/Done`",
  }),
  errorFolder: z.string().optional().meta({
    description: "Where files that can't be converted go, each with `<name>.error.txt` beside " +
      "it: what happened, what to do.",
    defaultText: "`<watch>/Error`",
  }),
  params: z.record(z.string(), z.unknown()).default({}).describe(
    "The converter's parameters (docs/converters.md lists each converter's).",
  ),
  enabled: z.boolean().default(true).describe("Turn an entry off without deleting it."),
}).refine((c) => c.format !== undefined || c.module !== undefined, {
  message: 'expected "format" (a built-in format or "auto") or "module" (a custom converter file)',
  path: ["format"],
}).describe("One drop folder and how its files are converted.");

/** The niceness the agent runs at unless `priority.nice` says otherwise (below normal). */
export const DEFAULT_NICE = 10;

/** The whole configuration file. */
export const configSchema = z.strictObject({
  server: serverSchema,
  station: stationSchema.prefault({}),
  dataDir: z.string().min(1).default("./agent-data").describe(
    "Queue, indexes, state, control file and logs live here. Keep it on a local disk.",
  ),
  control: z.strictObject({
    port: z.int().min(0).max(65535).default(8089).describe(
      "The status page and API on 127.0.0.1 (0: any free port; the CLI finds it in " +
        "`<dataDir>/control.json`).",
    ),
    metricsListen: z.string().refine(
      (s) =>
        /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+):\d{1,5}$/.test(s) && +s.split(":").pop()! < 65536,
      'expected "address:port", e.g. "0.0.0.0:9469" (every interface), "10.0.0.5:9469" or ' +
        '"[::]:9469" (IPv6)',
    ).optional().meta({
      description: 'Also serve `GET /metrics` alone, read-only, at `"address:port"` (e.g. ' +
        '`"0.0.0.0:9469"`, `"[::]:9469"`) for a fleet\'s Prometheus ' +
        "(docs/monitoring/README.md). Firewall it.",
      defaultText: "off",
    }),
  }).prefault({}).describe(
    "The loopback control endpoint used by `agent status` and `agent flush`.",
  ),
  queue: z.strictObject({
    maxReports: z.int().min(1).default(100_000).describe(
      "Intake pauses when this many reports wait (queued + uploading + retrying); files stay " +
        "in their drop folders.",
    ),
    minFreeDiskMb: z.number().min(0).default(500).describe(
      "Intake pauses when the data directory's disk has less free space than this.",
    ),
    keepCompletedCount: z.int().min(0).default(1000).describe(
      "Uploaded reports kept as an audit trail in `queue/completed`: at most this many ...",
    ),
    keepCompletedHours: z.number().min(0).default(168).describe("... and none older than this."),
    duplicates: z.enum(["skip", "send"]).default("skip").describe(
      'A re-dropped file with identical content: `"skip"` it (logged), or `"send"` its reports ' +
        "again.",
    ),
  }).prefault({}).describe("The on-disk queue, and when intake pauses."),
  intake: z.strictObject({
    rescanSeconds: seconds(5).describe(
      "Full rescan of every drop folder (the source of truth; watch events are only hints).",
    ),
    stableSeconds: z.number().min(0).default(1).describe(
      "A file is taken when its size and mtime did not change for this long and it can be opened.",
    ),
    emptyFileSeconds: seconds(60).describe(
      'A zero-byte file goes to Error ("empty file") after staying empty this long.',
    ),
    // Checked at the gate and never read past: one huge or sparse file must not exhaust memory.
    maxFileMb: z.number().positive().default(256).describe(
      "A larger file goes to Error unread; checked when it is stable and again while it is read.",
    ),
  }).prefault({}).describe("How files are taken from the drop folders."),
  pool: z.strictObject({
    min: z.int().min(0).default(0).describe(
      "Converter workers kept when idle (0: start them only when a file arrives; saves ~25 MiB).",
    ),
    max: z.int().min(1).default(Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2)))
      .meta({
        description: "Converter workers at most. One more starts only when a file has waited " +
          "0.5 s for a worker (a burst of small files needs one), and those a burst started " +
          "stop after 30 s idle but one, kept 5 minutes.",
        defaultText: "min(4, CPU cores)",
      }),
    timeoutSeconds: seconds(60).describe(
      "Seconds one file may take to convert; past it the file goes to Error.",
    ),
    memoryMb: z.int().min(16).default(512).describe(
      "Heap limit of each converter worker in MiB; a file that needs more goes to Error.",
    ),
    maxLostWorkers: z.int().min(1).default(1).describe(
      "Stuck workers (that can't be stopped) tolerated before the agent exits 75 to be restarted.",
    ),
  }).prefault({}).refine((p) => p.min <= p.max, {
    message: "expected pool.min <= pool.max",
    path: ["min"],
  }).describe("The converter workers."),
  health: z.strictObject({
    stallMinutes: z.number().positive().default(10).describe(
      "Unhealthy when nothing was uploaded for this long while reports wait.",
    ),
    oldestQueuedMinutes: z.number().positive().default(30).describe(
      "Degraded when the oldest report still to upload is older than this.",
    ),
    maxErrorRate: z.number().min(0).max(1).default(0.5).describe(
      "Degraded when more than this share of uploads failed in the last 5 minutes.",
    ),
  }).prefault({}).describe(
    "When health (`agent status`, `GET /health`) turns degraded or unhealthy.",
  ),
  log: z.strictObject({
    level: z.enum(["debug", "info", "warning", "error"]).default("info").describe(
      "The lowest level logged.",
    ),
    maxFileMb: z.number().positive().default(10).describe(
      "The JSON-lines log `<dataDir>/logs/agent.log` rotates at this size.",
    ),
    maxFiles: z.int().min(1).default(5).describe("Rotated log files kept."),
  }).prefault({}).describe("The log file."),
  priority: z.strictObject({
    nice: z.int().min(0).max(19).default(DEFAULT_NICE).describe(
      "Unix niceness, 0 (normal) to 19 (lowest); Windows: 10-18 below normal, 19 idle. The " +
        "service starts the agent at it; an agent started by hand lowers itself to it.",
    ),
  }).prefault({}).describe("How much the agent yields the CPU to the station's own software."),
  converters: z.array(converterSchema).default([]).describe("One entry per drop folder."),
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
