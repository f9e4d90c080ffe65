import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import {
  bytesReportId,
  deriveReportId,
  isGuid,
  normalizeGuid,
  sha256Hex,
  unitReportId,
} from "../../src/convert/ids.ts";
import { commonParamsSchema, converterParams, parseParams } from "../../src/convert/params.ts";
import {
  attr,
  child,
  childrenNamed,
  descendants,
  parseXml,
  parseXmlBytes,
  requireAttr,
  textOf,
  xmlRoot,
} from "../../src/convert/xml.ts";
import { z } from "zod";

Deno.test("ids: deterministic RFC 9562 v8 UUIDs from seeds", () => {
  const a = unitReportId("ab".repeat(32), 0);
  assert.equal(a, unitReportId("AB".repeat(32), 0)); // hex case does not matter
  assert.notEqual(a, unitReportId("ab".repeat(32), 1));
  assert.ok(isGuid(a));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(deriveReportId("x"), deriveReportId("x"));
  assert.notEqual(deriveReportId("x"), deriveReportId("y"));
  // Pinned value (computed independently with Python's hashlib): ids must never change between
  // agent versions, or a re-conversion would duplicate instead of upsert.
  assert.equal(deriveReportId("wats"), "fc6e3448-a489-8ac4-888a-5d503c18338d");
  const unit = new TextEncoder().encode("unit bytes");
  assert.equal(bytesReportId(unit), bytesReportId("unit bytes"));
  assert.notEqual(bytesReportId(unit), bytesReportId(unit, "other.log"));
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("ids: source GUIDs are normalised, non-GUIDs refused", () => {
  assert.equal(
    normalizeGuid("{33A2D408-3FC8-480B-B554-6866C77FD91C}"),
    "33a2d408-3fc8-480b-b554-6866c77fd91c",
  );
  assert.equal(
    normalizeGuid("33A2D4083FC8480BB5546866C77FD91C"),
    "33a2d408-3fc8-480b-b554-6866c77fd91c",
  );
  assert.equal(normalizeGuid("not-a-guid"), null);
});

Deno.test("xml: ordered tree, namespaces, attributes, text and CDATA", () => {
  const root = parseXml(
    `<?xml version="1.0"?>
<tr:R xmlns:tr="urn:tr" xmlns="urn:default" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" b="2" a="1">
  <S id="1"/><tr:T>x &amp; y &#65;&#x42; <![CDATA[<raw>]]></tr:T><S id="2" xsi:type="c:Num"><U/></S>
</tr:R>`,
  );
  assert.equal(root.name, "tr:R");
  assert.equal(root.local, "R");
  assert.equal(root.ns, "urn:tr");
  assert.deepEqual(Object.keys(root.attrs).slice(-2), ["b", "a"]); // document order
  assert.deepEqual(root.children.map((c) => c.local), ["S", "T", "S"]);
  assert.equal(root.children[0].ns, "urn:default");
  assert.equal(textOf(child(root, "T")), "x & y AB <raw>");
  assert.equal(root.text, ""); // whitespace between children is dropped
  assert.deepEqual(childrenNamed(root, "S").map((s) => attr(s, "id")), ["1", "2"]);
  assert.equal(attr(root.children[2], "type"), "c:Num");
  assert.equal(descendants(root, "U").length, 1);
  assert.equal(root.children[2].line, 3);
  assert.throws(
    () => requireAttr(root, "missing", "f.xml"),
    (e: Error) => e instanceof ConversionError && /line 2 of f\.xml/.test(e.message),
  );
});

Deno.test("xml: namespace declarations are scoped to their element", () => {
  const root = parseXml(
    `<a:R xmlns:a="urn:a" xmlns="urn:d" id="r">
  <X xmlns:a="urn:a2"><a:Y/></X>
  <a:Y/><Z xmlns=""><xml:W/></Z><Q/>
</a:R>`,
  );
  const [x, y, z, q] = root.children;
  assert.equal(root.ns, "urn:a");
  assert.equal(x.ns, "urn:d");
  assert.equal(x.children[0].ns, "urn:a2"); // the inner declaration wins inside X
  assert.equal(y.ns, "urn:a"); // and ends with X
  assert.equal(z.ns, ""); // xmlns="" undeclares the default
  assert.equal(z.children[0].ns, "http://www.w3.org/XML/1998/namespace");
  assert.equal(q.ns, "urn:d");
  assert.equal(child(root, "Q")!.line, 3);
  // Attribute objects are plain objects in document order, one per element.
  assert.deepEqual(root.attrs, { "xmlns:a": "urn:a", xmlns: "urn:d", id: "r" });
  assert.equal(Object.getPrototypeOf(root.attrs), Object.prototype);
  assert.deepEqual(q.attrs, {});
  assert.notEqual(q.attrs, y.attrs);
  const proto = parseXml(`<r __proto__="x" a="1"/>`).attrs;
  assert.deepEqual(Object.keys(proto), ["__proto__", "a"]);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
});

Deno.test("xml: malformed or truncated documents fail with a position", () => {
  for (const bad of ["<r><b></r>", "<r><b>", "<r a='1' a='2'/>", "text", "<r>&nbsp;</r>", ""]) {
    assert.throws(
      () => parseXml(bad, { name: "bad.xml" }),
      (e: Error) => e instanceof ConversionError && /bad\.xml/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseXml("<r><b></r>"), /line 1, column/);
});

Deno.test("xml: billion laughs and entity declarations are refused fast", () => {
  const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`;
  assert.throws(
    () => parseXml(lol),
    (e: Error) => e instanceof ConversionError && /entit/i.test(e.message),
  );
  const xxe =
    `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`;
  assert.throws(() => parseXml(xxe), ConversionError);
  // A DOCTYPE without entity declarations is harmless and accepted (nothing is fetched).
  assert.equal(parseXml(`<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>`).local, "r");
  // An undeclared entity reference is an error, not an expansion.
  assert.throws(() => parseXml(`<!DOCTYPE r><r>&x;</r>`), ConversionError);
  // A declaration hidden beyond the first megabyte of the DOCTYPE is not expanded either.
  const hidden = `<!DOCTYPE r [<!-- ${"x".repeat(1_100_000)} --><!ENTITY e "boom">]><r>&e;</r>`;
  assert.throws(
    () => parseXml(hidden),
    (e: Error) => e instanceof ConversionError && /undefined entity/.test(e.message),
  );
});

Deno.test("xml: depth limit, control characters, bytes with declared encoding", () => {
  const deep = "<a>".repeat(300) + "</a>".repeat(300);
  assert.throws(() => parseXml(deep), /more than 256 levels/);
  assert.equal(parseXml(deep, { maxDepth: 400 }).local, "a");
  assert.equal(textOf(parseXml("<r>a\u0001b</r>")), "ab");
  const latin = new Uint8Array([
    ...new TextEncoder().encode('<?xml version="1.0" encoding="ISO-8859-1"?><r n="'),
    0xc4,
    ...new TextEncoder().encode('"/>'),
  ]);
  assert.equal(attr(parseXmlBytes(latin), "n"), "Ä");
});

Deno.test("xmlRoot sniffs the root of a cut head and never throws", () => {
  assert.deepEqual(
    xmlRoot('\uFEFF<?xml version="1.0"?>\n<!-- c --><Reports xmlns="urn:x" a="1"><Report ID='),
    { name: "Reports", local: "Reports", ns: "urn:x", attrs: { xmlns: "urn:x", a: "1" } },
  );
  assert.equal(xmlRoot('<trc:TestResultsCollection xmlns:trc="urn:t">')?.ns, "urn:t");
  assert.equal(xmlRoot("not xml at all"), null);
  assert.equal(xmlRoot(""), null);
  assert.equal(xmlRoot("<?xml version="), null);
});

Deno.test("params: shared vocabulary, aliases, defaults, extension", () => {
  const p = parseParams(
    { operationTypeCode: "30", testModeType: "Active", fileEncoding: 1252, partNumber: " PN " },
    commonParamsSchema,
  );
  assert.equal(p.processCode, 30);
  assert.equal(p.testMode, "active");
  assert.equal(p.encoding, "1252");
  assert.equal(p.partNumber, "PN");
  assert.equal(p.decimalSeparator, ".");
  assert.equal(parseParams({}, commonParamsSchema).testMode, "import");
  const ext = converterParams({
    dateOrder: z.enum(["dmy", "mdy"]).default("dmy"),
    processCode: z.number().default(30),
  });
  const q = parseParams({}, ext, "takaya");
  assert.equal(q.dateOrder, "dmy");
  assert.equal(q.processCode, 30);
});

Deno.test("params: bad values and unknown names are ConversionErrors naming the parameter", () => {
  const check = (raw: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parseParams(raw, commonParamsSchema, "wstf"), (e: Error) => {
      if (!(e instanceof ConversionError)) throw e;
      assert.match(e.message, re);
      assert.match(e.hint, /converters\[\]\.params/);
      return true;
    });
  check({ processCode: "abc" }, /parameter "processCode": expected .*found "abc"/);
  check(
    { testMode: "sometimes" },
    /parameter "testMode": expected one of "import", "active", found "sometimes"/,
  );
  check({ encoding: "klingon" }, /parameter "encoding"/);
  check({ timeZone: "Mars/Base" }, /parameter "timeZone": expected an IANA time zone/);
  check({ partnumber: "x" }, /unknown parameter "partnumber" \(did you mean "partNumber"\?\)/);
});
