/**
 * The folders a config names, checked against each other: a Done or Error folder that is the
 * watch folder (or holds it) has the agent take its own output again (an Error note converted,
 * failing, noted, …: the source is lost under ever longer names); one in the data folder's own
 * parts has it write among its queue; two converters taking the same files send each report
 * twice.
 *
 * @module
 */
import path from "#path";

/** Whether `p` is `root` or inside it (case-insensitive on Windows, as its paths are). */
export function isInside(p: string, root: string, os: string = Deno.build.os): boolean {
  const paths = os === "windows" ? path.win32 : path.posix;
  const fold = (s: string) => os === "windows" ? s.toLowerCase() : s;
  const rel = paths.relative(fold(paths.resolve(root)), fold(paths.resolve(p)));
  return rel === "" || (!rel.startsWith("..") && !paths.isAbsolute(rel));
}

/** The folder settings of one converter, resolved. */
export interface ConverterFolders {
  name: string;
  watch: string;
  pattern: string;
  recursive: boolean;
  doneFolder: string;
  errorFolder: string;
}

/** The data folder's parts the agent writes on its own: a converter's folder must not be one. */
const OWN_PARTS = ["queue", "index", "logs"];

/** What is wrong with the folders, one line each (empty: nothing). */
export function folderProblems(dataDir: string, converters: ConverterFolders[]): string[] {
  const problems: string[] = [];
  // The data folder itself (its state files) and its queue, index and logs; a folder of its own
  // beside them (e.g. <dataDir>/drop) is fine.
  const own = (f: string) =>
    path.resolve(f) === path.resolve(dataDir) ||
    OWN_PARTS.some((p) => isInside(f, path.join(dataDir, p)));
  const ownText = `the agent's own files (${dataDir}: its state, ${OWN_PARTS.join("/, ")}/)`;
  converters.forEach((c, i) => {
    const at = `converters[${i}] (${c.name})`;
    if (own(c.watch)) {
      problems.push(`${at}.watch: ${c.watch} is among ${ownText}: watch another folder`);
    } else if (c.recursive && isInside(dataDir, c.watch)) {
      problems.push(
        `${at}.watch: ${c.watch} holds dataDir (${dataDir}) and is watched with recursive: ` +
          "the agent would take its own files; move dataDir out of it",
      );
    }
    for (const key of ["doneFolder", "errorFolder"] as const) {
      const f = c[key];
      const usual = path.join(c.watch, key === "doneFolder" ? "Done" : "Error");
      if (isInside(c.watch, f)) {
        problems.push(
          `${at}.${key}: ${f} is the watch folder or holds it: files put there would be taken ` +
            `again; use a subfolder (the default is ${usual}) or a folder outside it`,
        );
      } else if (own(f)) {
        problems.push(`${at}.${key}: ${f} is among ${ownText}: use another folder`);
      }
    }
    converters.slice(0, i).forEach((o, j) => {
      if (o.pattern !== c.pattern) return; // one folder split by pattern is a usual setup
      const same = isInside(c.watch, o.watch) && isInside(o.watch, c.watch);
      const nested = (o.recursive && isInside(c.watch, o.watch)) ||
        (c.recursive && isInside(o.watch, c.watch));
      if (!same && !nested) return;
      problems.push(
        `${at}.watch: converters[${j}] (${o.name}) already takes ${c.pattern} files in ` +
          `${c.watch}: each would be converted and sent twice; give one of them another folder ` +
          "or pattern",
      );
    });
  });
  return problems;
}
