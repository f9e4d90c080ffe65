/**
 * `agent config check`: validates the config file, then checks what the agent will need when
 * it runs: the converters' formats, modules and folders, the data directory, the control port,
 * and the server: `GET /api/App/Version` with the token, telling a rejected token (401/403), a
 * wrong URL (404) and a network problem apart.
 *
 * @module
 */
import path from "#path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configForCommand, configHelp, configOption } from "./config_arg.ts";
import { type Config, configWarnings } from "../config/load.ts";
import { freeBytes } from "../watch/intake_limits.ts";
import { readCaCerts } from "../config/ca_certs.ts";
import { WatsClient } from "../upload/client.ts";
import { contactAgent } from "../control/client.ts";
import { redact } from "../log/log.ts";

/** One check's result. */
export interface Check {
  /** What was checked, e.g. "server", "converter main". */
  what: string;
  /** fail: the agent can't work like this; warn: it runs, but look at it. */
  result: "ok" | "warn" | "fail";
  message: string;
}

/** Checks the converters: known format, loadable module file, existing folder. */
export async function checkConverters(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  if (config.converters.length === 0) {
    checks.push({
      what: "converters",
      result: "warn",
      message: "none configured: the agent will watch nothing",
    });
  }
  for (const c of config.converters) {
    const what = `converter ${c.name}`;
    if (!c.enabled) {
      checks.push({ what, result: "ok", message: "disabled (enabled: false)" });
      continue;
    }
    if (c.module) {
      if (!(await isFile(c.module))) {
        checks.push({
          what,
          result: "fail",
          message: `module ${c.module} does not exist or is not a file`,
        });
        continue;
      }
    }
    const kind = c.module ? `custom module ${c.module}` : `format ${c.format}`;
    if (!(await isDir(c.watch))) {
      checks.push({
        what,
        result: "warn",
        message:
          `${kind}; watch folder ${c.watch} does not exist yet (the agent takes files once it does; ` +
          "until then health is degraded)",
      });
    } else {
      checks.push({ what, result: "ok", message: `${kind}, watching ${c.watch} for ${c.pattern}` });
    }
  }
  return checks;
}

/** Checks the data directory: can be created and written, and has free space. */
export async function checkDataDir(config: Config): Promise<Check[]> {
  const dir = config.dataDir;
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.config-check-${Deno.pid}`);
    await Deno.writeTextFile(probe, "ok");
    await Deno.remove(probe);
  } catch (e) {
    return [{
      what: "dataDir",
      result: "fail",
      message: `${dir} can't be created or written: ${(e as Error).message}`,
    }];
  }
  let freeMb: number;
  try {
    freeMb = (await freeBytes(dir)) / (1024 * 1024);
  } catch {
    return [{ what: "dataDir", result: "ok", message: `${dir} is writable (free space unknown)` }];
  }
  if (freeMb < config.queue.minFreeDiskMb) {
    return [{
      what: "dataDir",
      result: "warn",
      message: `${dir}: only ${freeMb.toFixed(0)} MB free, below queue.minFreeDiskMb ` +
        `(${config.queue.minFreeDiskMb}): intake will stay paused until there is room`,
    }];
  }
  return [{
    what: "dataDir",
    result: "ok",
    message: `${dir} is writable, ${freeMb.toFixed(0)} MB free`,
  }];
}

/** Checks that the control port is free (or held by this data directory's running agent). */
export async function checkControlPort(config: Config): Promise<Check[]> {
  const port = config.control.port;
  if (port === 0) {
    return [{ what: "control", result: "ok", message: "port 0: a free port is picked at start" }];
  }
  try {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
    return [{ what: "control", result: "ok", message: `127.0.0.1:${port} is free` }];
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) {
      return [{
        what: "control",
        result: "fail",
        message: `can't listen on 127.0.0.1:${port}: ${(e as Error).message}`,
      }];
    }
  }
  const contact = await contactAgent(config.dataDir, 2000);
  if (contact.state === "running" && contact.info.port === port) {
    return [{
      what: "control",
      result: "ok",
      message: `127.0.0.1:${port} is used by the running agent (pid ${contact.info.pid})`,
    }];
  }
  return [{
    what: "control",
    result: "fail",
    message:
      `127.0.0.1:${port} is in use by another program: set control.port to a free port (or 0)`,
  }];
}

/** Checks the server: reachable, the URL right, the token accepted (GET /api/App/Version). */
export async function checkServer(config: Config): Promise<Check[]> {
  let caCerts: string[] | undefined;
  try {
    caCerts = await readCaCerts(config);
  } catch (e) {
    return [{
      what: "server",
      result: "fail",
      message: (e as Error).message.split("\n").slice(1).join(" ").trim(),
    }];
  }
  const client = new WatsClient({
    url: config.server.url,
    token: config.server.token,
    timeoutMs: config.server.timeoutSeconds * 1000,
    caCerts,
  });
  try {
    const { outcome, version, serverDate } = await client.version();
    const where = `${config.server.url}/api/App/Version`;
    if (outcome.kind === "stored") {
      const checks: Check[] = [{
        what: "server",
        result: "ok",
        message: `${config.server.url} answers (WATS ${
          version ?? "version unknown"
        }); token accepted`,
      }];
      if (serverDate && !Number.isNaN(serverDate.getTime())) {
        const skew = Math.round((serverDate.getTime() - Date.now()) / 1000);
        if (Math.abs(skew) > config.server.clockSkewWarnSeconds) {
          checks.push({
            what: "clock",
            result: "warn",
            message:
              `this station's clock differs from the server's by ${skew} s; set the time (NTP)`,
          });
        }
      }
      return checks;
    }
    if (outcome.status === 401 || outcome.status === 403) {
      return [{
        what: "token",
        result: "fail",
        message: `the server rejected the token (HTTP ${outcome.status} from ${where})` +
          `${
            outcome.serverMessage ? `: ${outcome.serverMessage.replace(/\.+$/, "")}` : ""
          }. Check server.token (or AGENT_TOKEN): ` +
          "it must be a WATS API token with the right to submit reports",
      }];
    }
    if (outcome.status === 404) {
      return [{
        what: "server",
        result: "fail",
        message: `${where} answered 404 Not Found: server.url is not a WATS server's base URL ` +
          "(give the address you open WATS at, without /api)",
      }];
    }
    if (outcome.status === null) {
      return [{
        what: "server",
        result: "fail",
        message:
          `can't reach ${config.server.url}: ${outcome.message}. Check server.url, the network, ` +
          "a proxy (HTTPS_PROXY) or the firewall",
      }];
    }
    return [{ what: "server", result: "fail", message: `${where}: ${outcome.message}` }];
  } finally {
    client.close();
  }
}

/** `agent config check [--config FILE] [--json] [--offline]` */
export const command: Command = {
  name: "config",
  summary: "Check a config file, the folders and the server connection and token",
  help: `Usage: agent config check [--config FILE] [--json] [--offline]

Validates the config file (every problem with its key, what was expected and what was found),
then checks what the agent needs to run: each converter's format or module and its folder, the
data directory (writable, free space), the control port, and the server: GET /api/App/Version
with the token, telling a rejected token (401/403), a wrong URL (404) and a network problem
apart. The token is never printed.

Options:
${configHelp}
  --json              One JSON object: {valid, checks: [{what, result, message}]}
  --offline           Skip the server check

Exit codes: 0 everything fine (warnings allowed); 1 a check failed; 3 the file is not valid.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("config", argv, {
      ...configOption,
      json: { type: "boolean" },
      offline: { type: "boolean" },
    }, true);
    if (positionals[0] !== "check" || positionals.length > 1) {
      throw new UsageError(
        positionals.length
          ? `unknown subcommand "${positionals.join(" ")}"; expected "check"`
          : 'expected "check"',
        "config",
      );
    }
    const json = values.json === true;
    const loaded = await configForCommand(values.config as string | undefined, json);
    if ("exit" in loaded) return ExitCode.CONFIG;
    const { config } = loaded;
    const fromEnv = Deno.env.get("AGENT_TOKEN") ? "AGENT_TOKEN" : "the file";
    const checks: Check[] = [
      { what: "config", result: "ok", message: `${config.file} is valid (token from ${fromEnv})` },
      ...configWarnings(config).map((message): Check => ({
        what: "config",
        result: "warn",
        message,
      })),
      ...await checkConverters(config),
      ...await checkDataDir(config),
      ...await checkControlPort(config),
      ...(values.offline === true ? [] : await checkServer(config)),
    ];
    // The token is never printed, even inside a server's message.
    for (const c of checks) c.message = redactToken(c.message, config.server.token);
    const failed = checks.some((c) => c.result === "fail");
    if (json) {
      console.log(
        JSON.stringify({ valid: true, ok: !failed, config: config.file, checks }, null, 2),
      );
    } else {
      const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
      const mark = {
        ok: color ? "\x1b[32m✓\x1b[0m" : "ok  ",
        warn: color ? "\x1b[33m!\x1b[0m" : "warn",
        fail: color ? "\x1b[31m✗\x1b[0m" : "FAIL",
      };
      for (const c of checks) console.log(`${mark[c.result]} ${c.what}: ${c.message}`);
      console.log(
        failed
          ? "\nSome checks failed: fix them and run `agent config check` again."
          : "\nAll checks passed.",
      );
    }
    return failed ? ExitCode.FAILURE : ExitCode.OK;
  },
};

function redactToken(text: string, token: string): string {
  return redact(token ? text.split(token).join("***") : text);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}
