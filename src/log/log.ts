/**
 * Logging through LogTape: human-readable lines on stderr, JSON lines in a rotating file in
 * `<dataDir>/logs/agent.log`. Lines about a report carry its correlation id (use
 * `logger.with({ correlationId })`). Secrets (the API token) are masked in every sink.
 *
 * Levels: debug (detail), info (a report's normal life), warning (retries, skipped files,
 * things that fix themselves), error (a report or file needs a person: rejected report, file in
 * Error, queue full, disk errors), fatal (the agent stops).
 *
 * @module
 */
import {
  configure,
  dispose,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import path from "#path";
import type { Config } from "../config/load.ts";
import { addSecrets, redact } from "./redact.ts";
import { makePrivate, PRIVATE_FILE } from "../private.ts";

export type { Logger };
export { addSecrets, mapStrings, redact, redactDeep } from "./redact.ts";

/** How to log. */
export interface LogOptions {
  level: "debug" | "info" | "warning" | "error";
  /** Folder for the rotating JSON-lines file; none when absent. */
  dir?: string;
  maxFileMb?: number;
  maxFiles?: number;
  /** Strings that must never appear in a log (the token). */
  secrets?: string[];
  /** Log to stderr (default true). */
  console?: boolean;
}

let configured = false;

/**
 * Control characters a value could use to forge or hide log lines on a terminal or in a text
 * file: C0 (newline, carriage return, escape …), DEL, C1, the Unicode line and paragraph
 * separators and the bidirectional overrides (which reorder what a reader sees).
 */
const CONTROLS =
  // deno-lint-ignore no-control-regex -- these are exactly what is escaped
  /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with each control character written as an escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return SHORT[c] ??
      (code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

const LEVEL_TEXT: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warning: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};
const LEVEL_COLOR: Partial<Record<LogLevel, string>> = {
  debug: "\x1b[2m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[1;31m",
};

/** The message with its values filled in; `safe` is applied to each value (not the template). */
function renderMessage(record: LogRecord, safe: (text: string) => string = (t) => t): string {
  return record.message.map((part, i) => {
    if (i % 2 === 0) return String(part);
    const value = typeof part === "string" ? part : JSON.stringify(part);
    return value === undefined ? "" : safe(value);
  }).join("");
}

/**
 * One human-readable line: time, level, category, message, correlation id. Values are the
 * world's (file names, server messages): their control characters are escaped, so no value
 * can start a line of its own.
 */
export function textLine(record: LogRecord, color: boolean): string {
  const t = new Date(record.timestamp).toISOString().replace("T", " ").slice(0, 23);
  const cid = record.properties.correlationId
    ? ` [${escapeControls(String(record.properties.correlationId))}]`
    : "";
  const level = LEVEL_TEXT[record.level];
  const lvl = color && LEVEL_COLOR[record.level]
    ? `${LEVEL_COLOR[record.level]}${level}\x1b[0m`
    : level;
  return redact(
    `${t} ${lvl} ${record.category.slice(1).join(".")}: ${
      renderMessage(record, escapeControls)
    }${cid}`,
  );
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/**
 * One JSON line for the log file: `@timestamp`, `level` (DEBUG, INFO, WARNING, ERROR, FATAL),
 * `message` (rendered as on the terminal), `logger`, and `properties` (the values, including
 * `correlationId` for lines about a file or report). Secrets are masked.
 */
export function jsonLine(record: LogRecord): string {
  // Each string is masked before it is escaped into JSON, so a mask can't break the escaping.
  return JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level.toUpperCase(),
    message: renderMessage(record),
    logger: record.category.join("."),
    properties: record.properties,
  }, (key, value) => {
    const v = jsonSafe(key, value);
    return typeof v === "string" ? redact(v) : v;
  }) + "\n";
}

function stderrSink(): Sink {
  const color = Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR");
  const enc = new TextEncoder();
  return (record) => {
    Deno.stderr.writeSync(enc.encode(textLine(record, color) + "\n"));
  };
}

/**
 * When the log file can't be written (a full disk, a removed folder) those lines are lost from
 * the file, and stderr says so, at most every five minutes. The file sink writes in the
 * background and reports a failed write through LogTape's meta logger; this filter turns those
 * reports into the note (and drops them, so a full disk does not print a line per second).
 */
function fileFailureFilter(file: string): (record: LogRecord) => boolean {
  const enc = new TextEncoder();
  let saidAt = 0;
  return (record) => {
    if (!/file sink flush failed/i.test(String(record.rawMessage))) return true;
    if (Date.now() - saidAt >= 300_000) {
      saidAt = Date.now();
      const error = record.properties.error;
      const why = error instanceof Error ? error.message : String(error);
      const text = `${new Date().toISOString()} WARN  log: log file ${
        escapeControls(file)
      } can't be written (${
        escapeControls(redact(why))
      }); its lines are lost until it can (stderr still has them)\n`;
      try {
        Deno.stderr.writeSync(enc.encode(text));
      } catch { /* stderr closed: nowhere left to say it */ }
    }
    return false;
  };
}

/**
 * The logging a config asks for: its level, the rotating JSON-lines file in `<dataDir>/logs`,
 * and the token kept out of every line.
 */
export function logOptionsFor(config: Pick<Config, "dataDir" | "log" | "server">): LogOptions {
  return {
    level: config.log.level,
    dir: path.join(config.dataDir, "logs"),
    maxFileMb: config.log.maxFileMb,
    maxFiles: config.log.maxFiles,
    secrets: [config.server.token],
  };
}

/**
 * Log lines quote server messages: the folder and its files are for the agent's user only. The
 * file sink creates agent.log (at start and at each rotation) with the default mode, so the
 * file is made here first, and the private folder covers the ones a rotation makes.
 */
async function makeLogsPrivate(dir: string, file: string): Promise<void> {
  await makePrivate(dir, true);
  try {
    await Deno.writeTextFile(file, "", { createNew: true, mode: PRIVATE_FILE });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith("agent.log")) await makePrivate(path.join(dir, e.name));
  }
}

/** Configures logging once per process (later calls reconfigure). */
export async function setupLogging(opts: LogOptions): Promise<void> {
  addSecrets(opts.secrets ?? []);
  const sinks: Record<string, Sink> = {};
  if (opts.console !== false) sinks.console = stderrSink();
  let file: string | null = null;
  if (opts.dir) {
    await Deno.mkdir(opts.dir, { recursive: true });
    const logFile = file = path.join(opts.dir, "agent.log");
    await makeLogsPrivate(opts.dir, logFile);
    sinks.file = getRotatingFileSink(logFile, {
      formatter: jsonLine,
      maxSize: Math.round((opts.maxFileMb ?? 10) * 1024 * 1024),
      maxFiles: opts.maxFiles ?? 5,
      bufferSize: 8192,
      flushInterval: 1000,
      // Non-blocking: written by a timer too, so the last lines before a quiet spell reach the
      // file within a second (blocking mode waits for the next line), and a failed write
      // never throws into the agent.
      nonBlocking: true,
    });
  }
  await configure({
    reset: true,
    sinks,
    filters: { fileFailure: fileFailureFilter(file ?? "") },
    loggers: [
      { category: ["agent"], lowestLevel: opts.level, sinks: Object.keys(sinks) },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: sinks.console ? ["console"] : [],
        filters: ["fileFailure"],
      },
    ],
  });
  configured = true;
}

/** A logger for one part of the agent, e.g. `logger("upload")`. */
export function logger(...category: string[]): Logger {
  return getLogger(["agent", ...category]);
}

/** Flushes and closes the sinks (call before exit, or the file loses its tail). */
export async function shutdownLogging(): Promise<void> {
  if (configured) await dispose();
  configured = false;
}
