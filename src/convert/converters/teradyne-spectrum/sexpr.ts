/**
 * Reads Teradyne Spectrum / TestStation datalogs: nested `(KEY: value (CHILD: …) …)` records
 * into a small tree. Values are bare text (`02/09/2023 16:44:11`, `C:\Program Files (x86)\…`,
 * `Serialnumber:1111`) or quoted strings, and may wrap over lines; a `(` that does not start a
 * `KEY:` record is ordinary text (paths with parentheses), closed by its own `)`.
 *
 * @module
 */

/** One `(KEY: …)` record. */
export interface SNode {
  key: string;
  /** The record's own text (bare or quoted parts joined, line breaks removed, trimmed). */
  text: string;
  children: SNode[];
  /** 1-based line of the opening parenthesis. */
  line: number;
}

/** A syntax problem, with the line where it is. */
export class SExprError extends Error {
  /** @param line 1-based line; @param message what is wrong */
  constructor(readonly line: number, message: string) {
    super(message);
    this.name = "SExprError";
  }
}

const KEY_RE = /\(\s*([A-Za-z][A-Za-z0-9_]*)\s*:/y;

/** Deepest nesting accepted (real files nest 5 levels). */
export const MAX_DEPTH = 64;

/**
 * Parses the whole text into top-level records. Text outside any record becomes a record with
 * the empty key (one per line, its text trimmed), so the converter can say it skipped it.
 */
export function parseSExpr(text: string): SNode[] {
  const top: SNode[] = [];
  const stack: { node: SNode; parts: string[]; parens: number }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === "\n") {
      line++;
      i++;
      // A value wrapped over lines continues without the line break and indentation.
      if (stack.length > 0) { while (i < n && (text[i] === " " || text[i] === "\t")) i++; }
      continue;
    }
    if (c === "\r") {
      i++;
      continue;
    }
    if (c === "(") {
      KEY_RE.lastIndex = i;
      const m = KEY_RE.exec(text);
      if (m !== null) {
        if (stack.length >= MAX_DEPTH) {
          throw new SExprError(line, `records are nested more than ${MAX_DEPTH} levels deep`);
        }
        const node: SNode = { key: m[1].toUpperCase(), text: "", children: [], line };
        (stack.length > 0 ? stack[stack.length - 1].node.children : top).push(node);
        stack.push({ node, parts: [], parens: 0 });
        i = KEY_RE.lastIndex;
        continue;
      }
      if (stack.length > 0) {
        stack[stack.length - 1].parens++;
        stack[stack.length - 1].parts.push(c);
      }
      i++;
      continue;
    }
    if (c === ")") {
      const cur = stack[stack.length - 1];
      if (cur === undefined) {
        throw new SExprError(line, "a closing parenthesis without an open record");
      }
      if (cur.parens > 0) {
        cur.parens--;
        cur.parts.push(c);
      } else {
        cur.node.text = cur.parts.join("").trim();
        stack.pop();
      }
      i++;
      continue;
    }
    if (c === '"' && stack.length > 0) {
      const startLine = line;
      let j = i + 1;
      let s = "";
      while (j < n && text[j] !== '"') {
        if (text[j] === "\n") {
          line++;
          j++;
          while (j < n && (text[j] === " " || text[j] === "\t")) j++;
          continue;
        }
        if (text[j] !== "\r") s += text[j];
        j++;
      }
      if (j >= n) throw new SExprError(startLine, "a quoted value is never closed");
      stack[stack.length - 1].parts.push(s);
      i = j + 1;
      continue;
    }
    if (stack.length > 0) {
      // Bare text up to the next special character, in one slice.
      let j = i;
      while (j < n && !'()"\n\r'.includes(text[j])) j++;
      stack[stack.length - 1].parts.push(text.slice(i, j));
      i = j;
      continue;
    }
    if (c !== " " && c !== "\t") {
      let j = i;
      while (j < n && !"()\n\r".includes(text[j])) j++;
      const stray = text.slice(i, j).trim();
      if (stray !== "") top.push({ key: "", text: stray, children: [], line });
      i = j;
      continue;
    }
    i++;
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1].node;
    throw new SExprError(
      open.line,
      `the file ends inside the (${open.key}: record opened on line ${open.line}`,
    );
  }
  return top;
}

/** The first child with this key (upper case), or undefined. */
export function sChild(node: SNode, key: string): SNode | undefined {
  return node.children.find((c) => c.key === key);
}

/** All children with this key (upper case). */
export function sChildren(node: SNode, key: string): SNode[] {
  return node.children.filter((c) => c.key === key);
}
