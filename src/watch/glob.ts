/**
 * Glob patterns for drop folders: `*`, `?`, `**`, `[abc]`, `{a,b}`. A pattern without a `/`
 * matches the file name in any subfolder (like .gitignore); one with a `/` matches the path
 * relative to the watched folder. Matching ignores case on Windows, where file names do.
 *
 * @module
 */

/** A compiled glob. */
export type GlobMatcher = (relativePath: string) => boolean;

/** The ignore patterns every drop folder has (temporary, partial, Office lock and dot files). */
export const DEFAULT_IGNORES: readonly string[] = ["*.tmp", "*.part", "*.partial", "~$*", ".*"];

/** Compiles a glob pattern. */
export function compileGlob(
  pattern: string,
  caseInsensitive = Deno.build.os === "windows",
): GlobMatcher {
  const anchored = pattern.includes("/");
  const re = new RegExp(`^${globToRegExpSource(pattern)}$`, caseInsensitive ? "i" : "");
  return (rel) => {
    const p = rel.replaceAll("\\", "/");
    return re.test(anchored ? p : p.slice(p.lastIndexOf("/") + 1));
  };
}

/** Compiles several patterns into one matcher that matches when any does. */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  const ms = patterns.map((p) => compileGlob(p));
  return (rel) => ms.some((m) => m(rel));
}

function globToRegExpSource(glob: string): string {
  let out = "";
  let inGroup = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashAfter = glob[i + 2] === "/";
        out += slashAfter ? "(?:.*/)?" : ".*";
        i += slashAfter ? 2 : 1;
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) {
        out += "\\[";
      } else {
        const body = glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        out += `[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      inGroup++;
      out += "(?:";
    } else if (c === "}" && inGroup > 0) {
      inGroup--;
      out += ")";
    } else if (c === "," && inGroup > 0) {
      out += "|";
    } else {
      out += c.replace(/[.+^${}()|\\\/]/g, "\\$&");
    }
  }
  return out;
}
