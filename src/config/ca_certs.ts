/**
 * The CA file `server.caFile` names, read for the WATS client (the agent, `agent flush`,
 * `agent config check`).
 *
 * @module
 */
import { type Config, ConfigError } from "./load.ts";

/** Reads the CA file named in the config, if any; a file that can't be read is a config error. */
export async function readCaCerts(config: Config): Promise<string[] | undefined> {
  if (!config.server.caFile) return undefined;
  try {
    return [await Deno.readTextFile(config.server.caFile)];
  } catch (e) {
    throw new ConfigError(config.file, [
      `server.caFile: can't read ${config.server.caFile}: ${(e as Error).message}`,
    ]);
  }
}
