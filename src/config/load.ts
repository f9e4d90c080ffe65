/**
 * Finding, reading and validating the configuration file.
 *
 * Order: `--config FILE`, else `$AGENT_CONFIG`, else `agent.json` next to the executable (the
 * current directory when running from source). Relative paths resolve against the config file's
 * folder. `$AGENT_TOKEN`, when set, overrides `server.token`.
 *
 * @module
 */
import path from "#path";
import type { z } from "zod";
import { type ConfigInput, configSchema, type ConverterConfig } from "./schema.ts";
import { JsoncError, parseJsonc } from "./jsonc.ts";
import { folderProblems } from "./folders.ts";
import { isCompiled } from "../runtime.ts";
import { appendModeFormats, builtinFormats } from "../convert/converters/mod.ts";

/** A converter entry with every path absolute. */
export interface Converter extends ConverterConfig {
  watch: string;
  doneFolder: string;
  errorFolder: string;
  module?: string;
}

/** The validated configuration, every path absolute. */
export interface Config extends Omit<ConfigInput, "converters"> {
  /** The file it was read from (absolute). */
  file: string;
  converters: Converter[];
  server: ConfigInput["server"] & { token: string };
}

/** A config that can't be found, read or validated. `problems` are one line each. */
export class ConfigError extends Error {
  /** @param file the config file; @param problems what is wrong, one line each */
  constructor(readonly file: string, readonly problems: string[]) {
    super(
      `Configuration ${file} is not valid:\n` + problems.map((p) => `  - ${p}`).join("\n") +
        "\nFix the file (or run `agent config check` to test it) and start again.",
    );
    this.name = "ConfigError";
  }
}

/** The config file to use, per the documented order. */
export function resolveConfigPath(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  const env = Deno.env.get("AGENT_CONFIG");
  if (env) return path.resolve(env);
  const dir = isCompiled() ? path.dirname(Deno.execPath()) : Deno.cwd();
  return path.join(dir, "agent.json");
}

/**
 * Things in a valid config that are probably mistakes or unsafe, each starting with the setting
 * it is about; the agent logs them at start-up and `agent config check` prints them.
 */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  const plain = plainHttpHost(config.server.url);
  if (plain !== null) {
    out.push(
      `server.url: ${config.server.url} is plain http://, so the API token and every report ` +
        `travel unencrypted to ${plain}, readable and changeable by anyone on the network path. ` +
        "Use the server's https:// address (server.caFile trusts a private CA); http:// is only " +
        "safe to a server on this machine (localhost, 127.0.0.1, ::1).",
    );
  }
  config.converters.forEach((c, i) => {
    if (appendModeFormats.has(c.format ?? "") && c.afterSuccess !== "keep") {
      out.push(
        `converters[${i}] (${c.name}): ${c.format} logs grow while the tester runs; afterSuccess ` +
          `"${c.afterSuccess}" takes the file away with its unfinished last board, which is then lost. ` +
          'Use "keep" unless the tester writes one closed file per board.',
      );
    }
  });
  return out;
}

/**
 * The host of an `http://` URL that is not loopback, or null (https, or a server on this
 * machine: the demo and test servers, or a local reverse proxy).
 */
export function plainHttpHost(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // the schema refuses it before this is asked
  }
  if (u.protocol !== "http:") return null;
  // URL has already normalised the host: IPv4 in dotted form, IPv6 in brackets, compressed.
  const host = u.hostname;
  const loopback = host === "localhost" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host) || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
  return loopback ? null : u.host;
}

/** A config file is a few kilobytes; past this it is the wrong file (and parsing it would stall). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Reads and validates a config file. Throws {@link ConfigError}. */
export async function loadConfig(file: string): Promise<Config> {
  return parseConfig(await readConfigText(file), file);
}

/** Reads a config file's text, refusing one that can't be a config. Throws {@link ConfigError}. */
export async function readConfigText(file: string): Promise<string> {
  let f: Deno.FsFile | undefined;
  try {
    // Opening a FIFO (or a device) blocks until a writer comes: look before opening.
    if (!(await Deno.stat(file)).isFile) throw new ConfigError(file, ["it is not a file"]);
    f = await Deno.open(file, { read: true });
    const { size, isFile } = await f.stat();
    if (!isFile) throw new ConfigError(file, ["it is not a file"]);
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError(file, [
        `it is ${size} bytes, over the ${MAX_CONFIG_BYTES} a config may have: is this the ` +
        "right file?",
      ]);
    }
    return new TextDecoder().decode(await readAll(f, MAX_CONFIG_BYTES));
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const why = e instanceof Deno.errors.NotFound
      ? "the file does not exist (create one with `agent init`, or pass --config FILE)"
      : `it can't be read: ${(e as Error).message}`;
    throw new ConfigError(file, [why]);
  } finally {
    f?.close();
  }
}

/** At most `max` bytes of an open file (it may have grown since its stat). */
async function readAll(f: Deno.FsFile, max: number): Promise<Uint8Array> {
  const buf = new Uint8Array(max + 1);
  let n = 0;
  for (let got; n < buf.length && (got = await f.read(buf.subarray(n))) !== null;) n += got;
  if (n > max) throw new Error(`it grew past ${max} bytes while being read`);
  return buf.subarray(0, n);
}

/** Validates config text as if read from `file` (relative paths resolve against its folder). */
export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseJsonc(text);
  } catch (e) {
    if (e instanceof JsoncError) {
      throw new ConfigError(file, [`line ${e.line}, column ${e.column}: ${e.message}`]);
    }
    throw e;
  }
  const envToken = Deno.env.get("AGENT_TOKEN");
  if (envToken && isObject(raw) && isObject(raw.server)) {
    raw = { ...raw, server: { ...raw.server, token: envToken } };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error, raw));
  const c = parsed.data;
  const problems: string[] = [];
  const rawConverters = isObject(raw) && Array.isArray(raw.converters) ? raw.converters : [];
  c.converters.forEach((conv, i) => {
    if (
      conv.format && conv.format !== "auto" && !conv.module && !builtinFormats.includes(conv.format)
    ) {
      problems.push(
        `converters[${i}].format: expected one of ${[...builtinFormats, "auto"].join(", ")} ` +
          `(or "module" for a custom converter), found "${conv.format}"`,
      );
    }
    const given = isObject(rawConverters[i]) ? rawConverters[i].afterSuccess : undefined;
    if (appendModeFormats.has(conv.format ?? "") && given === undefined) conv.afterSuccess = "keep";
  });
  if (problems.length) throw new ConfigError(file, problems);
  if (!c.server.token) {
    throw new ConfigError(file, [
      "server.token: expected the WATS API token, found nothing (set it in the file or in AGENT_TOKEN)",
    ]);
  }
  const base = path.dirname(path.resolve(file));
  const abs = (p: string) => path.resolve(base, p);
  const config: Config = {
    ...c,
    file: path.resolve(file),
    server: {
      ...c.server,
      token: c.server.token,
      url: c.server.url.replace(/\/+$/, ""),
      caFile: c.server.caFile && abs(c.server.caFile),
    },
    dataDir: abs(c.dataDir),
    converters: c.converters.map((conv) => {
      const watch = abs(conv.watch);
      return {
        ...conv,
        watch,
        doneFolder: conv.doneFolder ? abs(conv.doneFolder) : path.join(watch, "Done"),
        errorFolder: conv.errorFolder ? abs(conv.errorFolder) : path.join(watch, "Error"),
        module: conv.module && abs(conv.module),
      };
    }),
  };
  const folders = folderProblems(config.dataDir, config.converters);
  if (folders.length) throw new ConfigError(file, folders);
  return config;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Turns zod issues into `key.path: expected …, found …` lines. */
function describeIssues(error: z.ZodError, raw: unknown): string[] {
  return error.issues.map((issue) => {
    const keyPath = formatPath(issue.path);
    const foundText = describeFound(valueAt(raw, issue.path), keyPath);
    let message = issue.message;
    if (issue.code === "invalid_type") message = `expected ${issue.expected}`;
    if (issue.code === "invalid_value") {
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}`;
    }
    if (issue.code === "unrecognized_keys") {
      return `${keyPath || "(top level)"}: unknown key(s) ${issue.keys.join(", ")}`;
    }
    const withFound = /found/.test(message) ? message : `${message}, found ${foundText}`;
    return `${keyPath || "(top level)"}: ${withFound}`;
  });
}

/**
 * The value a problem found, as a message may quote it: never a secret's, nor an object's or a
 * list's whole content (it could hold the token), nor more than a line.
 */
function describeFound(v: unknown, keyPath: string): string {
  if (v === undefined) return "nothing";
  if (/token|password|secret/i.test(keyPath)) return `a ${typeof v} (not shown: it is a secret)`;
  if (Array.isArray(v)) return "a list";
  if (v !== null && typeof v === "object") return "an object";
  const text = JSON.stringify(v).replace(/(\/\/)[^/?#"]*@/, "$1…@"); // a URL's user:password
  return text.length > 80 ? text.slice(0, 77) + "…" : text;
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>(
    (acc, k) => typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k),
    "",
  );
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
