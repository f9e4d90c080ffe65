/**
 * Turning station file bytes into clean text.
 *
 * Rules, in order (docs/converters.md#reading-station-files):
 * 1. A byte-order mark wins: UTF-8 (`EF BB BF`), UTF-16 LE (`FF FE`), UTF-16 BE (`FE FF`).
 *    The BOM is removed from the text.
 * 2. Else an explicit encoding (the converter's `encoding` parameter, or an XML declaration)
 *    is used.
 * 3. Else the bytes are read as UTF-8 when they are valid UTF-8 (plain ASCII is), and as
 *    Windows-1252 when they are not (Virinco's default code page; it is a superset of the
 *    printable Latin-1 range, and WHATWG decoders treat `iso-8859-1` as Windows-1252 too).
 *
 * Text that goes into a report passes {@link stripControlChars}: C0 control characters other
 * than tab/LF/CR, lone surrogates and U+FFFE/U+FFFF are removed because they break XML
 * storage on the server and occur in real files.
 *
 * @module
 */
import { ConversionError } from "./conversion_error.ts";

/** Encodings every converter can rely on. Any other WHATWG label works as well. */
export const DEFAULT_FALLBACK_ENCODING = "windows-1252";

/** Windows code page numbers (Virinco's `fileEncoding`) and aliases → WHATWG labels. */
const CODE_PAGES: Readonly<Record<string, string>> = {
  "1250": "windows-1250",
  "1251": "windows-1251",
  "1252": "windows-1252",
  "1253": "windows-1253",
  "1254": "windows-1254",
  "1257": "windows-1257",
  "65001": "utf-8",
  "1200": "utf-16le",
  "1201": "utf-16be",
  "28591": "iso-8859-1",
  "28592": "iso-8859-2",
  "28605": "iso-8859-15",
  "932": "shift_jis",
  "936": "gbk",
  "949": "euc-kr",
  "950": "big5",
  "cp1252": "windows-1252",
  "ansi": "windows-1252",
  "utf8bom": "utf-8",
};

/**
 * Resolves an encoding name from a config or file ("1252", "cp1252", "UTF-8", "latin1",
 * "utf-16le", …) to a WHATWG label TextDecoder accepts, or throws a {@link ConversionError}
 * naming `what` (e.g. "converter parameter `encoding`").
 */
export function resolveEncoding(name: string, what = "encoding"): string {
  const key = name.trim().toLowerCase().replace(/^(cp|windows-|code ?page ?)(?=\d)/, "");
  const label = CODE_PAGES[key] ?? CODE_PAGES[name.trim().toLowerCase()] ?? name.trim();
  try {
    return new TextDecoder(label).encoding;
  } catch {
    throw new ConversionError(
      `${what}: unknown text encoding "${name}"`,
      'Use a WHATWG encoding label such as "utf-8", "windows-1252", "utf-16le" or a Windows ' +
        'code page number such as "1252".',
    );
  }
}

/** The encoding a BOM at the start of `bytes` announces, and the BOM's length. */
export function detectBom(bytes: Uint8Array): { encoding: string; length: number } | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { encoding: "utf-8", length: 3 };
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { encoding: "utf-16le", length: 2 };
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { encoding: "utf-16be", length: 2 };
  }
  return null;
}

/** Options for {@link decodeText}. */
export interface DecodeOptions {
  /** Explicit encoding (overrides detection except a BOM). Resolved by {@link resolveEncoding}. */
  encoding?: string;
  /** Encoding for bytes that are not valid UTF-8. Default Windows-1252. */
  fallback?: string;
  /**
   * Allow an incomplete multi-byte sequence at the very end (for `detect` heads, which are cut
   * at 8 KiB). Default false.
   */
  partial?: boolean;
}

/** Decoded text and the encoding that was used. */
export interface DecodedText {
  text: string;
  encoding: string;
}

/**
 * Decodes file bytes to text following the rules in the module doc. Never throws for bad
 * bytes (Windows-1252 maps every byte); throws {@link ConversionError} only for an unknown
 * explicit encoding name.
 */
export function decodeText(bytes: Uint8Array, options: DecodeOptions = {}): DecodedText {
  const bom = detectBom(bytes);
  if (bom) {
    return {
      text: new TextDecoder(bom.encoding).decode(bytes.subarray(bom.length)),
      encoding: bom.encoding,
    };
  }
  if (options.encoding !== undefined && options.encoding.trim().toLowerCase() !== "auto") {
    const label = resolveEncoding(options.encoding);
    return { text: new TextDecoder(label).decode(bytes), encoding: label };
  }
  const utf16 = sniffUtf16(bytes);
  if (utf16) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  const utf8 = tryUtf8(bytes, options.partial ?? false);
  if (utf8 !== null) return { text: utf8, encoding: "utf-8" };
  const fallback = resolveEncoding(options.fallback ?? DEFAULT_FALLBACK_ENCODING);
  return { text: new TextDecoder(fallback).decode(bytes), encoding: fallback };
}

/**
 * Decodes an XML document: BOM, then `options.encoding`, then the `encoding` of the XML
 * declaration, then UTF-8 (Windows-1252 when the bytes are not valid UTF-8). UTF-16 without
 * a BOM is recognised from the `<?` pattern.
 */
export function decodeXml(bytes: Uint8Array, options: DecodeOptions = {}): DecodedText {
  if (detectBom(bytes) || (options.encoding && options.encoding.toLowerCase() !== "auto")) {
    return decodeText(bytes, options);
  }
  const utf16 = sniffUtf16(bytes);
  if (utf16) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  const declared = xmlDeclaredEncoding(bytes);
  if (declared !== null) {
    const label = resolveEncoding(declared, "XML declaration");
    // A file that says UTF-8 but isn't is common (Latin-1 names): fall back instead of U+FFFD.
    if (label === "utf-8") return decodeText(bytes, { ...options, encoding: undefined });
    return { text: new TextDecoder(label).decode(bytes), encoding: label };
  }
  return decodeText(bytes, { ...options, encoding: undefined });
}

/** The `encoding="…"` of an XML declaration at the start of ASCII-compatible bytes, or null. */
export function xmlDeclaredEncoding(bytes: Uint8Array): string | null {
  const head = latin1(bytes.subarray(0, 200));
  const m = /^\s*<\?xml\s[^?]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head);
  return m ? m[1] : null;
}

/** The first bytes of a file as text, for `detect` functions (tolerates a cut at the end). */
export function headText(head: Uint8Array, encoding?: string): string {
  return decodeText(head, { partial: true, encoding }).text;
}

function sniffUtf16(bytes: Uint8Array): string | null {
  if (bytes.length < 4) return null;
  if (bytes[0] === 0x3c && bytes[1] === 0 && bytes[2] !== 0 && bytes[3] === 0) return "utf-16le";
  if (bytes[0] === 0 && bytes[1] === 0x3c && bytes[2] === 0 && bytes[3] !== 0) return "utf-16be";
  return null;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

function tryUtf8(bytes: Uint8Array, partial: boolean): string | null {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    if (!partial) return null;
    // Drop up to 3 bytes of a multi-byte sequence cut by the head limit.
    for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
      try {
        return fatalUtf8.decode(bytes.subarray(0, bytes.length - cut));
      } catch { /* try a shorter cut */ }
    }
    return null;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/**
 * Splits text into lines. Accepts CRLF, LF and lone CR; a final line break does not produce an
 * empty last line, and a missing one loses nothing.
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

// C0 controls except TAB/LF/CR, lone surrogates, and the non-characters U+FFFE/U+FFFF.
const CONTROL_RE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Removes characters that are not allowed in XML 1.0 (and so break the server's storage):
 * C0 controls other than tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
 */
export function stripControlChars(text: string): string {
  return mayHaveControlChars(text) ? text.replace(CONTROL_RE, "") : text;
}

// Any character CONTROL_RE may remove (surrogate pairs too): a plain class test is several times
// faster than the lookaround regex or a charCodeAt loop, and most strings have none.
// deno-lint-ignore no-control-regex
const MAYBE_CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** Fast pre-check: true when `text` has a character the full regex must look at. */
function mayHaveControlChars(text: string): boolean {
  return MAYBE_CONTROL_RE.test(text);
}

/** Whether {@link stripControlChars} would change `text`. */
export function hasControlChars(text: string): boolean {
  return mayHaveControlChars(text) && stripControlChars(text) !== text;
}

/**
 * Applies {@link stripControlChars} to every string (values, not keys) in a JSON-like value,
 * in place. Returns the same value.
 */
export function stripControlCharsDeep<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === "string") v[i] = stripControlChars(x);
        else if (x !== null && typeof x === "object") stack.push(x);
      }
    } else if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const x = o[k];
        if (typeof x === "string") o[k] = stripControlChars(x);
        else if (x !== null && typeof x === "object") stack.push(x);
      }
    }
  }
  return value;
}

/**
 * Splits a `key: value` line at its first `:` (key and value trimmed), or null when there is
 * no `:` or the key is empty. Linear in the line length, unlike a lazy-quantifier regex, which
 * a long line of spaces turns quadratic.
 */
export function splitKeyValue(line: string, separator = ":"): [string, string] | null {
  const i = line.indexOf(separator);
  if (i <= 0) return null;
  const key = line.slice(0, i).trim();
  return key ? [key, line.slice(i + separator.length).trim()] : null;
}

/**
 * The 1-based number of the last line when it has no line end although the text has several
 * lines (every line but the last ends in one, by definition), else undefined: the sign of a
 * file cut mid-line, for formats whose writers end every line. A CRLF file whose last line
 * ends in a lone CR counts as cut too. Trailing white space, NULs and a DOS end-of-file mark
 * (Ctrl-Z) after the last line end are not a line.
 */
export function unterminatedLastLine(text: string): number | undefined {
  // deno-lint-ignore no-control-regex
  const end = text.replace(/[ \t\0\x1a]+$/, "");
  const lastBreak = Math.max(end.lastIndexOf("\n"), end.lastIndexOf("\r"));
  if (lastBreak < 0) return undefined; // one line: nothing to compare with
  const crlf = end.includes("\r\n");
  const complete = lastBreak === end.length - 1 && (!crlf || end.endsWith("\n"));
  if (complete) return undefined;
  return splitLines(end).length;
}

/**
 * The error for a file that ends before the format says it does (a tester still writing, a
 * copy that broke off): `where` is the place (`line 287`), `what` what is missing there,
 * `more` a further hint (e.g. the parameter that relaxes the check).
 */
export function cutShortError(
  file: string,
  where: string,
  what: string,
  more?: string,
): ConversionError {
  return new ConversionError(
    `${file}: ${where}: ${what}: the file looks cut short`,
    "Check that the tester finished writing the file (and that a copy to this folder was " +
      "complete), then drop the complete file again." + (more ? ` ${more}` : ""),
  );
}

/** A value as it is quoted in messages: at most `max` characters, then "…". */
export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
