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
