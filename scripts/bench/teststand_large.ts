/**
 * Large-file throughput of the `teststand-xml` and `atml` converters: each of our own synthetic
 * fixtures is blown up in memory (its step list repeated) to about `--mb` megabytes, then
 * converted a few times; prints MB/s, steps/s and the share of the XML parse.
 *
 *   deno run -A scripts/bench/teststand_large.ts [--mb 10] [--rounds 3]
 *
 * @module
 */
import { parseArgs } from "#util";
import type { Converter } from "../../src/convert/contract.ts";
import { converter as atml } from "../../src/convert/converters/atml.ts";
import { converter as tsxml } from "../../src/convert/converters/teststand-xml.ts";
import { sha256Hex } from "../../src/convert/ids.ts";
import { parseXmlBytes } from "../../src/convert/xml.ts";
import { ownFixture } from "../../tests/_fixtures.ts";
import { station } from "../../tests/convert/_station.ts";

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Repeats text[from, to) until the document is about `mb` megabytes. */
function blowUp(text: string, from: number, to: number, mb: number): Uint8Array {
  const body = text.slice(from, to);
  const times = Math.max(1, Math.round((mb * 1e6 - text.length) / body.length));
  const big = text.slice(0, from) + body.repeat(times) + text.slice(to);
  return Uint8Array.from(big, (c) => c.charCodeAt(0));
}

function atmlInput(mb: number): Uint8Array {
  const t = latin1(Deno.readFileSync(ownFixture("convert", "atml", "atml202_failed_crlf.xml")));
  const start = t.indexOf("<tr:SessionAction", t.indexOf("<tr:TestGroup"));
  const end = t.lastIndexOf("</tr:TestGroup>");
  return blowUp(t, start, end, mb);
}

function tsxmlInput(mb: number): Uint8Array {
  const t = latin1(
    Deno.readFileSync(ownFixture("convert", "teststand-xml", "classic_failed_crlf.xml")),
  );
  const list = t.indexOf("<Prop Name='ResultList'");
  const start = t.indexOf("<Value ID='[0]'>", list);
  const end = t.lastIndexOf("<Prop Name='SequenceFile'");
  // The top-level list ends where its own closing </Prop> precedes the SequenceFile property.
  const close = t.lastIndexOf("</Prop>", end);
  return blowUp(t, start, t.lastIndexOf("\r\n", close) + 2, mb);
}

function countSteps(reports: Array<{ root?: { steps?: unknown[] } }>): number {
  let n = 0;
  const walk = (s: { steps?: unknown[] }) => {
    n++;
    for (const c of s.steps ?? []) walk(c as { steps?: unknown[] });
  };
  for (const r of reports) if (r.root) walk(r.root);
  return n;
}

async function measure(c: Converter, bytes: Uint8Array, rounds: number): Promise<string> {
  const input = {
    bytes,
    name: "large.xml",
    path: "large.xml",
    sha256: sha256Hex(bytes),
    station,
    params: { partNumber: "BENCH" },
  };
  const steps = countSteps(await c.convert(input));
  let t0 = performance.now();
  for (let i = 0; i < rounds; i++) await c.convert(input);
  const convertMs = (performance.now() - t0) / rounds;
  t0 = performance.now();
  for (let i = 0; i < rounds; i++) parseXmlBytes(bytes);
  const xmlMs = (performance.now() - t0) / rounds;
  const mb = bytes.length / 1e6;
  return `${c.name.padEnd(14)} ${mb.toFixed(1)} MB  ${steps} steps  ${convertMs.toFixed(0)} ms  ` +
    `${(mb / (convertMs / 1000)).toFixed(2)} MB/s  ${(steps / (convertMs / 1000)).toFixed(0)} ` +
    `steps/s  (XML parse ${((xmlMs / convertMs) * 100).toFixed(0)} %)`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { mb: { type: "string", default: "10" }, rounds: { type: "string", default: "3" } },
  });
  const mb = Number(values.mb);
  const rounds = Number(values.rounds);
  console.log(await measure(tsxml, tsxmlInput(mb), rounds));
  console.log(await measure(atml, atmlInput(mb), rounds));
}
