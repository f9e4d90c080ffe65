/**
 * The start-up check that the account the agent runs as may use its folders. Since the service
 * runs as a dedicated account, a folder it may not write is the likeliest start-up failure; it
 * is found here, with the folder, the account and the command that grants the right, rather
 * than at the first file that fails to move.
 *
 * @module
 */
import os from "node:os";
import path from "#path";
import type { Config } from "../config/load.ts";
import { writableFolders } from "./sandbox.ts";

/** One or more folders the agent's account may not use; the message says what to run. */
export class AccessError extends Error {
  /** @param problems one line per folder */
  constructor(readonly problems: string[]) {
    super(
      "the account it runs as may not use these folders:\n" +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "AccessError";
  }
}

/** The account this process runs as, for messages. */
export function accountName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${Deno.uid()}`;
  }
}

/** The nearest folder that exists at or above `dir` (where the agent would create it). */
async function existingAncestor(dir: string): Promise<string> {
  let at = path.resolve(dir);
  while (true) {
    try {
      await Deno.stat(at);
      return at;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || path.dirname(at) === at) return at;
      at = path.dirname(at);
    }
  }
}

/** Why this process can't list (and, when `write`, create files in) `dir`, or null. */
async function probe(dir: string, write: boolean): Promise<string | null> {
  try {
    for await (const _ of Deno.readDir(dir)) break;
    if (write) await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".agent-access-" }));
    return null;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
      return "EACCES";
    }
    if (code === "EROFS") return "EROFS";
    // Anything else (a missing network share, a file where a folder should be) is reported
    // where the folder is used, with its own message.
    return null;
  }
}

function grant(dir: string, account: string, recursive: boolean): string {
  if (Deno.build.os === "windows") {
    return `icacls "${dir}" /grant "${account}:(OI)(CI)M"${recursive ? " /T" : ""}`;
  }
  return recursive
    ? `sudo chown -R ${account} '${dir}'`
    : `sudo setfacl -m u:${account}:rwx,d:u:${account}:rwx '${dir}'`;
}

/** Throws {@link AccessError} when the agent's account may not use a folder the config needs. */
export async function checkAccess(config: Config): Promise<void> {
  const account = accountName();
  const problems: string[] = [];
  const refused = new Set<string>();
  for (const folder of writableFolders(config)) {
    const conv = folder.converter;
    if (conv && !conv.enabled) continue;
    if (folder.role === "done" && conv?.afterSuccess !== "move") continue;
    const isDrop = folder.role === "drop";
    const at = await existingAncestor(folder.path);
    const itself = at === path.resolve(folder.path);
    // A missing drop folder is reported by health; the agent waits for it.
    if (isDrop && !itself) continue;
    // Done and Error are often made inside the drop folder: one line for that folder is enough.
    if (refused.has(at)) continue;
    const write = !(isDrop && conv?.afterSuccess === "keep");
    const why = await probe(at, write);
    if (why === null) continue;
    refused.add(at);
    const what = `${folder.key} ${folder.path}` + (itself ? "" : ` (to be created in ${at})`);
    // Only the agent's own folders are handed over; one it would create elsewhere is granted.
    const own = folder.own && itself;
    problems.push(
      why === "EROFS"
        ? `${what}: read-only here (EROFS). Under the service this means the folder is outside ` +
          `its writable folders: re-run \`sudo agent service install --config ${config.file}\``
        : `${what}: ${account} may not ${write ? "write" : "read"} it (EACCES). Run ` +
          `\`${grant(at, account, own)}\`` +
          (own ? "" : `, or add ${account} to the folder's group and make it writable`) +
          (folder.role === "data" ? " (`agent service install` does this for you)" : ""),
    );
  }
  const foreign = await foreignFiles(config.dataDir);
  if (foreign.length > 0 && !refused.has(path.resolve(config.dataDir))) {
    problems.push(
      `dataDir ${config.dataDir}: ${foreign.length} file(s) there belong to another account ` +
        `(${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", …" : ""}), which ` +
        `${account} may not be able to change, e.g. after a command was run there as root. ` +
        `Run \`${grant(config.dataDir, account, true)}\``,
    );
  }
  if (problems.length > 0) throw new AccessError(problems);
}

/**
 * Files in the data folder and its logs that another account owns (Linux, macOS; root may use
 * them all). The agent rewrites them (state, pid, logs), and a command run there as root
 * leaves them root's.
 */
async function foreignFiles(dataDir: string): Promise<string[]> {
  const uid = Deno.uid();
  if (uid === null || uid === 0) return [];
  const out: string[] = [];
  for (const dir of [dataDir, path.join(dataDir, "logs")]) {
    try {
      for await (const e of Deno.readDir(dir)) {
        const file = path.join(dir, e.name);
        const info = await Deno.lstat(file).catch(() => null);
        if (info && info.uid !== null && info.uid !== uid) out.push(file);
      }
    } catch {
      // Missing or unreadable: the folder probe reports what matters.
    }
  }
  return out;
}
