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

export type { Logger };

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

let secrets: string[] = [];
let configured = false;

/** Masks every secret in `text`. */
export function redact(text: string): string {
  for (const s of secrets) if (s) text = text.split(s).join("***");
  return text;
}

/** Adds strings that must never be logged (e.g. a token after a config reload). */
export function addSecrets(more: string[]): void {
  secrets = [...new Set([...secrets, ...more.filter((s) => s.length >= 4)])];
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

function renderMessage(record: LogRecord): string {
  return record.message.map((part, i) =>
    i % 2 === 0 ? String(part) : typeof part === "string" ? part : JSON.stringify(part)
  ).join("");
}

/** One human-readable line: time, level, category, message, correlation id. */
export function textLine(record: LogRecord, color: boolean): string {
  const t = new Date(record.timestamp).toISOString().replace("T", " ").slice(0, 23);
  const cid = record.properties.correlationId ? ` [${record.properties.correlationId}]` : "";
  const level = LEVEL_TEXT[record.level];
  const lvl = color && LEVEL_COLOR[record.level]
    ? `${LEVEL_COLOR[record.level]}${level}\x1b[0m`
    : level;
  return redact(
    `${t} ${lvl} ${record.category.slice(1).join(".")}: ${renderMessage(record)}${cid}`,
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
  return redact(JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level.toUpperCase(),
    message: renderMessage(record),
    logger: record.category.join("."),
    properties: record.properties,
  }, jsonSafe)) + "\n";
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
      const text = `${new Date().toISOString()} WARN  log: log file ${file} can't be written ` +
        `(${
          error instanceof Error ? error.message : String(error)
        }); its lines are lost until it ` +
        "can (stderr still has them)\n";
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

/** Configures logging once per process (later calls reconfigure). */
export async function setupLogging(opts: LogOptions): Promise<void> {
  addSecrets(opts.secrets ?? []);
  const sinks: Record<string, Sink> = {};
  if (opts.console !== false) sinks.console = stderrSink();
  let file: string | null = null;
  if (opts.dir) {
    await Deno.mkdir(opts.dir, { recursive: true });
    file = path.join(opts.dir, "agent.log");
    sinks.file = getRotatingFileSink(path.join(opts.dir, "agent.log"), {
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
