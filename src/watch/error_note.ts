/**
 * The note beside a file in Error (`<name>.error.txt`): what went wrong and what to do, for a
 * person. post_action.ts writes it before the file is moved (so a file in Error is never there
 * without it) and, after a crash between the two, recognises a note it began whose file never
 * followed.
 *
 * @module
 */
import { escapeControls, redact } from "../log/log.ts";
import type { PostEnv } from "./fs_env.ts";

/** What a person needs to know about a file that went to Error. */
export interface ErrorNote {
  /** What went wrong, in one sentence. */
  reason: string;
  /** What to do about it. */
  hint: string;
  converter: string;
  format: string;
  correlationId: string;
  source: string;
}

/** The note's text: escaped, then masked as log lines are. */
export function noteText(note: ErrorNote, moved: string, now = new Date()): string {
  const e = escapeControls; // a name must not smuggle a terminal's escapes into the note
  return redact(
    [
      `File:        ${e(note.source)}`,
      `Moved to:    ${e(moved)}`,
      `When:        ${now.toISOString()}`,
      `Converter:   ${e(note.converter)} (format ${e(note.format)})`,
      `Correlation: ${e(note.correlationId)}`,
      "",
      `What happened: ${e(note.reason)}`,
      "",
      `What to do: ${e(note.hint)}`,
      "To try the file again, move it back into the drop folder (after fixing it or the config).",
      "",
    ].join("\n"),
  );
}

/** A note is a few hundred bytes; a larger file at a note's name is not one the agent wrote. */
const MAX_NOTE_BYTES = 64 * 1024;

/**
 * Whether `p` is a note the agent began for this very move and whose file never followed (a
 * crash between the two): a regular file, not a link, whose text is, or is the start of, a note
 * for this source moved to this name (`head`: its first two lines). Such a note may be replaced.
 */
export async function unfinishedNote(
  env: PostEnv,
  p: string,
  head: string,
): Promise<Deno.FileInfo | null> {
  const st = await env.fs.lstat(p).catch(() => null);
  if (!st || !st.isFile || st.isSymlink || st.size > MAX_NOTE_BYTES) return null;
  const got = await env.fs.readSmall(p, MAX_NOTE_BYTES).catch(() => null);
  // What was opened must be what was looked at (not a link or file swapped in between).
  if (!got || !got.info.isFile || (st.ino !== null && got.info.ino !== st.ino)) return null;
  const text = new TextDecoder().decode(got.data);
  return text.startsWith(head) || head.startsWith(text) ? st : null;
}
