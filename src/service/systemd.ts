/**
 * The systemd unit for the agent (Linux).
 *
 * Type=exec (Deno can't send sd_notify), restart on failure and always on exit code 75 (the
 * agent's "restart me" code), never on 2 (a usage error won't fix itself), a stop timeout longer
 * than the agent's drain deadline, the config's folder as working directory.
 *
 * @module
 */
import { ExitCode } from "../cli/command.ts";
import { type ServiceSpec, ServiceSpecError, STOP_TIMEOUT_SECONDS } from "./spec.ts";

/** Escapes systemd specifiers: a literal `%` is written `%%`. */
function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, "%%");
}

function rejectNewlines(text: string): string {
  if (/[\r\n]/.test(text)) {
    throw new ServiceSpecError(`"${text}" holds a line break, which a systemd unit can't carry`);
  }
  return text;
}

/**
 * Quotes one word of an ExecStart= command line: double quotes when it has anything but safe
 * characters, `\` and `"` escaped inside them, `%` doubled (specifiers) and, in arguments, `$`
 * doubled (variable expansion; systemd does not expand the program path).
 */
export function quoteExecArg(arg: string, isProgram = false): string {
  rejectNewlines(arg);
  if (isProgram && /["'\\]/.test(arg)) {
    throw new ServiceSpecError(
      `systemd refuses a program path holding ", ' or \\ ("${arg}"): ` +
        "move the agent to a folder without them",
    );
  }
  let escaped = escapeSpecifiers(arg);
  if (!isProgram) escaped = escaped.replace(/\$/g, "$$$$");
  if (arg !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Quotes a KEY=value assignment for Environment=. */
function quoteEnvironment(key: string, value: string): string {
  rejectNewlines(value);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new ServiceSpecError(`"${key}" is not a valid environment variable name`);
  }
  const text = escapeSpecifiers(`${key}=${value}`);
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The text of the `<name>.service` unit file. */
export function systemdUnit(spec: ServiceSpec): string {
  const system = spec.scope === "system";
  const exec = [quoteExecArg(spec.program, true), ...spec.args.map((a) => quoteExecArg(a))]
    .join(" ");
  const lines = [
    "# Written by `agent service install`. Reinstall rather than edit; for local additions",
    `# (e.g. Environment=AGENT_TOKEN=...) use \`systemctl${
      system ? "" : " --user"
    } edit ${spec.name}\`.`,
    "[Unit]",
    `Description=${escapeSpecifiers(rejectNewlines(spec.description))}`,
    ...(system
      ? ["Wants=network-online.target", "After=network-online.target local-fs.target"]
      : []),
    // Keep restarting however often it fails: a station must not stay down silently.
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=exec",
    `ExecStart=${exec}`,
    `WorkingDirectory=${escapeSpecifiers(rejectNewlines(spec.workingDirectory))}`,
    ...(spec.runAs ? [`User=${spec.runAs}`] : []),
    ...Object.entries(spec.env).map(([k, v]) => `Environment=${quoteEnvironment(k, v)}`),
    "Restart=on-failure",
    "RestartSec=10s",
    `RestartForceExitStatus=${ExitCode.RESTART}`,
    `RestartPreventExitStatus=${ExitCode.USAGE}`,
    "KillSignal=SIGTERM",
    "KillMode=mixed",
    `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}s`,
    "LimitNOFILE=65536",
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return lines.join("\n");
}
