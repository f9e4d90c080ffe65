/**
 * The folders the agent writes, and the contract between the systemd unit's sandbox and the
 * agent: the unit makes the whole file system read-only except these folders
 * (`ReadWritePaths=`) and lists them, as a JSON array, in `AGENT_WRITABLE_PATHS`. The agent
 * checks every config it starts with or reloads against that list, so a folder added later
 * is refused with "re-run `service install`" instead of failing on its first move with EROFS.
 *
 * @module
 */
import path from "#path";
import { type Config, ConfigError, type Converter } from "../config/load.ts";
import { isInside } from "../config/folders.ts";

/** The variable the systemd unit sets to the folders it lets the agent write. */
export const WRITABLE_PATHS_ENV = "AGENT_WRITABLE_PATHS";

/** A folder the agent writes. */
export interface AgentFolder {
  path: string;
  /** The config key it comes from, for messages (e.g. `converters[0] (line1).watch`). */
  key: string;
  role: "data" | "drop" | "done" | "error";
  /** The converter whose folder it is (none for the data folder). */
  converter?: Converter;
  /**
   * The agent's own output (data, Done, Error): handed over to the service account on install.
   * Drop folders belong to the tester and are only checked.
   */
  own: boolean;
}

/** Every folder a config makes the agent write: the data folder, then each converter's. */
export function writableFolders(config: Pick<Config, "dataDir" | "converters">): AgentFolder[] {
  const out: AgentFolder[] = [{ path: config.dataDir, key: "dataDir", role: "data", own: true }];
  config.converters.forEach((c, i) => {
    const at = `converters[${i}] (${c.name})`;
    const conv = { converter: c };
    out.push({ path: c.watch, key: `${at}.watch`, role: "drop", own: false, ...conv });
    out.push({ path: c.doneFolder, key: `${at}.doneFolder`, role: "done", own: true, ...conv });
    out.push({ path: c.errorFolder, key: `${at}.errorFolder`, role: "error", own: true, ...conv });
  });
  return out;
}

/** The folders of `folders` not inside another one of them: what ReadWritePaths= lists. */
export function outermost(folders: string[]): string[] {
  const unique = [...new Set(folders.map((f) => path.posix.normalize(f)))].sort();
  return unique.filter((f) => !unique.some((o) => o !== f && isInside(f, o, "linux")));
}

/**
 * Throws {@link ConfigError} when the agent runs in the service's sandbox (`AGENT_WRITABLE_PATHS`
 * is set) and the config names a folder outside it.
 */
export function checkSandbox(
  config: Config,
  listed: string | undefined = Deno.env.get(WRITABLE_PATHS_ENV),
): void {
  if (listed === undefined) return;
  let allowed: string[];
  try {
    allowed = JSON.parse(listed);
    if (!Array.isArray(allowed) || !allowed.every((a) => typeof a === "string")) throw 0;
  } catch {
    throw new ConfigError(config.file, [
      `${WRITABLE_PATHS_ENV} is not a JSON array of folders (${listed}): the service ` +
      "definition was edited by hand; re-run `agent service install`",
    ]);
  }
  const outside = writableFolders(config).filter((f) =>
    !allowed.some((a) => isInside(path.resolve(f.path), path.resolve(a)))
  );
  if (outside.length === 0) return;
  throw new ConfigError(
    config.file,
    outside.map((f) =>
      `${f.key}: ${f.path} is outside the folders the service may write ` +
      `(${allowed.join(", ")}): re-run \`sudo agent service install --config ${config.file}\` ` +
      "so the service allows it (it restarts the agent)"
    ),
  );
}
