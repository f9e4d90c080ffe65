/**
 * The agent's version: from deno.json, plus the git commit when the build recorded one.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The release version from deno.json. */
export const VERSION: string = denoJson.version;

/** The git commit the binary was built from, or "dev" when run from source. */
export const COMMIT: string = "dev";
