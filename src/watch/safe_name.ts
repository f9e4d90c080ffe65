/**
 * Names the agent creates in Done and Error folders: they must be creatable on the station's
 * file system whatever the source file was called. Windows refuses reserved device names (CON,
 * NUL, COM1, … with any extension), names ending in a dot or space, and some characters, all of
 * which a file written over a share by another OS can carry; every file system limits a name to
 * 255 bytes, which a ` (1)` or `.error.txt` added to a long name can pass.
 *
 * @module
 */

/** The longest name (in UTF-8 bytes) created; UTF-16 units on Windows are never more. */
export const MAX_NAME_BYTES = 255;

const RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// deno-lint-ignore no-control-regex -- control characters are what Windows refuses in a name
const WINDOWS_INVALID = /[<>:"/\\|?*\x00-\x1f]/g;

/** A name that can be created on `os` (unchanged where it already can be). */
export function safeName(name: string, os: string): string {
  if (os !== "windows") return name;
  let out = name.replace(WINDOWS_INVALID, "_");
  // Windows drops trailing dots and spaces (a different name than asked for) or refuses them.
  out = out.replace(/[. ]+$/, (m) => "_".repeat(m.length));
  // CON, con.txt, "CON .tar.gz": the part before the first dot, spaces trimmed, is the device.
  const device = out.split(".")[0].trimEnd();
  if (RESERVED.test(device)) out = "_" + out;
  return out;
}

const enc = new TextEncoder();

/** `stem + suffix`, the stem cut (at a character boundary) so the whole fits in `maxBytes`. */
export function fitName(stem: string, suffix: string, maxBytes = MAX_NAME_BYTES): string {
  const room = maxBytes - enc.encode(suffix).length;
  if (enc.encode(stem).length <= room) return stem + suffix;
  let out = "";
  let used = 0;
  for (const ch of stem) { // by code point: a surrogate pair is never split
    const n = enc.encode(ch).length;
    if (used + n > room) break;
    out += ch;
    used += n;
  }
  return out + suffix;
}

/** The n-th alternative to `name` when it is taken: `stem (n).ext`, fitted to the limit. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return fitName(name, "");
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  return fitName(stem, ` (${n})${ext}`);
}

/** A short, stable fingerprint of a name (FNV-1a, 32 bits), so shortened names stay distinct. */
function fingerprint(s: string): string {
  let h = 0x811c9dc5;
  for (const b of enc.encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * The names to try, in order, for the note beside the moved file `name`: `<name>.error.txt`
 * when it fits, else the name shortened with a fingerprint of the full name (the note itself
 * names the file); then shorter ones, for file systems with a smaller limit.
 */
export function noteNames(name: string): string[] {
  const full = name + ".error.txt";
  const out = enc.encode(full).length <= MAX_NAME_BYTES ? [full] : [];
  for (const limit of [MAX_NAME_BYTES, 143, 64]) {
    const short = fitName(name, `~${fingerprint(name)}.error.txt`, limit);
    if (!out.includes(short)) out.push(short);
  }
  return out;
}

/** Whether two absolute paths name the same place (Windows paths ignore case). */
export function samePath(a: string, b: string, os: string): boolean {
  return os === "windows" ? a.toLowerCase() === b.toLowerCase() : a === b;
}
