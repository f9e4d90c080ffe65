/**
 * Splits delimited text (CSV, semicolon, tab) into records, with RFC 4180 quoting and line
 * numbers for error messages. Accepts CRLF, LF and lone CR line ends and a missing final newline.
 *
 * @module
 */

/** One record (row) of a delimited file. */
export interface TextRecord {
  /** 1-based line number where the record starts. */
  line: number;
  /** The fields, unquoted; whitespace around unquoted fields is kept (callers trim). */
  fields: string[];
}

/** Delimiters tried by {@link detectDelimiter}, in order of preference on a tie. */
export const DELIMITER_CANDIDATES: readonly string[] = ["\t", ";", ",", "|"];

/** A quote error: where, and what. Callers wrap it in their own error type. */
export class RecordSyntaxError extends Error {
  /** @param line 1-based line of the problem; @param message what is wrong */
  constructor(readonly line: number, message: string) {
    super(message);
    this.name = "RecordSyntaxError";
  }
}

/**
 * Splits `text` into records. `quote` is the quote character, or "" for none (then quotes are
 * ordinary characters). A quote only opens a quoted field at the start of a field; inside a
 * quoted field a doubled quote is one quote character and line breaks are kept. Empty lines
 * (no characters at all) are skipped; a line of delimiters is a record of empty fields.
 *
 * @throws RecordSyntaxError for a quoted field that never closes, or text after a closing quote
 */
export function splitRecords(text: string, delimiter: string, quote = '"'): TextRecord[] {
  if (delimiter.length !== 1) {
    throw new Error(`delimiter must be one character, got "${delimiter}"`);
  }
  const records: TextRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let atLineEnd = false;
    // An empty line: skip it.
    if (text[i] === "\n" || text[i] === "\r") {
      i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      continue;
    }
    while (!atLineEnd) {
      let field = "";
      if (quote !== "" && text[i] === quote) {
        const openLine = line;
        i++;
        for (;;) {
          if (i >= n) {
            throw new RecordSyntaxError(
              openLine,
              `a quoted field opened on line ${openLine} is never closed`,
            );
          }
          const c = text[i];
          if (c === quote) {
            if (text[i + 1] === quote) {
              field += quote;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) line++;
          field += c;
          i++;
        }
        // After the closing quote: a delimiter, a line end, or the end of the text.
        let j = i;
        while (j < n && (text[j] === " " || text[j] === "\t") && text[j] !== delimiter) j++;
        if (j < n && text[j] !== delimiter && text[j] !== "\n" && text[j] !== "\r") {
          throw new RecordSyntaxError(
            line,
            `unexpected text after a closing quote on line ${line}: ` +
              JSON.stringify(text.slice(j, j + 20)),
          );
        }
        i = j;
      } else {
        const start = i;
        while (i < n && text[i] !== delimiter && text[i] !== "\n" && text[i] !== "\r") i++;
        field = text.slice(start, i);
      }
      fields.push(field);
      if (i >= n) {
        atLineEnd = true;
      } else if (text[i] === delimiter) {
        i++;
        if (i >= n) {
          fields.push("");
          atLineEnd = true;
        }
      } else {
        // \r\n, \n or \r
        i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line++;
        atLineEnd = true;
      }
    }
    records.push({ line: startLine, fields });
  }
  return records;
}

/**
 * Guesses the delimiter from the first lines of `text`: the candidate that occurs on the most
 * of the first 50 non-empty lines (outside quotes), preferring tab, then `;`, then `,`, then `|`
 * on a tie. `;` beats `,` on a tie so that decimal-comma files are read correctly.
 *
 * @returns the delimiter, or null when no candidate occurs at all
 */
export function detectDelimiter(text: string, quote = '"'): string | null {
  const lines = text.split(/\r\n|\n|\r/, 400).filter((l) => l.trim() !== "").slice(0, 50);
  let best: string | null = null;
  let bestScore = 0;
  for (const candidate of DELIMITER_CANDIDATES) {
    let score = 0;
    for (const l of lines) {
      const bare = quote === "" ? l : stripQuoted(l, quote);
      if (bare.includes(candidate)) score++;
    }
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** The line without the contents of quoted parts (an unclosed quote drops the rest). */
function stripQuoted(line: string, quote: string): string {
  let out = "";
  let inside = false;
  for (const c of line) {
    if (c === quote) inside = !inside;
    else if (!inside) out += c;
  }
  return out;
}
