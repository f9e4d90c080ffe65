/**
 * A strict reader of the small YAML subset the monitoring files use (docs/monitoring/*.yml),
 * for tests where promtool is not installed: block mappings and sequences indented with
 * spaces, plain and quoted scalars, `>`/`|` block scalars (with `-`), flow mappings of
 * scalars, `[]`, comments. Anything else (tabs, anchors, tags, flow sequences, multi-line plain
 * scalars, duplicate keys) is an error naming the line, so the files stay in what both this
 * reader and Prometheus read the same way.
 *
 * @module
 */

/** What a YAML document holds here: strings (no type guessing), lists and objects. */
export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  n: number;
  indent: number;
  text: string;
}

class YamlError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/** Removes a comment: `#` at the start or after a blank, outside quotes. */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:{,\[-]/.test(text[i - 1])) quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      return text.slice(0, i).trimEnd();
    }
  }
  return text.trimEnd();
}

/** One scalar: plain, "double" (JSON escapes) or 'single' ('' for a quote). */
function scalar(raw: string, n: number): string {
  const s = raw.trim();
  if (s.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(s)) throw new YamlError(n, `bad double-quoted scalar ${s}`);
    return JSON.parse(s);
  }
  if (s.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(s)) throw new YamlError(n, `bad single-quoted scalar ${s}`);
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>%@`\[]/.test(s)) throw new YamlError(n, `unsupported YAML here: ${s}`);
  if (/: |\s#/.test(s)) throw new YamlError(n, `plain scalar with ": " or " #": quote it: ${s}`);
  return s;
}

/** `{ a: b, c: "d" }`: a flow mapping of scalars. */
function flowMapping(raw: string, n: number): { [key: string]: Yaml } {
  const inner = raw.trim().slice(1, -1);
  const out: { [key: string]: Yaml } = {};
  // Split on commas outside quotes.
  const parts: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (const c of inner) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ",") {
      parts.push(cur);
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur.trim()) parts.push(cur);
  for (const p of parts) {
    const m = /^\s*([A-Za-z_][\w.-]*)\s*:\s(.*)$/.exec(p);
    if (!m) throw new YamlError(n, `bad flow mapping entry ${p.trim()}`);
    if (m[1] in out) throw new YamlError(n, `key ${m[1]} given twice`);
    out[m[1]] = scalar(m[2], n);
  }
  return out;
}

/** Parses the subset; throws with the line number on anything outside it. */
export function parseYaml(text: string): Yaml {
  const raw = text.split("\n");
  raw.forEach((l, i) => {
    if (/^\s*\t/.test(l)) throw new YamlError(i + 1, "tab in indentation");
  });
  let i = 0;

  /** The next meaningful line (skipping blanks and comments), without consuming it. */
  const peek = (): Line | null => {
    while (i < raw.length) {
      const t = stripComment(raw[i]);
      if (t.trim() === "") {
        i++;
        continue;
      }
      return { n: i + 1, indent: t.length - t.trimStart().length, text: t.trim() };
    }
    return null;
  };

  /** A `>`/`|` block scalar whose lines are indented more than `parent`. */
  const blockScalar = (style: string, parent: number): string => {
    const body: string[] = [];
    let indent = -1;
    while (i < raw.length) {
      const l = raw[i];
      if (l.trim() === "") {
        body.push("");
        i++;
        continue;
      }
      const ind = l.length - l.trimStart().length;
      if (ind <= parent) break;
      if (indent === -1) indent = ind;
      if (ind < indent) {
        throw new YamlError(i + 1, "block scalar line indented less than its first");
      }
      body.push(l.slice(indent));
      i++;
    }
    while (body.length && body.at(-1) === "") body.pop();
    const folded = style[0] === ">"
      ? body.reduce((acc, l, k) => {
        if (k === 0) return l;
        if (l === "") return acc + "\n";
        return acc.endsWith("\n") ? acc + l : acc + " " + l;
      }, "")
      : body.join("\n");
    return style.endsWith("-") ? folded : folded + "\n";
  };

  /** The value after `key:` (same line) or the block below it. */
  const valueAfter = (rest: string, line: Line): Yaml => {
    const v = rest.trim();
    if (v === "") {
      const next = peek();
      if (next && next.indent > line.indent) return block(next.indent);
      if (next && next.indent === line.indent && next.text.startsWith("- ")) {
        return block(next.indent);
      }
      return "";
    }
    if (v === "[]") return [];
    if (/^[>|]-?$/.test(v)) return blockScalar(v, line.indent);
    if (v.startsWith("{")) {
      if (!v.endsWith("}")) throw new YamlError(line.n, "flow mapping must close on its line");
      return flowMapping(v, line.n);
    }
    return scalar(v, line.n);
  };

  /** A mapping or sequence whose entries are at `indent`. */
  const block = (indent: number): Yaml => {
    const first = peek()!;
    if (first.text === "-" || first.text.startsWith("- ")) {
      const list: Yaml[] = [];
      for (let l = peek(); l && l.indent === indent && /^-( |$)/.test(l.text); l = peek()) {
        const item = l.text.slice(1).trimStart();
        const itemIndent = l.indent + (l.text.length - item.length);
        if (/^[A-Za-z_][\w.-]*:( |$)/.test(item)) {
          // "- key: value": a mapping whose keys are at the column after "- ".
          raw[i] = " ".repeat(itemIndent) + item;
          list.push(block(itemIndent));
        } else {
          i++;
          list.push(valueAfter(item, { ...l, indent: l.indent }));
        }
      }
      const after = peek();
      if (after && after.indent > indent) throw new YamlError(after.n, "unexpected indentation");
      return list;
    }
    const map: { [key: string]: Yaml } = {};
    for (let l = peek(); l && l.indent === indent; l = peek()) {
      const m = /^([A-Za-z_][\w.-]*):( (.*)|$)/.exec(l.text);
      if (!m) throw new YamlError(l.n, `expected "key: value", found ${l.text}`);
      if (m[1] in map) throw new YamlError(l.n, `key ${m[1]} given twice`);
      i++;
      map[m[1]] = valueAfter(m[3] ?? "", l);
    }
    const after = peek();
    if (after && after.indent > indent) throw new YamlError(after.n, "unexpected indentation");
    return map;
  };

  const start = peek();
  if (!start) return {};
  if (start.indent !== 0) throw new YamlError(start.n, "the document must start at column 0");
  const doc = block(0);
  const rest = peek();
  if (rest) throw new YamlError(rest.n, "unexpected text after the document");
  return doc;
}
