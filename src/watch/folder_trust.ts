/**
 * Who could have made a folder or a symbolic link on the way to a Done or Error folder. The
 * agent runs as root/SYSTEM; a drop-folder writer must not be able to choose where it writes.
 * A link is the operator's only when nobody else could have put it there: it belongs to root or
 * the agent's user, has a single name (not a hard link of someone else's link) and sits in a
 * folder {@link unsafeFolder} finds nothing wrong with. Windows has no owners here (no uid): a
 * link present when the converter starts is taken as the operator's there. Residual: where
 * `fs.protected_hardlinks` is off, a writer could hard-link one of root's links into a folder
 * they may write and then remove the original: one name again, root's, followed. The folder
 * check refuses that place unless only root/the agent may write it or it is sticky.
 *
 * @module
 */
import type { FolderEnv } from "./fs_env.ts";

/** A symbolic link on a configured folder's path that anybody could have planted. */
export class UntrustedLink extends Error {
  /**
   * @param link the link; @param to what it says; @param why who could have made it
   */
  constructor(readonly link: string, readonly to: string, readonly why: string) {
    super(
      `${link} is a symbolic link to ${to} that the agent does not follow: ${why}. If it is ` +
        "meant, set the converter's doneFolder/errorFolder to the folder it leads to, or have " +
        `root own the link (chown -h root ${link}) in a folder only root can write to`,
    );
    this.name = "UntrustedLink";
  }
}

const trusted = (uid: number | null, agent: number) => uid === 0 || uid === agent;

/**
 * Why others could rename or replace what is in folder `st` (null: they can't): it belongs to
 * someone else, or others may write to it without the sticky bit (with it, only an entry's
 * owner can rename the entry).
 */
export function unsafeFolder(st: Deno.FileInfo, agent: number): string | null {
  const mode = st.mode ?? 0;
  if (st.uid !== null && !trusted(st.uid, agent)) {
    return `it belongs to uid ${st.uid}, not root or the agent's user (uid ${agent})`;
  }
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
    return `others can write to it (mode ${(mode & 0o7777).toString(8)}, no sticky bit)`;
  }
  return null;
}

/** Throws {@link UntrustedLink} unless link `p` (lstat `st`, in real folder `parent`) is trusted. */
async function trustLink(
  env: FolderEnv,
  p: string,
  st: Deno.FileInfo,
  parent: string,
  to: string,
): Promise<void> {
  const agent = env.uid ?? null;
  if (agent === null) return;
  if (st.uid !== null && !trusted(st.uid, agent)) {
    throw new UntrustedLink(p, to, `it belongs to uid ${st.uid}, not root or the agent's user`);
  }
  if (st.nlink !== null && st.nlink > 1) {
    throw new UntrustedLink(p, to, `it has ${st.nlink} names (a hard link of another link)`);
  }
  const unsafe = unsafeFolder(await env.fs.lstat(parent), agent);
  if (unsafe) throw new UntrustedLink(p, to, `the folder holding it, ${parent}: ${unsafe}`);
}

/** A link passed on the way, to check it is still the same after resolving. */
export interface LinkSeen {
  path: string;
  dev: number | null;
  ino: number | null;
}

/**
 * Resolves absolute `abs` one component at a time, checking every symbolic link met (also in
 * a link's target) with {@link trustLink}; returns the real path (its missing tail appended)
 * and the links passed. The caller compares this with `realPath` and re-lstats the links: a
 * swap during the walk shows as a difference.
 */
export async function trustedWalk(
  env: FolderEnv,
  abs: string,
): Promise<{ real: string; links: LinkSeen[] }> {
  const { fs, path } = env;
  const parts = (p: string) => p.slice(path.parse(p).root.length).split(path.sep).filter(Boolean);
  let done = path.parse(abs).root;
  const todo = parts(abs);
  const links: LinkSeen[] = [];
  while (todo.length) {
    const c = todo.shift()!;
    if (c === ".") continue;
    if (c === "..") {
      done = path.dirname(done);
      continue;
    }
    const p = path.join(done, c);
    let st: Deno.FileInfo;
    try {
      st = await fs.lstat(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { real: path.join(p, ...todo), links };
      throw e;
    }
    if (!st.isSymlink) {
      done = p;
      continue;
    }
    if (links.length >= 40) throw new Error(`${abs} passes more than 40 symbolic links (a loop?)`);
    const to = await fs.readLink(p);
    await trustLink(env, p, st, done, to);
    links.push({ path: p, dev: st.dev, ino: st.ino });
    if (path.isAbsolute(to)) done = path.parse(to).root;
    todo.unshift(...parts(to));
  }
  return { real: done, links };
}
