/**
 * `agent service status`: is the service defined, is it running, and where is its file. Asks
 * the service manager (systemctl, launchctl, schtasks) rather than guessing.
 *
 * @module
 */
import { type CommandResult, runCommand } from "./execute.ts";
import type { PlanContext } from "./plan.ts";
import type { ServiceSpec } from "./spec.ts";

/** What the service manager says about the agent's service. */
export interface ServiceStatus {
  name: string;
  /** "systemd", "launchd" or "Task Scheduler". */
  manager: string;
  scope: string;
  /** The unit file, plist or task XML. */
  definitionFile: string;
  /** The definition file exists. */
  fileExists: boolean;
  /** The service manager knows the service (enabled / loaded / registered). */
  installed: boolean;
  /** It is running now. */
  running: boolean;
  /** What the manager reported, by field (e.g. enabled, active, pid, last exit code). */
  details: Record<string, string>;
  /** What went wrong asking the manager, when something did. */
  problem?: string;
}

/** Runs one command; injectable for unit tests. */
export type Runner = (argv: string[]) => Promise<CommandResult>;

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.stat(file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Picks `key = value` / `Key: value` / `Key=value` lines out of a manager's output. */
export function parseFields(text: string, keys: string[], sep: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = sep.exec(line.trim());
    if (m && keys.includes(m[1])) out[m[1]] ??= m[2].trim();
  }
  return out;
}

/** Asks the service manager about the service described by `spec`. */
export async function queryStatus(
  spec: ServiceSpec,
  ctx: PlanContext,
  run: Runner = (argv) => runCommand(argv),
): Promise<ServiceStatus> {
  const status: ServiceStatus = {
    name: spec.name,
    manager: { linux: "systemd", macos: "launchd", windows: "Task Scheduler" }[spec.platform],
    scope: spec.scope,
    definitionFile: spec.definitionFile,
    fileExists: await exists(spec.definitionFile),
    installed: false,
    running: false,
    details: {},
  };
  const problem = (r: CommandResult) => (r.stderr || r.stdout).split("\n").pop() ?? "";
  switch (spec.platform) {
    case "linux": {
      const ctl = ["systemctl", ...(spec.scope === "user" ? ["--user"] : [])];
      const unit = `${spec.name}.service`;
      const enabled = await run([...ctl, "is-enabled", unit]);
      const active = await run([...ctl, "is-active", unit]);
      if (enabled.stdout) status.details.enabled = enabled.stdout;
      if (active.stdout) status.details.active = active.stdout;
      if (!enabled.stdout && !active.stdout) {
        status.problem = `systemctl could not tell: ${problem(active) || problem(enabled)}`;
      } else {
        const show = await run([...ctl, "show", unit, "-p", "MainPID,NRestarts,ExecMainStatus"]);
        Object.assign(
          status.details,
          parseFields(show.stdout, ["MainPID", "NRestarts", "ExecMainStatus"], /^(\w+)=(.*)$/),
        );
      }
      status.installed = status.fileExists && enabled.stdout !== "" &&
        enabled.stdout !== "not-found";
      status.running = active.stdout === "active";
      break;
    }
    case "macos": {
      const domain = spec.scope === "system" ? "system" : `gui/${ctx.uid}`;
      const r = await run(["launchctl", "print", `${domain}/${spec.name}`]);
      if (r.code === 0) {
        status.installed = true;
        Object.assign(
          status.details,
          parseFields(r.stdout, ["state", "pid", "last exit code", "runs"], /^([a-z ]+?) = (.*)$/),
        );
        status.running = status.details.state === "running";
      } else {
        status.details.loaded = "no";
        if (!/could not find service/i.test(r.stderr + r.stdout)) status.problem = problem(r);
      }
      break;
    }
    case "windows": {
      const r = await run(["schtasks", "/Query", "/TN", spec.name, "/FO", "LIST", "/V"]);
      if (r.code === 0) {
        status.installed = true;
        Object.assign(
          status.details,
          parseFields(
            r.stdout,
            ["Status", "Last Run Time", "Last Result", "Run As User"],
            /^([A-Za-z ]+):\s+(.*)$/,
          ),
        );
        status.running = /^running$/i.test(status.details.Status ?? "");
      } else {
        status.details.registered = "no";
        if (!/cannot find|does not exist/i.test(r.stderr + r.stdout)) status.problem = problem(r);
      }
      break;
    }
  }
  return status;
}
