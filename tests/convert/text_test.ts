import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import {
  clip,
  decodeText,
  decodeXml,
  headText,
  resolveEncoding,
  splitLines,
  stripControlChars,
  stripControlCharsDeep,
  unterminatedLastLine,
  xmlDeclaredEncoding,
} from "../../src/convert/text.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("decodeText: BOMs win and are removed", () => {
  assert.deepEqual(decodeText(bytes(0xef, 0xbb, 0xbf, 0x41, 0xc3, 0xa4)), {
    text: "Aä",
    encoding: "utf-8",
  });
  assert.deepEqual(decodeText(bytes(0xff, 0xfe, 0x41, 0, 0xe4, 0)), {
    text: "Aä",
    encoding: "utf-16le",
  });
  assert.deepEqual(decodeText(bytes(0xfe, 0xff, 0, 0x41, 0, 0xe4)), {
    text: "Aä",
    encoding: "utf-16be",
  });
  // A BOM beats an explicit (wrong) encoding.
  assert.equal(decodeText(bytes(0xef, 0xbb, 0xbf, 0xc3, 0xa4), { encoding: "1252" }).text, "ä");
});

Deno.test("decodeText: valid UTF-8 is UTF-8, anything else Windows-1252", () => {
  assert.deepEqual(decodeText(enc("Spänning °C")), { text: "Spänning °C", encoding: "utf-8" });
  const latin = bytes(0x53, 0x70, 0xe4, 0x6e, 0x20, 0xb0, 0x43, 0x80);
  assert.deepEqual(decodeText(latin), { text: "Spän °C€", encoding: "windows-1252" });
  assert.equal(decodeText(latin, { encoding: "auto" }).text, "Spän °C€");
  assert.equal(decodeText(enc("ä"), { encoding: "latin1" }).text, "Ã¤");
  assert.equal(decodeText(bytes(0x3c, 0, 0x61, 0)).text, "<a"); // UTF-16LE without BOM
});

Deno.test("resolveEncoding: code pages and labels; unknown names are ConversionErrors", () => {
  assert.equal(resolveEncoding("1252"), "windows-1252");
  assert.equal(resolveEncoding("cp1252"), "windows-1252");
  assert.equal(resolveEncoding("Windows-1252"), "windows-1252");
  assert.equal(resolveEncoding("UTF8"), "utf-8");
  assert.equal(resolveEncoding("65001"), "utf-8");
  assert.equal(resolveEncoding("iso-8859-1"), "windows-1252"); // WHATWG maps Latin-1 to 1252
  assert.throws(
    () => resolveEncoding("ebcdic-xyz", "parameter encoding"),
    (e: Error) => e instanceof ConversionError && /parameter encoding/.test(e.message),
  );
});

Deno.test("decodeXml: declaration, BOM and fallbacks", () => {
  const latin = new Uint8Array([
    ...enc('<?xml version="1.0" encoding="iso-8859-1"?><a>'),
    0xe4,
    ...enc("</a>"),
  ]);
  assert.equal(xmlDeclaredEncoding(latin), "iso-8859-1");
  assert.equal(decodeXml(latin).text.endsWith("<a>ä</a>"), true);
  // Declared UTF-8 but Latin-1 bytes: falls back rather than producing U+FFFD.
  const lying = new Uint8Array([
    ...enc('<?xml version="1.0" encoding="UTF-8"?><a>'),
    0xe4,
    ...enc("</a>"),
  ]);
  assert.equal(decodeXml(lying).text.endsWith("<a>ä</a>"), true);
  const utf16 = new Uint8Array([0xff, 0xfe, ...[..."<a/>"].flatMap((c) => [c.charCodeAt(0), 0])]);
  assert.equal(decodeXml(utf16).text, "<a/>");
  assert.throws(
    () => decodeXml(enc('<?xml version="1.0" encoding="klingon"?><a/>')),
    ConversionError,
  );
});

Deno.test("headText tolerates a multi-byte character cut by the 8 KiB head", () => {
  const b = enc("abcä");
  assert.equal(headText(b.subarray(0, b.length - 1)), "abc");
});

Deno.test("splitLines: CRLF, LF, CR, missing or present final newline", () => {
  assert.deepEqual(splitLines("a\r\nb\nc\rd"), ["a", "b", "c", "d"]);
  assert.deepEqual(splitLines("a\nb\n"), ["a", "b"]);
  assert.deepEqual(splitLines("a\n\nb"), ["a", "", "b"]);
  assert.deepEqual(splitLines(""), []);
});

Deno.test("unterminatedLastLine: the last of several lines without its line end", () => {
  assert.equal(unterminatedLastLine("a\nb\nc"), 3);
  assert.equal(unterminatedLastLine("a\nb\n"), undefined);
  assert.equal(unterminatedLastLine("a\r\nb\r\n"), undefined);
  assert.equal(unterminatedLastLine("a\r\nb\r"), 2); // CRLF file cut between CR and LF
  assert.equal(unterminatedLastLine("a\rb\r"), undefined); // CR-only line ends
  assert.equal(unterminatedLastLine("a\nb\n  \t\x1a\0"), undefined); // padding, Ctrl-Z
  assert.equal(unterminatedLastLine("one line"), undefined); // nothing to compare with
  assert.equal(unterminatedLastLine(""), undefined);
});

Deno.test("clip: values quoted in messages stop at 60 characters (or the given number)", () => {
  assert.equal(clip("x".repeat(60)), "x".repeat(60));
  assert.equal(clip("x".repeat(61)), `${"x".repeat(60)}…`);
  assert.equal(clip("abcdef", 3), "abc…");
});

Deno.test("stripControlChars removes what breaks XML and keeps tab/LF/CR", () => {
  assert.equal(stripControlChars("a\u0001b\u0002c\u0006\td\ne\rf\u0000"), "abc\td\ne\rf");
  assert.equal(stripControlChars("ok \u{1F600} \uD800x \uFFFE"), "ok \u{1F600} x ");
  const o = { a: "x\u0001", b: ["y\u0002", { c: "z\u0003" }], n: 1 };
  assert.deepEqual(stripControlCharsDeep(o), { a: "x", b: ["y", { c: "z" }], n: 1 });
});
