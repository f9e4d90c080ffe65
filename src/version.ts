/**
 * The agent's version: from deno.json, plus the git commit when the build recorded one.
 *
 * `deno task compile` (scripts/compile.ts) builds from a staged copy of the sources in which the
 * `COMMIT` line below is replaced by the commit it was built from, so the work tree is never
 * changed. Keep that line exactly as it is: the build fails loudly when it can't find it.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The release version from deno.json. */
export const VERSION: string = denoJson.version;

/** The git commit the binary was built from ("-dirty" when the tree had changes), or "dev". */
export const COMMIT: string = "dev";
