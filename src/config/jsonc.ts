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
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg) ?? /at (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : out.length;
    const before = out.slice(0, pos);
    const line = before.split("\n").length;
    const column = pos - before.lastIndexOf("\n");
    throw new JsoncError(msg.replace(/ in JSON at position \d+.*$/s, ""), line, column);
  }
}
