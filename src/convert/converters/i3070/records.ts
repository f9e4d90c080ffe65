/**
 * Tokeniser for the Keysight (Agilent/HP) 3070 / i3070 "log record format".
 *
 * A log is a tree of records `{@NAME|field|field…` closed by `}`; a record may hold child
 * records (a BLOCK holds its analog tests, an analog test holds its `{@LIM2…}`), and a BATCH
 * holds the BTEST that holds the whole board. The tokeniser works on `{@` and `}` only, never
 * on lines: a panel file has the next `{@BATCH` on the same line as the `}}` closing the board
 * before it, and a record's text may end on one line and its `}` come on the next.
 *
 * The one exception is the records the caller names as line records (the measurements and
 * their limits): they never span lines, so one still open at the end of its line is closed
 * there and marked `unclosed` (some sites' log writers cut lines at 80 columns, losing the
 * closing braces and the end of the last field). Without that rule every cut line would leave
 * the nesting one or two levels deeper, and the file would end hundreds of records deep.
 *
 * @module
 */
import { clip } from "../../text.ts";

/** One record of the log, with the records nested inside it. */
export interface I3070Record {
  /** Record name without `@`, e.g. `BTEST`, `A-CAP`, `MySW_Version:OK`. */
  name: string;
  /** The fields after the name (split on `|`), trimmed; line breaks removed. */
  fields: string[];
  /** The raw text after the name, trimmed (for list records such as `{@TS-D\…}`). */
  raw: string;
  /** Records nested inside this one, in file order. */
  children: I3070Record[];
  /** 1-based line where the record starts. */
  line: number;
  /** A line record whose `}` was missing: it was closed at the end of its line. */
  unclosed?: boolean;
  /** Its head ran up to the end of a cut line: the last field may be incomplete. */
  cutField?: boolean;
}

/** A syntax problem in the record structure, with the line it was found on. */
export class I3070SyntaxError extends Error {
  /** 1-based line of the problem. */
  readonly line: number;

  /** @param message what is wrong; @param line where */
  constructor(message: string, line: number) {
    super(message);
    this.name = "I3070SyntaxError";
    this.line = line;
  }
}

/** Deepest record nesting accepted (real logs nest 5 deep: BATCH, BTEST, BLOCK, test, LIM). */
export const MAX_DEPTH = 64;

/**
 * Parses the whole log into its top-level records (normally BATCH records).
 * Whitespace between records is ignored; any other text outside a record, a `}` without an
 * open record, a `{` not followed by `@`, nesting deeper than {@link MAX_DEPTH}, or a record
 * still open at the end of the file is an {@link I3070SyntaxError}.
 */
export function parseI3070Records(
  text: string,
  lineRecords: ReadonlySet<string> = new Set(),
): I3070Record[] {
  const top: I3070Record[] = [];
  const stack: I3070Record[] = [];
  // Old Macs end lines with CR alone; count those only when the file has no LF at all.
  const eol = text.includes("\n") ? 0x0a : 0x0d;
  const n = text.length;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // The record whose head (name and fields) runs up to the next brace, and where it starts.
  let head: I3070Record | undefined;
  let headStart = 0;
  while (i < n) {
    const runStart = i;
    const runLine = line;
    let c = 0;
    // A line record still open when its line ends (its name is known once its head is read).
    const lineOpen = () => {
      const top = stack[stack.length - 1];
      if (top === undefined) return false;
      if (top === head) setHead(head, text.slice(headStart, i));
      return lineRecords.has(top.name);
    };
    for (; i < n; i++) {
      c = text.charCodeAt(i);
      if (c === 0x7b /* { */ || c === 0x7d /* } */) break;
      if (c === eol) {
        if (lineOpen()) break;
        line++;
      }
    }
    if (i < n && c === eol) {
      // Close the line records left open at the end of this line.
      if (head !== undefined) head.cutField = true;
      head = undefined;
      while (stack.length > 0 && lineRecords.has(stack[stack.length - 1].name)) {
        stack.pop()!.unclosed = true;
      }
      line++;
      i++;
      continue;
    }
    if (head !== undefined) {
      setHead(head, text.slice(headStart, i));
      head = undefined;
    } else if (stack.length === 0 && text.slice(runStart, i).trim() !== "") {
      const run = text.slice(runStart, i);
      const lead = run.length - run.trimStart().length;
      const at = runLine + run.slice(0, lead).split(String.fromCharCode(eol)).length - 1;
      const first = run.trim().split(/\r?\n|\r/, 1)[0];
      throw new I3070SyntaxError(`text outside any record: "${clip(first, 40)}"`, at);
    }
    if (i >= n) break;
    if (c === 0x7b) {
      if (text.charCodeAt(i + 1) !== 0x40 /* @ */) {
        throw new I3070SyntaxError(`"{" not followed by "@" (a record starts with "{@")`, line);
      }
      if (stack.length >= MAX_DEPTH) {
        throw new I3070SyntaxError(`records nested more than ${MAX_DEPTH} deep`, line);
      }
      const record: I3070Record = { name: "", fields: [], raw: "", children: [], line };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(record);
      else top.push(record);
      stack.push(record);
      head = record;
      headStart = i + 2;
      i += 2;
    } else {
      if (stack.pop() === undefined) throw new I3070SyntaxError(`"}" without an open record`, line);
      i += 1;
    }
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1];
    throw new I3070SyntaxError(
      `the file ends inside the {@${open.name} record that starts on line ${open.line} ` +
        `(${stack.length} record(s) not closed)`,
      line,
    );
  }
  return top;
}

/** Sets name, fields and raw text from a record's head (the text before its first brace). */
function setHead(r: I3070Record, text: string): void {
  // Most heads only end with a line break; a break inside a head (a wrapped record) is rare.
  let head = text.trimEnd();
  if (head.includes("\n") || head.includes("\r")) head = head.replace(/\r?\n|\r/g, "");
  let cut = head.length;
  for (let k = 0; k < head.length; k++) {
    const c = head.charCodeAt(k);
    if (c === 0x7c /* | */ || c === 0x5c /* \ */) {
      cut = k;
      break;
    }
  }
  r.name = head.slice(0, cut).trim();
  r.raw = head.slice(cut).trim();
  r.fields = head[cut] === "|" ? head.slice(cut + 1).split("|").map((f) => f.trim()) : [];
}
