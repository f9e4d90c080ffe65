/**
 * JSON with comments (`//`, `/* *\/`) and trailing commas, as people write config files.
 *
 * @module
 */

/** A JSONC text that can't be parsed; `line` and `column` are 1-based. */
export class JsoncError extends Error {
  /** @param message what is wrong; @param line 1-based line; @param column 1-based column */
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
    this.name = "JsoncError";
  }
}

/**
 * Parses JSONC. Comments become spaces (so JSON.parse positions stay true) and trailing commas
 * are dropped; errors carry the line and column.
 */
export function parseJsonc(text: string): unknown {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      const start = i++;
      while (i < src.length && src[i] !== '"') i += src[i] === "\\" ? 2 : 1;
      out += src.slice(start, ++i);
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") out += " ", i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === ",") {
      let j = i + 1;
      while (j < src.length && /\s/.test(src[j])) j++;
      out += src[j] === "}" || src[j] === "]" ? " " : ",";
      i++;
    } else {
      out += c;
      i++;
    }
  }
  try {
    return JSON.parse(out);
  } catch (e) {
    const { what, pos } = describeSyntaxError((e as Error).message, out);
    const before = out.slice(0, pos);
    const line = before.split("\n").length;
    const column = pos - before.lastIndexOf("\n");
    throw new JsoncError(what, line, column);
  }
}

/**
 * What V8's JSON.parse message says, without the piece of the file it quotes (a config's bad
 * line is often the one with the token, and the message ends up in logs and /health), and where.
 */
function describeSyntaxError(msg: string, text: string): { what: string; pos: number } {
  const at = /position (\d+)/.exec(msg);
  if (at) return { what: msg.replace(/ in JSON at position \d+.*$/s, ""), pos: Number(at[1]) };
  // "Unexpected token 'x', ..."<10 characters>x<10 characters>"... is not valid JSON"
  const tok = /^Unexpected token '(.)', (\.\.\.)?"(.*)"(?:\.\.\.)? is not valid JSON$/s.exec(msg);
  const what = tok
    ? 'unexpected character (a value is a number, true, false, null, a "string", {…} or […])'
    : msg.replace(/[,:] ?(\.\.\.)?".*$/s, "");
  if (!tok) return { what, pos: text.length };
  const [, ch, cut, quoted] = tok;
  const start = text.indexOf(quoted);
  if (start < 0) return { what, pos: text.length };
  return { what, pos: cut ? start + 10 : start + firstOutsideString(quoted, ch) };
}

/** Index of the first `ch` in `s` outside a JSON string (0 when there is none). */
function firstOutsideString(s: string, ch: string): number {
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    if (inString) {
      if (s[i] === "\\") i++;
      else if (s[i] === '"') inString = false;
    } else if (s[i] === '"') inString = true;
    else if (s[i] === ch) return i;
  }
  return 0;
}
