/**
 * The folders a config names, checked against each other: a Done or Error folder that is the
 * watch folder (or holds it) has the agent take its own output again (an Error note converted,
 * failing, noted, …: the source is lost under ever longer names); one inside the data folder
 * has it write among its queue; two converters taking the same files send each report twice.
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

/** What is wrong with the folders, one line each (empty: nothing). */
export function folderProblems(dataDir: string, converters: ConverterFolders[]): string[] {
  const problems: string[] = [];
  converters.forEach((c, i) => {
    const at = `converters[${i}] (${c.name})`;
    if (isInside(c.watch, dataDir)) {
      problems.push(
        `${at}.watch: ${c.watch} is inside dataDir (${dataDir}), the agent's own files: ` +
          "watch a folder outside it",
      );
    } else if (c.recursive && isInside(dataDir, c.watch)) {
      problems.push(
        `${at}.watch: ${c.watch} holds dataDir (${dataDir}) and is watched with recursive: ` +
          "the agent would take its own files; move dataDir out of it",
      );
    }
    for (const key of ["doneFolder", "errorFolder"] as const) {
      const f = c[key];
      if (isInside(c.watch, f)) {
        problems.push(
          `${at}.${key}: ${f} is the watch folder or holds it: files put there would be taken ` +
            `again; use a subfolder (the default is ${
              path.join(c.watch, key === "doneFolder" ? "Done" : "Error")
            }) or a folder outside it`,
        );
      } else if (isInside(f, dataDir)) {
        problems.push(
          `${at}.${key}: ${f} is inside dataDir (${dataDir}), the agent's own files: ` +
            "use a folder outside it",
        );
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
