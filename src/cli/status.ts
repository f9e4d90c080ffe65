/**
 * `agent status`: is the agent running, is it healthy and why, what is queued, what failed.
 * Exit codes fit a monitoring check: 0 healthy, 1 degraded, 2 unhealthy, 3 cannot tell.
 *
 * @module
 */
import { heldElsewhere, runsElsewhere } from "../watch/held_elsewhere.ts";
import path from "#path";
import { type Command, parseCommandArgs } from "./command.ts";
import { configHelp, configOption } from "./config_arg.ts";
import { type Config, ConfigError, loadConfig, resolveConfigPath } from "../config/load.ts";
import { contactAgent, fetchStatus } from "../control/client.ts";
import type { ControlInfo } from "../control/server.ts";
import type { StatusSnapshot } from "../status/snapshot.ts";
import { offlineSnapshot } from "../status/offline.ts";
import type { HealthState } from "../control/health.ts";
import { addSecrets, escapeControls, mapStrings, redact, redactDeep } from "../log/log.ts";

/** The status exit code for a health state. */
export const HEALTH_EXIT: Record<HealthState, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
/** The status exit code when the state can't be determined. */
export const CANNOT_TELL = 3;

/** `agent status [--config FILE] [--json]` */
export const command: Command = {
  name: "status",
  summary: "Show whether the agent runs, its health, the queue and recent errors",
  help: `Usage: agent status [--config FILE] [--json]

Shows whether the agent is running, its health with reasons, queue counts, the last upload,
the circuit breaker, each converter with its folder and counts, and recent errors. Works
whether or not the agent runs (it then reads the data directory).

Options:
${configHelp}
  --json              One JSON object: running, health {state, reasons}, queue {queued,
                      processing, completed, error, quarantine, retrying, oldestQueuedAgeSeconds},
                      upload, intake, converters, pool, recentErrors

When the config file has an error but an agent runs (on its last good config), the error is
printed and the running agent's status shown.

Exit codes: 0 healthy, 1 degraded, 2 unhealthy (including: not running), 3 cannot tell
(invalid config and no agent found, or an agent that holds the data directory but does not
answer).`,
  async run(argv) {
    const { values } = parseCommandArgs("status", argv, {
      ...configOption,
      json: { type: "boolean" },
    });
    const json = values.json === true;
    const loaded = await configOrRunningAgent(values.config as string | undefined);
    if ("info" in loaded) {
      // The file has an error, but an agent runs on its last good config: show that agent.
      if (!json) {
        console.error(`${loaded.error.message}\n(The running agent keeps its last good config.)\n`);
      }
      let snap: StatusSnapshot;
      try {
        snap = await fetchStatus(loaded.info);
      } catch (e) {
        if (!json) console.error(`agent status: cannot tell: ${(e as Error).message}`);
        else {console.log(
            JSON.stringify({ error: `cannot tell: ${(e as Error).message}`, health: null }),
          );}
        return CANNOT_TELL;
      }
      if (json) {
        console.log(
          JSON.stringify(redactDeep({ ...snap, configError: loaded.error.problems }), null, 2),
        );
      } else console.log(renderStatus(snap, Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR")));
      return HEALTH_EXIT[snap.health.state];
    }
    if ("error" in loaded) {
      if (json) {
        console.log(
          JSON.stringify({ error: loaded.error.message, config: loaded.error.file, health: null }),
        );
      } else console.error(loaded.error.message);
      return CANNOT_TELL;
    }
    const { config } = loaded;
    addSecrets([config.server.token]);
    const contact = await contactAgent(config.dataDir);
    let snap: StatusSnapshot;
    try {
      if (contact.state === "unreachable") {
        const msg = `cannot tell: ${contact.why}`;
        if (json) console.log(JSON.stringify({ running: true, error: msg, health: null }));
        else {console.error(
            `agent status: ${msg}. Is it hung? Check its log in ${config.dataDir}/logs.`,
          );}
        return CANNOT_TELL;
      }
      if (contact.state === "stopped") {
        const other = await heldElsewhere(config.converters.map((c) => c.watch), config.dataDir);
        if (other) {
          const msg = `cannot tell: ${runsElsewhere(other, config.dataDir)}`;
          if (json) console.log(JSON.stringify({ running: false, error: msg, health: null }));
          else console.error(`agent status: ${msg}.`);
          return CANNOT_TELL;
        }
      }
      snap = contact.state === "running"
        ? await fetchStatus(contact.info)
        : await offlineSnapshot(config);
    } catch (e) {
      const msg = `cannot tell: ${(e as Error).message}`;
      if (json) console.log(JSON.stringify({ error: msg }));
      else console.error(`agent status: ${msg}`);
      return CANNOT_TELL;
    }
    // The data directory may hold texts from an older version that quote a secret.
    if (json) console.log(JSON.stringify(redactDeep(snap), null, 2));
    else console.log(renderStatus(snap, Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR")));
    return HEALTH_EXIT[snap.health.state];
  },
};

/**
 * The data directory a config file names, read loosely (for a file that does not validate):
 * its "dataDir" string if one can be found, else the default, relative to the file's folder.
 */
export async function looseDataDir(file: string): Promise<string> {
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch { /* the default then */ }
  const m = /"dataDir"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  let dir = "./agent-data";
  if (m) {
    try {
      dir = JSON.parse(`"${m[1]}"`);
    } catch { /* keep the default */ }
  }
  return path.resolve(path.dirname(path.resolve(file)), dir);
}

/**
 * The config; or, when it does not validate, the agent that runs on its data directory (found
 * loosely) together with the config error; or just the error.
 */
export async function configOrRunningAgent(
  explicit: string | undefined,
): Promise<
  { config: Config } | { info: ControlInfo; error: ConfigError } | { error: ConfigError }
> {
  const file = resolveConfigPath(explicit);
  try {
    return { config: await loadConfig(file) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const contact = await contactAgent(await looseDataDir(file));
    return contact.state === "running" ? { info: contact.info, error: e } : { error: e };
  }
}

/** How long ago, in words. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return `${duration(s)} ago`;
}

/** A duration in seconds, in words. */
export function duration(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/**
 * The human summary. Its texts come from the world (file names, server messages): they are
 * redacted and their control characters escaped, so none can fake a line of its own.
 */
export function renderStatus(snap: StatusSnapshot, color: boolean): string {
  const s = mapStrings(snap, (t) => escapeControls(redact(t)));
  const c = (code: string, t: string) => color ? `\x1b[${code}m${t}\x1b[0m` : t;
  const stateColor = { healthy: "32", degraded: "33", unhealthy: "31" }[s.health.state];
  const lines: string[] = [];
  lines.push(
    s.running
      ? `Agent:     running (pid ${s.pid}, since ${s.startedAt}, version ${s.version})`
      : `Agent:     ${c("31", "not running")} (data directory ${s.dataDir})`,
  );
  lines.push(`Health:    ${c(stateColor, s.health.state.toUpperCase())}`);
  for (const r of s.health.reasons) lines.push(`  - ${r}`);
  const q = s.queue;
  lines.push(
    `Queue:     ${q.queued} queued, ${q.processing} uploading, ${q.error} in error ` +
      `(${q.retrying} will retry), ${q.completed} completed (kept), ${q.quarantine} quarantined`,
  );
  if (q.oldestQueuedAgeSeconds !== null) {
    lines.push(`           oldest waiting: ${duration(q.oldestQueuedAgeSeconds)}`);
  }
  const u = s.upload;
  const server = `${s.server.url}${s.server.version ? ` (WATS ${s.server.version})` : ""}`;
  lines.push(`Server:    ${server}`);
  if (u) {
    const breaker = u.breaker === "closed" ? "closed" : c("31", u.breaker);
    lines.push(
      `Uploads:   last success ${ago(u.lastSuccessAt)}; circuit breaker ${breaker}` +
        (s.running ? `; ${u.inFlight} in flight` : ""),
    );
    if (u.authProblem) lines.push(`           ${c("31", "PAUSED")}: ${u.authProblem}`);
    if (u.lastError) {
      lines.push(`           last error ${ago(u.lastError.at)}: ${u.lastError.message}`);
    }
  }
  lines.push(
    `Intake:    ${
      s.intake.paused
        ? `${c("33", "PAUSED")}: ${s.intake.reason}`
        : s.running
        ? "taking files"
        : "-"
    }`,
  );
  if (s.converters.length) {
    lines.push("Converters:");
    for (const conv of s.converters) {
      const counts = "converted" in conv
        ? `${conv.converted} files → ${conv.reports} reports, ${conv.failed} failed, ${conv.waiting} waiting` +
          (conv.missing ? `, ${c("31", "FOLDER MISSING")}` : "")
        : "";
      lines.push(
        `  ${conv.name.padEnd(16)} ${conv.format.padEnd(14)} ${conv.folder}${
          counts ? `  (${counts})` : ""
        }`,
      );
    }
  }
  if (s.recentErrors.length) {
    lines.push("Recent errors:");
    for (const e of s.recentErrors.slice(0, 10)) {
      const what = e.kind === "upload"
        ? `report ${e.reportId}${e.permanent ? "" : e.retryAt ? ` (retry ${e.retryAt})` : ""}`
        : `file moved to ${e.movedTo ?? "?"}`;
      lines.push(`  ${e.at}  ${e.file}: ${e.reason} [${what}; ${e.correlationId}]`);
    }
  }
  return lines.join("\n");
}
