/**
 * Loading the config for a command, with the CLI's error reporting (exit code 3).
 *
 * @module
 */
import { type Config, ConfigError, loadConfig, resolveConfigPath } from "../config/load.ts";

/** The config, or a printed error and exit code 3. */
export async function configForCommand(
  explicit: string | undefined,
  json = false,
): Promise<{ config: Config } | { exit: number }> {
  const file = resolveConfigPath(explicit);
  try {
    return { config: await loadConfig(file) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (json) console.log(JSON.stringify({ error: e.message, config: file }));
    else console.error(e.message);
    return { exit: 3 };
  }
}

/** The `--config` option every command takes. */
export const configOption = { config: { type: "string", short: "c" } } as const;

/** The help text line for `--config`. */
export const configHelp =
  "  -c, --config FILE   Config file (default: $AGENT_CONFIG, else agent.json next to the executable)";
