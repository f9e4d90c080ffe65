/**
 * `agent service install | uninstall | status`: run the agent under the OS service manager
 * (systemd on Linux, launchd on macOS, Task Scheduler on Windows).
 *
 * @module
 */
import path from "#path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { ConfigError, loadConfig, resolveConfigPath } from "../config/load.ts";
import { isCompiled, selfCommand } from "../runtime.ts";
import { ServiceError } from "../service/error.ts";
import { describePlan, executePlan, runCommand } from "../service/execute.ts";
import { installPlan, type PlanContext, uninstallPlan } from "../service/plan.ts";
import {
  buildSpec,
  DEFAULT_SERVICE_NAME,
  needsRoot,
  type Platform,
  type ServiceSpec,
  ServiceSpecError,
} from "../service/spec.ts";
import { queryStatus, type ServiceStatus } from "../service/manager_status.ts";
import { writableFolders } from "../service/sandbox.ts";

const HELP = `Usage: agent service install | uninstall | status [options]

Runs the agent as a service: a systemd unit on Linux, a launchd daemon on macOS, a Task
Scheduler task on Windows (started at boot, restarted when it stops). The service starts
\`agent run --config <absolute config path>\` in the config file's folder.

  install     Write the unit/plist/task, register it and start it (reinstalling restarts it)
  uninstall   Stop it and remove it (the queue in the data folder is kept)
  status      Show whether it is installed and running, and where its file is
              (exit 0 = running, 1 = not running or not installed)

Options:
  --config FILE     The configuration the service uses (default: agent.json next to the
                    executable, or $AGENT_CONFIG); stored as an absolute path
  --name NAME       Unit / launchd label / task name (default: ${DEFAULT_SERVICE_NAME})
  --user            Linux: a systemd user unit (~/.config/systemd/user; runs while you are
                    logged in unless \`loginctl enable-linger\`); macOS: a LaunchAgent.
                    No root needed
  --run-as USER     Run as this account instead of the default one: wats-agent on Linux,
                    _wats-agent on macOS (both created when missing), NETWORK SERVICE on
                    Windows (schtasks asks for a named account's password). \`--run-as root\`
                    (Windows: SYSTEM) gives the agent full rights again
  --exec FILE       The agent executable the service starts (default: this one)
  --dry-run         Print the files that would be written and the commands that would run,
                    and change nothing
  --platform OS     With --dry-run: generate for linux, macos or windows (needs absolute
                    --config and --exec paths of that OS)
  --json            status: print one JSON object

The service account gets the data folder and the Done/Error folders (an earlier install's data
folder is handed over), read access to the config, and a check that it may write the drop
folders. On Linux the unit also confines it to those folders (see docs/service.md).

Linux and macOS system services need root: use sudo, or --user. On Windows run from an
elevated prompt. A compiled Deno program can't be a real Windows service (the service control
manager kills it with error 1053); sites that require one wrap the agent with WinSW or shawl
(see the README, "Deploy to a station").

Running from source (\`deno task agent service install\`), the service starts
\`deno run <the agent task's permissions> main.ts\` with this machine's Deno cache; stations
should install the compiled agent instead.`;

const OPTIONS = {
  config: { type: "string" },
  name: { type: "string" },
  user: { type: "boolean" },
  "run-as": { type: "string" },
  exec: { type: "string" },
  "dry-run": { type: "boolean" },
  platform: { type: "string" },
  json: { type: "boolean" },
} as const;

/** This machine's platform, or null when the agent has no service support for it. */
function nativePlatform(): Platform | null {
  switch (Deno.build.os) {
    case "linux":
      return "linux";
    case "darwin":
      return "macos";
    case "windows":
      return "windows";
    default:
      return null;
  }
}

/** The Deno cache a from-source service must use to find the project's npm packages. */
async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return path.resolve(fromEnv);
  const r = await runCommand([Deno.execPath(), "info", "--json"]);
  const dir = r.code === 0 ? (JSON.parse(r.stdout) as { denoDir?: string }).denoDir : undefined;
  if (!dir) throw new ServiceError(`\`deno info --json\` did not name the Deno cache: ${r.stderr}`);
  return dir;
}

async function specFromArgs(
  values: Record<string, unknown>,
  action: string,
): Promise<
  { spec: ServiceSpec; native: boolean; notes: string[]; configProblem: ConfigError | null }
> {
  const native = nativePlatform();
  const asked = values.platform as string | undefined;
  if (asked !== undefined && !["linux", "macos", "windows"].includes(asked)) {
    throw new UsageError(`--platform must be linux, macos or windows, not "${asked}"`, "service");
  }
  const platform = (asked ?? native) as Platform | null;
  if (platform === null) {
    throw new ServiceError(
      `agent service supports Linux, macOS and Windows, not ${Deno.build.os}: ` +
        "use --dry-run --platform linux to see a systemd unit to adapt",
    );
  }
  const isNative = platform === native;
  if (!isNative && !(values["dry-run"] && action !== "status")) {
    throw new UsageError(
      `--platform ${platform} is not this machine's OS: it only works with install/uninstall ` +
        "--dry-run",
      "service",
    );
  }
  const notes: string[] = [];
  const configArg = values.config as string | undefined;
  const execArg = values.exec as string | undefined;
  if (!isNative && (configArg === undefined || execArg === undefined)) {
    throw new UsageError(
      `--platform ${platform} needs --config and --exec with absolute ${platform} paths`,
      "service",
    );
  }
  const configFile = isNative ? resolveConfigPath(configArg) : configArg!;
  let launch: { cmd: string; args: string[] };
  let fromSource = false;
  const env: Record<string, string> = {};
  if (execArg !== undefined) {
    launch = { cmd: isNative ? path.resolve(execArg) : execArg, args: [] };
  } else {
    launch = selfCommand([]);
    fromSource = !isCompiled();
    if (fromSource && action === "install") {
      notes.push(
        "Running from source: the service will start `deno run … main.ts` from this project. " +
          "On a station, install the compiled agent (agent-<target>) instead.",
      );
      if (platform === "windows") {
        notes.push(
          "The task runs deno as SYSTEM (or --run-as), whose Deno cache is empty: run " +
            "`deno install --frozen` as that account first.",
        );
      } else {
        env.DENO_DIR = await denoDir();
      }
    }
  }
  // The folders to give the account, and the priority, come from the config the service uses.
  let agent;
  let configProblem: ConfigError | null = null;
  if (action === "install" && isNative) {
    try {
      const config = await loadConfig(configFile);
      agent = {
        dataDir: config.dataDir,
        folders: writableFolders(config),
        readPaths: [config.server.caFile, ...config.converters.map((c) => c.module)]
          .filter((p): p is string => p !== undefined),
        nice: config.priority.nice,
      };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      configProblem = e;
    }
  } else if (action === "install") {
    notes.push(
      `the config is not read for another OS: the ${platform} service gets only the default ` +
        "data folder; run `service install` on the station itself for its drop folders",
    );
  }
  try {
    const spec = buildSpec({
      platform,
      name: values.name as string | undefined,
      scope: values.user ? "user" : "system",
      runAs: values["run-as"] as string | undefined,
      configFile,
      launch,
      fromSource,
      env,
      home: Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE"),
      xdgConfigHome: Deno.env.get("XDG_CONFIG_HOME"),
      agent,
    });
    if (fromSource && spec.runAs && platform !== "windows") {
      notes.push(
        `the service runs deno as ${spec.runAs}, which must be able to read this project and ` +
          `the Deno cache${env.DENO_DIR ? ` (${env.DENO_DIR})` : ""}; on a development ` +
          "machine add --run-as root",
      );
    }
    return { spec, native: isNative, notes, configProblem };
  } catch (e) {
    if (e instanceof ServiceSpecError) throw new UsageError(e.message, "service");
    throw e;
  }
}

async function configExists(file: string): Promise<boolean> {
  try {
    return (await Deno.stat(file)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function printStatus(s: ServiceStatus): void {
  const lines = [
    `${s.name}: ${s.manager} ${s.scope === "user" ? "user" : "system"} service`,
    `  file:      ${s.definitionFile} (${s.fileExists ? "present" : "missing"})`,
    `  installed: ${s.installed ? "yes" : "no"}`,
    `  running:   ${s.running ? "yes" : "no"}`,
    ...Object.entries(s.details).map(([k, v]) => `  ${k}: ${v}`),
    ...(s.problem ? [`  problem:   ${s.problem}`] : []),
  ];
  console.log(lines.join("\n"));
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("service", argv, OPTIONS, true);
  const action = positionals[0];
  if (positionals.length !== 1 || !["install", "uninstall", "status"].includes(action)) {
    throw new UsageError(
      positionals.length === 0
        ? "expected install, uninstall or status"
        : `expected one of install, uninstall, status; found "${positionals.join(" ")}"`,
      "service",
    );
  }
  const dryRun = values["dry-run"] === true;
  if (dryRun && action === "status") {
    throw new UsageError("--dry-run is for install and uninstall", "service");
  }
  if (values.json && action !== "status") {
    throw new UsageError("--json is for status", "service");
  }
  try {
    const { spec, native, notes, configProblem } = await specFromArgs(values, action);
    const ctx: PlanContext = { uid: Deno.uid() };
    for (const note of notes) console.error(`note: ${note}`);
    if (action === "status") {
      const status = await queryStatus(spec, ctx);
      if (values.json) console.log(JSON.stringify(status));
      else printStatus(status);
      return status.running ? ExitCode.OK : ExitCode.FAILURE;
    }
    if (action === "install" && native && !(await configExists(spec.configFile))) {
      const msg = `the config file ${spec.configFile} does not exist: create it first ` +
        `(\`agent init --config ${spec.configFile}\`), or pass --config FILE; a service ` +
        "without it would fail at every start";
      if (!dryRun) {
        console.error(`agent service: ${msg}`);
        return ExitCode.CONFIG;
      }
      console.error(`warning: ${msg}`);
    } else if (configProblem) {
      if (!dryRun) {
        console.error(configProblem.message);
        return ExitCode.CONFIG;
      }
      console.error(
        `warning: ${configProblem.message}\nThe service below gets only the default data folder.`,
      );
    }
    const steps = action === "install" ? installPlan(spec, ctx) : uninstallPlan(spec, ctx);
    if (dryRun) {
      console.log(describePlan(steps, spec.platform));
      return ExitCode.OK;
    }
    const rootProblem = needsRoot(spec, Deno.uid(), Deno.execPath());
    if (rootProblem) {
      console.error(`agent service ${action}: ${rootProblem}`);
      return ExitCode.FAILURE;
    }
    await executePlan(steps, spec.platform, (line) => console.log(line));
    if (action === "install") {
      console.log(
        `Installed ${spec.name}. Check it with \`agent service status\`` +
          `${spec.name === DEFAULT_SERVICE_NAME ? "" : ` --name ${spec.name}`} and ` +
          `\`agent status --config ${spec.configFile}\`.`,
      );
      if (spec.platform === "linux" && spec.scope === "user") {
        console.log(
          "A user unit stops when you log out; to keep it running: loginctl enable-linger",
        );
      }
    } else {
      console.log(`Removed ${spec.name}. The data folder (queue) is untouched.`);
    }
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof ServiceError || e instanceof ServiceSpecError) {
      console.error(`agent service ${action}: ${e.message}`);
      return ExitCode.FAILURE;
    }
    throw e;
  }
}

/** `agent service install | uninstall | status` */
export const command: Command = {
  name: "service",
  summary: "Install, remove or check the agent as a service / scheduled task",
  help: HELP,
  run,
};
