/**
 * What every `agent <command>` module provides, and the shared argument parsing.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "#util";

/** A command of the `agent` CLI. */
export interface Command {
  /** The word after `agent`, e.g. "status". */
  readonly name: string;
  /** One line for `agent help`. */
  readonly summary: string;
  /** The full text of `agent <name> --help`. */
  readonly help: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** A command line that can't be understood. Printed with the command's usage; exit code 2. */
export class UsageError extends Error {
  /** @param message what is wrong; @param command the command whose help to point at */
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses a command's arguments strictly with node:util parseArgs. Unknown options and missing
 * values become a {@link UsageError} that names the option and points at `--help`.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const msg = err.message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(msg, command);
  }
}
