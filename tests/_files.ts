/**
 * Every regular file below a folder, for tests and scripts that search what the agent wrote.
 *
 * @module
 */
import path from "#path";

/** The regular files below `dir`, recursively (links are not followed); none when it is missing. */
export async function filesUnder(dir: string): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory) out.push(...await filesUnder(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}
