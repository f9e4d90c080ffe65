/**
 * `agent init`: writes a commented starter config. On a terminal it asks a few questions (each
 * with a default; the token is read without echo); otherwise it asks nothing and uses the
 * options and defaults, leaving the token to be filled in (or given in AGENT_TOKEN).
 *
 * @module
 */
import path from "#path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configHelp, configOption } from "./config_arg.ts";
import { resolveConfigPath } from "../config/load.ts";
import { configSchema } from "../config/schema.ts";
import { describeKeys, type KeyDoc, wrapWords } from "../config/describe.ts";
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

const reference = new Map(describeKeys(configSchema).map((k) => [k.path, k]));

function keyDoc(key: string): KeyDoc {
  const doc = reference.get(key);
  if (!doc) throw new Error(`init: the starter config names "${key}", which the schema lacks`);
  return doc;
}

/** A key's description from the schema (and its choices) as `//` lines, code marks dropped. */
function comment(key: string, indent: string): string {
  const doc = keyDoc(key);
  const choices = doc.type.startsWith("one of ") ? ` (${doc.type})` : "";
  return lines(doc.description.replaceAll("`", "") + choices, indent);
}

function lines(text: string, indent: string): string {
  return wrapWords(text, 100 - indent.length - 3).map((l) => `${indent}// ${l}`).join("\n");
}

/** A key with its description above it; the value is the schema's default unless given. */
function field(key: string, indent: string, value?: unknown): string {
  const doc = keyDoc(key);
  const v = value === undefined ? doc.default : value;
  return `${comment(key, indent)}\n${indent}${JSON.stringify(doc.name)}: ${JSON.stringify(v)}`;
}

/**
 * The commented starter config (JSON with comments, which `agent` reads). Which keys it shows
 * is chosen here; their comments and defaults come from the schema (src/config/schema.ts).
 */
export function starterConfig(a: InitAnswers): string {
  const j = (v: unknown) => JSON.stringify(v);
  const token = a.token === null
    ? `${comment("server.token", "    ")}
    // Get it in WATS: Control Panel → API Settings. Put it here, or leave it out and set
    // AGENT_TOKEN for the service:
    // "token": "…",`
    : `${comment("server.token", "    ")}
    // This file holds it: keep it readable only by the agent's user.
    "token": ${j(a.token)},`;
  const join = (indent: string, ...parts: string[]) => parts.join(`,\n`) + `\n${indent}`;
  return `// The WATS station agent's configuration (JSON with comments); every key is described in
// docs/config.md. Check it with \`agent config check\`; the running agent applies edits to this
// file by itself. Relative paths are relative to this file's folder.
{
${comment("server", "  ")}
  "server": {
${field("server.url", "    ", a.url)},
${token}
${comment("server.caFile", "    ")}
    // "caFile": "ca.pem",
${join("  ", field("server.timeoutSeconds", "    "))}},

${comment("station", "  ")}
  "station": {
${
    join(
      "  ",
      field("station.name", "    ", a.station),
      field("station.location", "    "),
      field("station.purpose", "    "),
      field("station.timeZone", "    ", a.timeZone),
      field("station.operator", "    "),
    )
  }},

${field("dataDir", "  ")},

${comment("control", "  ")}
  "control": {
${join("  ", field("control.port", "    "))}},

${comment("queue", "  ")}
  "queue": {
${join("  ", field("queue.maxReports", "    "), field("queue.minFreeDiskMb", "    "))}},

${comment("health", "  ")}
  "health": {
${join("  ", field("health.stallMinutes", "    "), field("health.oldestQueuedMinutes", "    "))}},

${comment("log", "  ")}
  "log": {
${join("  ", field("log.level", "    "))}},

${comment("converters[]", "  ")}
${lines(`Formats: auto, ${builtinFormats.join(", ")}.`, "  ")}
  "converters": [
    {
${
    [
      field("converters[].name", "      ", "main"),
      field("converters[].format", "      ", a.format),
      field("converters[].watch", "      ", a.watch),
      field("converters[].pattern", "      "),
      field("converters[].afterSuccess", "      "),
    ].join(",\n")
  }
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
