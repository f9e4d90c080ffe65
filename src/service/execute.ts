/**
 * Running install/uninstall steps (or describing them for `--dry-run`) and running the service
 * manager's commands with errors that say what failed and what to do.
 *
 * @module
 */
import path from "#path";
import type { Step } from "./plan.ts";
import type { Platform } from "./spec.ts";
import { quoteWindowsArg } from "./windows_task.ts";
import { ServiceError } from "./error.ts";

/** The outcome of one command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MISSING_HINTS: Record<string, string> = {
  systemctl: "this system does not use systemd; run with --dry-run to see the unit file and " +
    "install it with your init system",
  launchctl: "launchctl exists only on macOS",
  schtasks: "schtasks exists only on Windows",
};

/** Shows a command line the way the target platform's shell would take it. */
export function showCommand(argv: string[], platform: Platform): string {
  if (platform === "windows") return argv.map(quoteWindowsArg).join(" ");
  return argv.map((a) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)
    .join(" ");
}

/**
 * Runs a command and collects its output (or gives it the terminal when `interactive`).
 * Throws {@link ServiceError} when the program is not installed.
 */
export async function runCommand(
  argv: string[],
  options: { interactive?: boolean } = {},
): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  const io = options.interactive ? "inherit" : "piped";
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: options.interactive ? "inherit" : "null",
      stdout: io,
      stderr: io,
    })
      .output();
    const text = (b: Uint8Array) => options.interactive ? "" : new TextDecoder().decode(b).trim();
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ServiceError(
        `${cmd} was not found on PATH` + (MISSING_HINTS[cmd] ? `: ${MISSING_HINTS[cmd]}` : ""),
      );
    }
    throw e;
  }
}

/** A hint for a failed service-manager command, from what it printed. */
function failureHint(argv: string[], output: string): string {
  if (
    /access is denied|permission denied|not permitted|interactive authentication|must be root|Operation not permitted|privilege/i
      .test(output)
  ) {
    return argv[0] === "schtasks"
      ? "run it from an elevated prompt (Run as administrator)"
      : "run it with sudo, or install a user service with --user";
  }
  if (
    /Failed to connect to bus|not been booted with systemd|System has not been booted/i.test(output)
  ) {
    return argv.includes("--user")
      ? "no systemd user manager is running for you here (log in through a session, or " +
        "`loginctl enable-linger $USER`), or install a system service with sudo"
      : "systemd is not running on this machine (a container?): the unit file is written; " +
        "start the agent another way, or run on a host with systemd";
  }
  return "see the message above";
}

function describeIoError(e: unknown, what: string): ServiceError {
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return new ServiceError(
      `can't ${what}: permission denied. Run with sudo (Windows: an elevated prompt), or ` +
        "install a user service with --user",
    );
  }
  return new ServiceError(`can't ${what}: ${(e as Error).message}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.stat(file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw describeIoError(e, `look at ${file}`);
  }
}

/** Runs a command that must succeed; the error names it, what it printed and what to do. */
async function runChecked(argv: string[], platform: Platform, why: string): Promise<void> {
  const result = await runCommand(argv);
  if (result.code !== 0) throw commandFailed(argv, platform, result, why);
}

function commandFailed(
  argv: string[],
  platform: Platform,
  result: CommandResult,
  why: string,
): ServiceError {
  const output = [result.stderr, result.stdout].filter((s) => s).join("\n");
  return new ServiceError(
    `${showCommand(argv, platform)} failed with exit code ${result.code}` +
      (output ? `:\n${output.replace(/^/gm, "  ")}` : "") +
      `\nIt was to ${why}. ${failureHint(argv, output)}.`,
  );
}

/** Describes the steps for `--dry-run`: files with their full text, commands as typed. */
export function describePlan(steps: Step[], platform: Platform): string {
  const lines: string[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case "mkdir":
        lines.push(`would create the folder ${step.path} (if missing)`);
        break;
      case "write":
        lines.push(`would write ${step.path} (${step.encoding}, ${step.bytes.length} bytes):`);
        for (const line of step.text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n")) {
          lines.push(`    ${line}`);
        }
        break;
      case "remove":
        lines.push(`would remove ${step.path}`);
        break;
      case "account":
        lines.push(
          `would create the account ${step.name} unless \`${
            showCommand(step.check, platform)
          }\` finds it:` + `\n    ${showCommand(step.create, platform)}`,
        );
        break;
      case "run": {
        const notes = [
          step.why,
          ...(step.ifExists ? [`only if ${step.ifExists} exists`] : []),
          ...(step.mayFail ? ["a failure here is ignored"] : []),
          ...(step.warning ? ["a failure here is a warning"] : []),
        ];
        lines.push(
          `would run: ${showCommand(step.argv, platform)}\n    (${notes.join("; ")})`,
        );
        break;
      }
    }
  }
  return lines.join("\n");
}

/** Runs the steps in order; `log` gets one line per step. Throws {@link ServiceError}. */
export async function executePlan(
  steps: Step[],
  platform: Platform,
  log: (line: string) => void,
): Promise<void> {
  for (const step of steps) {
    switch (step.kind) {
      case "mkdir":
        try {
          await Deno.mkdir(step.path, { recursive: true });
        } catch (e) {
          throw describeIoError(e, `create the folder ${step.path}`);
        }
        break;
      case "write": {
        const tmp = path.join(path.dirname(step.path), `.${path.basename(step.path)}.tmp`);
        try {
          await Deno.writeFile(tmp, step.bytes, { mode: 0o644 });
          await Deno.rename(tmp, step.path);
        } catch (e) {
          await Deno.remove(tmp).catch(() => {});
          throw describeIoError(e, `write ${step.path}`);
        }
        log(`wrote ${step.path}`);
        break;
      }
      case "remove":
        try {
          await Deno.remove(step.path);
          log(`removed ${step.path}`);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw describeIoError(e, `remove ${step.path}`);
          log(`${step.path} was already gone`);
        }
        break;
      case "account": {
        const found = await runCommand(step.check);
        if (found.code === 0) {
          log(`the account ${step.name} exists`);
          break;
        }
        await runChecked(step.create, platform, `create the service account ${step.name}`);
        log(`created the account ${step.name}`);
        break;
      }
      case "run": {
        const shown = showCommand(step.argv, platform);
        if (step.ifExists !== undefined && !(await exists(step.ifExists))) {
          log(`skipped: ${shown} (${step.ifExists} does not exist yet)`);
          break;
        }
        const result = await runCommand(step.argv, { interactive: step.interactive });
        if (result.code === 0) {
          log(`ran: ${shown}`);
        } else if (step.mayFail) {
          log(`ran: ${shown} (exit ${result.code}, ignored: ${step.why})`);
        } else if (step.warning) {
          log(`warning: ${step.warning}`);
        } else {
          throw commandFailed(step.argv, platform, result, step.why);
        }
        break;
      }
    }
  }
}
