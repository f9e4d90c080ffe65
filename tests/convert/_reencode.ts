/**
 * Re-encodings of a test file, for converter tests that check a file converts the same
 * whatever encoding and line ends the station wrote it with.
 *
 * @module
 */

/** UTF-16LE bytes of a text, with a byte-order mark unless `bom` is false. */
export function utf16le(text: string, bom = true): Uint8Array {
  const out = new Uint8Array(text.length * 2 + (bom ? 2 : 0));
  let o = 0;
  if (bom) {
    out[o++] = 0xff;
    out[o++] = 0xfe;
  }
  for (let i = 0; i < text.length; i++) {
    out[o++] = text.charCodeAt(i) & 0xff;
    out[o++] = text.charCodeAt(i) >> 8;
  }
  return out;
}

/** The text with every line end turned into CRLF. */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

/** The characters Windows-1252 puts at 0x80..0x9F (U+0081, 8D, 8F, 90, 9D stand for themselves). */
const CP1252_HIGH =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d" +
  "\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d" +
  "\u017e\u0178";

/** Windows-1252 bytes of a text, or null when it holds a character Windows-1252 lacks. */
export function windows1252(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 || (c >= 0xa0 && c <= 0xff)) out[i] = c;
    else {
      const k = CP1252_HIGH.indexOf(text[i]);
      if (k < 0) return null;
      out[i] = 0x80 + k;
    }
  }
  return out;
}
