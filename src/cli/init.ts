/**
 * `agent init`: writes a commented starter config. On a terminal it asks a few questions (each
 * with a default; the token is read without echo); otherwise it asks nothing and uses the
 * options and defaults, leaving the token to be filled in (or given in AGENT_TOKEN).
 *
 * @module
 */
import path from "#path";
import { type Command, ExitCode, parseCommandArgs, UsageError } from "./command.ts";
import { configHelp, configOption } from "./config_arg.ts";
import { resolveConfigPath } from "../config/load.ts";
import { builtinFormats } from "../convert/converters/mod.ts";

/** What goes into the starter config. */
export interface InitAnswers {
  url: string;
  /** null: leave the token out (a comment says where it goes). */
  token: string | null;
  station: string;
  timeZone: string;
  watch: string;
  format: string;
}

const DEFAULT_URL = "https://your-company.wats.com";

/** The defaults before any option or answer. */
export function defaultAnswers(): InitAnswers {
  return {
    url: DEFAULT_URL,
    token: null,
    station: safeHostname(),
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    watch: "./drop",
    format: "auto",
  };
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "station";
  }
}

/** Checks a server URL; the problem in words, or null when fine. */
export function urlProblem(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      return "expected an http:// or https:// URL";
    }
    return null;
  } catch {
    return "expected a URL such as https://your-company.wats.com";
  }
}

/** Checks a format name; the problem in words, or null when fine. */
export function formatProblem(format: string): string | null {
  return format === "auto" || builtinFormats.includes(format)
    ? null
    : `expected "auto" or one of ${builtinFormats.join(", ")}`;
}

/** The commented starter config (JSON with comments, which `agent` reads). */
export function starterConfig(a: InitAnswers): string {
  const j = (v: unknown) => JSON.stringify(v);
  const token = a.token === null
    ? `    // The WATS API token (WATS: Control Panel → API Settings). Put it here, or leave it out and
    // set the AGENT_TOKEN environment variable for the service:
    // "token": "…",`
    : `    // The WATS API token. This file holds it: keep it readable only by the agent's user.
    "token": ${j(a.token)},`;
  return `// The WATS station agent's configuration (JSON with comments).
// Check it with \`agent config check\`; the running agent applies edits to this file by itself.
// Relative paths are relative to this file's folder.
{
  "server": {
    // The WATS server's base URL (without /api).
    "url": ${j(a.url)},
${token}
    // PEM file with extra CA certificates (company proxy, private CA):
    // "caFile": "ca.pem",
    // Seconds one upload may take before it is abandoned and retried.
    "timeoutSeconds": 30
  },

  // Every report is stamped with this station.
  "station": {
    "name": ${j(a.station)},
    "location": "",
    "purpose": "",
    // IANA time zone of times written in station files without a zone.
    "timeZone": ${j(a.timeZone)},
    // Operator name used when a file names none.
    "operator": "operator"
  },

  // Queue, state and logs live here.
  "dataDir": "./agent-data",

  // The loopback status page and API: http://127.0.0.1:<port>/ (0 picks a free port).
  "control": { "port": 8089 },

  "queue": {
    // Intake pauses (files wait in the drop folders) above this many reports waiting ...
    "maxReports": 100000,
    // ... or when the data directory's disk has less free space than this.
    "minFreeDiskMb": 500
  },

  // When health turns degraded or unhealthy (\`agent status\`, GET /health).
  "health": {
    // Unhealthy when nothing was uploaded for this long while reports wait.
    "stallMinutes": 10,
    // Degraded when the oldest report still to upload is older than this.
    "oldestQueuedMinutes": 30
  },

  // "debug" | "info" | "warning" | "error"; the JSON-lines log is <dataDir>/logs/agent.log.
  "log": { "level": "info" },

  // One entry per drop folder. Formats: auto, ${builtinFormats.join(", ")}.
  "converters": [
    {
      "name": "main",
      "format": ${j(a.format)},
      "watch": ${j(a.watch)},
      // Glob for the files to take, e.g. "*.xml".
      "pattern": "*",
      // After the reports are safely queued: "move" (to <watch>/Done), "delete" or "keep".
      // Files that can't be converted go to <watch>/Error with a reason beside them.
      "afterSuccess": "move"
    }
  ]
}
`;
}

/** Reads lines (and secrets) from stdin, keeping what was typed ahead. */
class Terminal {
  #buf = "";
  #dec = new TextDecoder();
  #enc = new TextEncoder();

  write(text: string): void {
    Deno.stdout.writeSync(this.#enc.encode(text));
  }

  async #char(): Promise<string | null> {
    if (this.#buf.length === 0) {
      const chunk = new Uint8Array(256);
      const n = await Deno.stdin.read(chunk);
      if (n === null) return null;
      this.#buf += this.#dec.decode(chunk.subarray(0, n), { stream: true });
    }
    const c = this.#buf[0];
    this.#buf = this.#buf.slice(1);
    return c;
  }

  /** One line without its end; null at the end of input. */
  async line(): Promise<string | null> {
    let out = "";
    while (true) {
      const c = await this.#char();
      if (c === null) return out.length ? out : null;
      if (c === "\n" || c === "\r") {
        if (c === "\r" && this.#buf[0] === "\n") this.#buf = this.#buf.slice(1);
        return out;
      }
      out += c;
    }
  }

  /** Asks for a line typed without echo (the token). */
  async secret(question: string): Promise<string | null> {
    // No echo before the question shows: a fast typist (or a script) must not be echoed.
    Deno.stdin.setRaw(true);
    this.write(question);
    let out = "";
    try {
      while (true) {
        const c = await this.#char();
        if (c === null) return out.length ? out : null;
        if (c === "\u0003") throw new Deno.errors.Interrupted("cancelled with Ctrl+C");
        if (c === "\r" || c === "\n") break;
        if (c === "\u007f" || c === "\b") out = out.slice(0, -1);
        else out += c;
      }
    } finally {
      Deno.stdin.setRaw(false);
      this.write("\n");
    }
    return out;
  }

  /** Asks until `check` accepts the answer; an empty answer takes the default. */
  async ask(
    question: string,
    def: string,
    check: (v: string) => string | null = () => null,
  ): Promise<string> {
    while (true) {
      this.write(`${question} [${def}]: `);
      const got = await this.line();
      if (got === null) {
        throw new Deno.errors.UnexpectedEof("input ended before all questions were answered");
      }
      const value = got.trim() || def;
      const problem = check(value);
      if (!problem) return value;
      this.write(`  ${problem}\n`);
    }
  }
}

/** Asks the questions on a terminal. */
async function interview(term: Terminal, a: InitAnswers): Promise<InitAnswers> {
  term.write("Creating a starter config. Press Enter to take the [default].\n");
  const url = await term.ask("WATS server URL", a.url, urlProblem);
  const token =
    (await term.secret("WATS API token (not shown; Enter to leave it out and use AGENT_TOKEN): "))
      ?.trim() || null;
  const station = await term.ask("Station name", a.station, (v) => v ? null : "expected a name");
  const watch = await term.ask("Drop folder to watch", a.watch);
  const format = await term.ask("File format in it", a.format, formatProblem);
  return { ...a, url, token: token ?? a.token, station, watch, format };
}

/** `agent init [--config FILE] [--force] [--yes] [--url URL] [--station NAME] [--watch DIR] [--format F]` */
export const command: Command = {
  name: "init",
  summary: "Write a commented starter config (asks a few questions on a terminal)",
  help: `Usage: agent init [--config FILE] [--force] [--yes] [--url URL] [--station NAME]
                  [--watch DIR] [--format FORMAT]

Writes a commented starter config file. On a terminal it asks for the server URL, the API token
(typed without echo), the station name, a drop folder and its format, each with a default.
Otherwise (piped, a script, or --yes) it asks nothing and takes the options and the defaults;
the token is then left out: put it in the file or in the AGENT_TOKEN environment variable.
The drop folder is created. Then run \`agent config check\`.

Options:
${configHelp}
  --force             Overwrite an existing file
  -y, --yes           Ask nothing, even on a terminal
  --url URL           The WATS server's base URL (default ${DEFAULT_URL})
  --station NAME      The station name (default: this computer's name)
  --watch DIR         The drop folder (default ./drop, relative to the config file)
  --format FORMAT     "auto" (default) or one of: ${builtinFormats.join(", ")}

Exit codes: 0 written; 1 the file exists (use --force) or input ended; 2 a wrong option.`,
  async run(argv) {
    const { values } = parseCommandArgs("init", argv, {
      ...configOption,
      force: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      url: { type: "string" },
      station: { type: "string" },
      watch: { type: "string" },
      format: { type: "string" },
    });
    let answers = defaultAnswers();
    for (const k of ["url", "station", "watch", "format"] as const) {
      if (typeof values[k] === "string") answers[k] = values[k] as string;
    }
    const urlBad = urlProblem(answers.url);
    if (urlBad) throw new UsageError(`--url: ${urlBad}, found "${answers.url}"`, "init");
    const formatBad = formatProblem(answers.format);
    if (formatBad) {
      throw new UsageError(`--format: ${formatBad}, found "${answers.format}"`, "init");
    }

    const file = resolveConfigPath(values.config as string | undefined);
    if (values.force !== true && await exists(file)) {
      console.error(`agent init: ${file} exists already. Edit it, or use --force to replace it.`);
      return ExitCode.FAILURE;
    }
    const interactive = values.yes !== true && Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
    if (interactive) {
      try {
        answers = await interview(new Terminal(), answers);
      } catch (e) {
        if (e instanceof Deno.errors.Interrupted || e instanceof Deno.errors.UnexpectedEof) {
          console.error(`agent init: ${(e as Error).message}; nothing written.`);
          return ExitCode.FAILURE;
        }
        throw e;
      }
    }
    await Deno.mkdir(path.dirname(file), { recursive: true });
    await Deno.writeTextFile(file, starterConfig(answers), { mode: 0o600 });
    if (Deno.build.os !== "windows") await Deno.chmod(file, 0o600);
    const watch = path.resolve(path.dirname(file), answers.watch);
    await Deno.mkdir(watch, { recursive: true });

    const next: string[] = [];
    if (answers.url === DEFAULT_URL) {
      next.push(`set server.url to your WATS server (now ${DEFAULT_URL})`);
    }
    if (answers.token === null && !Deno.env.get("AGENT_TOKEN")) {
      next.push("put the API token in server.token, or set AGENT_TOKEN for the agent");
    }
    console.log(`Wrote ${file}; drop folder ${watch}.`);
    console.log(
      next.length
        ? `Next: ${next.join("; ")}. Then run \`agent config check --config ${file}\`.`
        : `Next: run \`agent config check --config ${file}\`, then \`agent run\` (or \`agent service install\`).`,
    );
    return ExitCode.OK;
  },
};

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.lstat(file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
