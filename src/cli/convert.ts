/**
 * `agent convert FILE`: converts one file exactly as the pipeline would (in a pool worker, with
 * the same validation) and prints the report(s). Nothing is queued.
 *
 * @module
 */
import path from "#path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configHelp, configOption } from "./config_arg.ts";
import { type Config, ConfigError, loadConfig, resolveConfigPath } from "../config/load.ts";
import { stationSchema } from "../config/schema.ts";
import { ConverterPool } from "../convert/pool.ts";
import { builtinFormats } from "../convert/converters/mod.ts";

/** `agent convert FILE [--format NAME] [--config FILE] [--params JSON]` */
export const command: Command = {
  name: "convert",
  summary: "Convert one file and print its WSJF report(s); nothing is queued",
  help: `Usage: agent convert FILE [--format NAME] [--config FILE] [--params JSON] [--module FILE]

Converts FILE the way the agent would and prints the WSJF report as JSON on stdout (an array
when the file holds several units). Nothing is queued or uploaded, and the file is not moved.

The converter comes from --format (or --module), else from the config entry whose watch folder
holds FILE, else "auto" (detect). Station fields and parameters come from the config when there
is one.

Options:
  --format NAME       ${[...builtinFormats, "auto"].join(", ")}
  --module FILE       A custom converter module instead of a built-in format
  --params JSON       Converter parameters, e.g. '{"partNumber":"PCBA-1"}'
${configHelp}

Exit codes: 0 converted; 1 the file can't be converted (why is printed); 2 usage; 3 bad config.`,
  async run(argv) {
    try {
      return await convertFile(argv);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      // Whatever fails, the command ends with a message and an exit code, never a stack dump.
      console.error(
        `agent convert: failed unexpectedly: ${e instanceof Error ? e.message : String(e)}\n` +
          "This is a bug in the agent; please report it with the file and this message.",
      );
      return ExitCode.FAILURE;
    }
  },
};

async function convertFile(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("convert", argv, {
    ...configOption,
    format: { type: "string", short: "f" },
    module: { type: "string" },
    params: { type: "string" },
  }, true);
  if (positionals.length !== 1) {
    throw new UsageError(`expected one FILE to convert, found ${positionals.length}`, "convert");
  }
  const file = path.resolve(positionals[0]);
  let params: Record<string, unknown> | undefined;
  if (values.params !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.params as string);
    } catch (e) {
      throw new UsageError(`--params must be a JSON object: ${(e as Error).message}`, "convert");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new UsageError(
        `--params must be a JSON object like '{"partNumber":"PCBA-1"}', not ${
          Array.isArray(parsed) ? "an array" : JSON.stringify(parsed)
        }`,
        "convert",
      );
    }
    params = parsed as Record<string, unknown>;
  }
  let config: Config | null = null;
  const configPath = resolveConfigPath(values.config as string | undefined);
  try {
    config = await loadConfig(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const explicit = values.config !== undefined || Deno.env.get("AGENT_CONFIG") !== undefined;
    const missing = e.problems[0]?.startsWith("the file does not exist");
    if (explicit || !missing) {
      console.error(e.message);
      return ExitCode.CONFIG;
    }
  }
  const entry = config?.converters.find((c) => file.startsWith(c.watch + path.sep));
  const module = values.module ? path.resolve(values.module as string) : undefined;
  const format = module
    ? undefined
    : (values.format as string | undefined) ?? entry?.format ?? "auto";
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    console.error(`agent convert: can't read ${file}: ${(e as Error).message}`);
    return ExitCode.FAILURE;
  }
  const pool = new ConverterPool({
    min: 0,
    max: 1,
    timeoutMs: (config?.pool.timeoutSeconds ?? 60) * 1000,
    memoryMb: config?.pool.memoryMb ?? 512,
    maxLostWorkers: 1,
  });
  try {
    const outcome = await pool.convert({
      converter: entry?.name ?? "cli",
      format,
      module: module ?? (values.format ? undefined : entry?.module),
      bytes,
      name: path.basename(file),
      path: file,
      station: config?.station ?? stationSchema.parse({}),
      params: params ?? entry?.params ?? {},
    });
    if (!outcome.ok) {
      console.error(
        `agent convert: ${file} can't be converted: ${outcome.message}\n${outcome.hint}`,
      );
      return ExitCode.FAILURE;
    }
    const reports = outcome.reports.map((r) => JSON.parse(new TextDecoder().decode(r.body)));
    let text: string;
    try {
      text = JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2);
    } catch (e) {
      console.error(
        `agent convert: ${file} converted to ${reports.length} report(s), but they can't be ` +
          `printed as JSON: ${(e as Error).message}\nThe reports are too large or too deeply ` +
          "nested to print; the agent would upload them as they are.",
      );
      return ExitCode.FAILURE;
    }
    console.log(text);
    for (const w of outcome.warnings ?? []) console.error(`warning: ${w}`);
    const more = (outcome.warningCount ?? 0) - (outcome.warnings?.length ?? 0);
    if (more > 0) console.error(`warning: … and ${more} more`);
    console.error(
      `${reports.length} report(s) from ${path.basename(file)} (format ${outcome.format})` +
        (outcome.warningCount ? `, ${outcome.warningCount} warning(s)` : ""),
    );
    return ExitCode.OK;
  } finally {
    await pool.close();
  }
}
