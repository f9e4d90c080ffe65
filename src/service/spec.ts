/**
 * What a service definition says, independent of the service manager: the name, the command
 * line, the working directory and where the definition file goes on each OS.
 *
 * @module
 */
import path from "#path";
import { DEFAULT_NICE } from "../config/schema.ts";
import type { AgentFolder } from "./sandbox.ts";

/** The OS whose service manager a definition is for. */
export type Platform = "linux" | "macos" | "windows";

/** A system-wide service (root/Administrator), or one that runs as the installing user. */
export type Scope = "system" | "user";

/** The service name used when `--name` is not given. */
export const DEFAULT_SERVICE_NAME = "wats-agent";

/**
 * The account a system service runs as unless `--run-as` names another: a dedicated account
 * the installer creates (Linux, macOS), or Windows' built-in NETWORK SERVICE (no password, no
 * administrator rights, reaches file shares as the computer account like SYSTEM did).
 */
export const DEFAULT_ACCOUNT: Record<Platform, string> = {
  linux: "wats-agent",
  macos: "_wats-agent",
  windows: "NT AUTHORITY\\NETWORK SERVICE",
};

/** `--run-as` values that ask for the full-rights account (root / SYSTEM) on purpose. */
const FULL_RIGHTS: Record<Platform, string[]> = {
  linux: ["root"],
  macos: ["root"],
  windows: ["system", "nt authority\\system"],
};

/** Seconds the service manager waits after asking the agent to stop before it kills it. */
export const STOP_TIMEOUT_SECONDS = 30;

/** Everything the systemd, launchd and Task Scheduler generators need. */
export interface ServiceSpec {
  platform: Platform;
  /** Unit name, launchd label and task name. */
  name: string;
  /** One line for humans. */
  description: string;
  scope: Scope;
  /**
   * The account the service runs as (system scope only): {@link DEFAULT_ACCOUNT} unless
   * `--run-as` names another; undefined = root / SYSTEM, only when asked for by name.
   */
  runAs?: string;
  /** `runAs` is the installer's own account: created when missing. */
  createAccount: boolean;
  /** The agent's data folder (queue, state, logs). */
  dataDir: string;
  /** Every folder the agent writes (the data folder first), from the config. */
  folders: AgentFolder[];
  /** Files outside those folders the agent reads (CA file, custom converters). */
  readPaths: string[];
  /** The niceness the service starts the agent at (`priority.nice`). */
  nice: number;
  /** The absolute path of the program to start (the agent binary, or deno from source). */
  program: string;
  /** The arguments after the program, ending in `run --config <configFile>`. */
  args: string[];
  /** The absolute path of the agent's configuration file. */
  configFile: string;
  /** The config file's folder: the service's working directory. */
  workingDirectory: string;
  /** Extra environment variables for the service. */
  env: Record<string, string>;
  /** Where the unit file, plist or task XML is written. */
  definitionFile: string;
  /** macOS only: the folder for launchd's stdout/stderr capture files. */
  logDir?: string;
  /** True when the service starts `deno run … main.ts` rather than a compiled agent. */
  fromSource: boolean;
}

/** What {@link buildSpec} needs to know. */
export interface SpecInput {
  platform: Platform;
  name?: string;
  scope: Scope;
  runAs?: string;
  /** The configuration file; must be absolute for the target platform. */
  configFile: string;
  /** The command that starts the agent, without the `run --config …` part. */
  launch: { cmd: string; args: string[] };
  fromSource: boolean;
  env?: Record<string, string>;
  /** The installing user's home folder (user scope on Linux and macOS). */
  home?: string;
  /** `$XDG_CONFIG_HOME`, when set (Linux user units). */
  xdgConfigHome?: string;
  /**
   * What the config says the agent writes, reads and its niceness. Without it (a config that
   * can't be read, in a dry run) only the default data folder is known.
   */
  agent?: { dataDir: string; folders: AgentFolder[]; readPaths: string[]; nice: number };
}

/** A service option that can't work; the message says which and what to do. */
export class ServiceSpecError extends Error {
  /** @param message what is wrong and what to do */
  constructor(message: string) {
    super(message);
    this.name = "ServiceSpecError";
  }
}

/** The path functions of the target platform (node:path win32 for Windows). */
export function pathFor(platform: Platform): typeof path.posix {
  return platform === "windows" ? path.win32 : path.posix;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const ACCOUNT = /^[^\s"'<>&%$:;]+$/;

/** Checks the options and works out every path of the service definition. */
export function buildSpec(input: SpecInput): ServiceSpec {
  const p = pathFor(input.platform);
  const name = input.name ?? DEFAULT_SERVICE_NAME;
  if (!NAME.test(name)) {
    throw new ServiceSpecError(
      `--name "${name}" can't be used: expected 1-80 letters, digits, ".", "_" or "-", ` +
        "starting with a letter or digit",
    );
  }
  if (!p.isAbsolute(input.configFile)) {
    throw new ServiceSpecError(
      `the config path "${input.configFile}" is not absolute for ${input.platform}: ` +
        "a service starts in another folder, so pass --config with an absolute path",
    );
  }
  if (!p.isAbsolute(input.launch.cmd)) {
    throw new ServiceSpecError(
      `the program path "${input.launch.cmd}" is not absolute for ${input.platform}: ` +
        "pass --exec with the absolute path of the agent executable",
    );
  }
  if (input.runAs !== undefined) {
    if (input.scope === "user") {
      throw new ServiceSpecError(
        "--run-as and --user can't be combined: a user service always runs as you",
      );
    }
    if (!ACCOUNT.test(input.runAs)) {
      throw new ServiceSpecError(
        `--run-as "${input.runAs}" is not an account name (no spaces, quotes or ` +
          "<>&%$:; allowed; Windows domain accounts are DOMAIN\\user)",
      );
    }
  }
  if (input.scope === "user" && input.platform === "windows") {
    throw new ServiceSpecError(
      "--user is for systemd user units and launchd agents; on Windows use " +
        "--run-as USER to run the task as that account",
    );
  }
  const configFile = p.normalize(input.configFile);
  const workingDirectory = p.dirname(configFile);
  const fullRights = input.runAs !== undefined &&
    FULL_RIGHTS[input.platform].includes(input.runAs.toLowerCase());
  const runAs = input.scope === "user" || fullRights
    ? undefined
    : input.runAs ?? DEFAULT_ACCOUNT[input.platform];
  const dataDir = input.agent?.dataDir ?? p.join(workingDirectory, "agent-data");
  const spec: ServiceSpec = {
    platform: input.platform,
    name,
    description: `WATS station agent (${name})`,
    scope: input.scope,
    runAs,
    createAccount: input.scope === "system" && input.runAs === undefined &&
      input.platform !== "windows",
    dataDir,
    folders: input.agent?.folders ?? [{ path: dataDir, key: "dataDir", role: "data", own: true }],
    readPaths: input.agent?.readPaths ?? [],
    nice: input.agent?.nice ?? DEFAULT_NICE,
    program: p.normalize(input.launch.cmd),
    args: [...input.launch.args, "run", "--config", configFile],
    configFile,
    workingDirectory,
    env: { ...input.env },
    definitionFile: "",
    fromSource: input.fromSource,
  };
  const home = () => {
    if (!input.home) {
      throw new ServiceSpecError(
        "--user needs your home folder, but $HOME is not set: set HOME, or install a " +
          "system service with sudo",
      );
    }
    return input.home;
  };
  switch (input.platform) {
    case "linux":
      spec.definitionFile = input.scope === "system"
        ? `/etc/systemd/system/${name}.service`
        : p.join(
          input.xdgConfigHome || p.join(home(), ".config"),
          "systemd",
          "user",
          `${name}.service`,
        );
      break;
    case "macos":
      spec.definitionFile = input.scope === "system"
        ? `/Library/LaunchDaemons/${name}.plist`
        : p.join(home(), "Library", "LaunchAgents", `${name}.plist`);
      spec.logDir = input.scope === "system"
        ? `/Library/Logs/${name}`
        : p.join(home(), "Library", "Logs", name);
      break;
    case "windows":
      spec.definitionFile = p.join(workingDirectory, `${name}.task.xml`);
      break;
  }
  return spec;
}

/**
 * Why this user can't install or remove `spec` (a Linux or macOS system service needs root),
 * or null when it can. Windows is left to schtasks, which says "Access is denied".
 */
export function needsRoot(spec: ServiceSpec, uid: number | null, program: string): string | null {
  if (spec.scope !== "system" || spec.platform === "windows" || uid === 0) return null;
  return `a system service is defined in ${pathFor(spec.platform).dirname(spec.definitionFile)}, ` +
    `which only root may change: run it again with sudo (\`sudo ${program} service …\`), or add ` +
    "--user for a service that runs as you";
}
