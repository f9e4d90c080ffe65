/**
 * The systemd unit for the agent (Linux).
 *
 * Type=exec (Deno can't send sd_notify), restart on failure and always on exit code 75 (the
 * agent's "restart me" code), never on 2 (a usage error won't fix itself), a stop timeout longer
 * than the agent's drain deadline, the config's folder as working directory, below-normal
 * priority, two malloc arenas (./malloc.ts).
 *
 * A system unit runs as the dedicated account in a sandbox: the file system read-only except
 * the folders the config writes (listed to the agent in AGENT_WRITABLE_PATHS, see sandbox.ts),
 * no capabilities, no devices, only IP and Unix sockets, the system-service system calls.
 * MemoryDenyWriteExecute= is left out on purpose: V8's JIT writes code it then runs.
 *
 * @module
 */
import { ExitCode } from "../exit_code.ts";
import { MALLOC_ENV } from "./malloc.ts";
import { outermost, WRITABLE_PATHS_ENV } from "./sandbox.ts";
import { type ServiceSpec, ServiceSpecError, STOP_TIMEOUT_SECONDS } from "./spec.ts";

/** Where ProtectHome= applies: a folder the agent needs there makes it read-only, not hidden. */
const HOME_ROOTS = ["/home", "/root", "/run/user"];

/** Sandboxing that works in a user manager too (seccomp needs no privilege with NoNewPrivileges). */
const SECCOMP_HARDENING = [
  "NoNewPrivileges=yes",
  "LockPersonality=yes",
  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "RestrictSUIDSGID=yes",
  "SystemCallArchitectures=native",
  // V8 uses memory protection keys where the CPU has them; systemd 252 does not list them yet.
  "SystemCallFilter=@system-service pkey_alloc pkey_free pkey_mprotect",
  "SystemCallFilter=~@privileged",
  // A call outside the filter fails (the agent reports it) instead of killing the process.
  "SystemCallErrorNumber=EPERM",
];

/** Sandboxing that needs the system manager (mount namespaces, capabilities). */
function systemHardening(spec: ServiceSpec): string[] {
  const needed = [
    spec.program,
    spec.workingDirectory,
    spec.configFile,
    ...spec.folders.map((f) => f.path),
    ...spec.readPaths,
    ...Object.values(spec.env).filter((v) => v.startsWith("/")),
  ];
  const inHome = needed.some((p) => HOME_ROOTS.some((h) => p === h || p.startsWith(h + "/")));
  return [
    ...(spec.runAs ? ["CapabilityBoundingSet=", "AmbientCapabilities="] : []),
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "PrivateIPC=yes",
    "PrivateMounts=yes",
    "ProtectSystem=strict",
    `ProtectHome=${inHome ? "read-only" : "yes"}`,
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RemoveIPC=yes",
  ];
}

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

/** Quotes one word of a space-separated list setting (ReadWritePaths=). */
function quoteWord(word: string): string {
  rejectNewlines(word);
  const text = escapeSpecifiers(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return text;
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
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

/**
 * ReadWritePaths= for every folder the agent writes ("-": one that does not exist yet is
 * skipped, not an error), and the same list for the agent to check reloaded configs against.
 */
function writablePaths(spec: ServiceSpec): string[] {
  const folders = outermost(spec.folders.map((f) => f.path));
  return [
    `Environment=${quoteEnvironment(WRITABLE_PATHS_ENV, JSON.stringify(folders))}`,
    ...folders.map((f) => `ReadWritePaths=${quoteWord(`-${f}`)}`),
  ];
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
    ...(spec.createAccount ? [`Group=${spec.runAs}`] : []),
    `Nice=${spec.nice}`,
    // Two malloc arenas for the runtime's threads (./malloc.ts); spec.env may override it.
    ...Object.entries(MALLOC_ENV).map(([k, v]) => `Environment=${quoteEnvironment(k, v)}`),
    ...Object.entries(spec.env).map(([k, v]) => `Environment=${quoteEnvironment(k, v)}`),
    "Restart=on-failure",
    "RestartSec=10s",
    `RestartForceExitStatus=${ExitCode.RESTART}`,
    `RestartPreventExitStatus=${ExitCode.USAGE}`,
    "KillSignal=SIGTERM",
    "KillMode=mixed",
    `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}s`,
    "LimitNOFILE=65536",
    ...SECCOMP_HARDENING,
    ...(system ? systemHardening(spec) : []),
    ...(system ? writablePaths(spec) : []),
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return lines.join("\n");
}
