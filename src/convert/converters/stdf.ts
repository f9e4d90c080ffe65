/**
 * `stdf`: STDF V4 semiconductor test results (Teradyne, Advantest, … ATE), binary, in either
 * byte order (FAR CPU_TYPE), raw or gzip-compressed (`.stdf.gz`). Mapping and rules: the
 * "STDF V4" section of docs/converters.md.
 *
 * **One report per part** (PIR … PRR), made and handed on as the PRR arrives
 * (`convertStream`), so a file of thousands of parts is never held as thousands of report
 * objects, and a gzip file is inflated 64 KiB at a time (bounded by `maxInflatedMb`). Parts of
 * several sites are matched by head and site, so files whose PIRs all come before their PRRs
 * are read right.
 *
 * Records: FAR, MIR, WIR/WRR, PIR/PRR, PTR/MPR/FTR, DTR are read; the other V4 records (ATR,
 * MRR, PCR, HBR, SBR, PMR, PGR, PLR, RDR, SDR, WCR, TSR, BPS, EPS, GDR and the V4-2007 ones) carry
 * nothing a report needs and are skipped; a record type outside the spec is skipped by its
 * length with a warning. A file without its MRR (Master Results Record) stops early and is
 * refused, as is a record cut off by the end of the file. Records are framed in stdf/records.ts,
 * the test records read in stdf/tests.ts.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { converterParams, parseParams } from "../params.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { gunzipChunks, gunzipHead, GzipError, isGzip } from "../gzip.ts";
import {
  Fields,
  readRecords,
  RECORD_NAMES,
  recordName,
  stdfByteOrder,
  StdfSyntaxError,
} from "./stdf/records.ts";
import { readFtr, readMpr, readPtr, type Result, type TestDefaults } from "./stdf/tests.ts";

const paramsSchema = converterParams({
  serialFormat: z.enum(["qualified", "partId"]).default("qualified").describe(
    'The serial of a part with a PART_ID: `"qualified"` prefixes lot, sublot and wafer (a ' +
      'PART_ID is only unique within its file), `"partId"` uses PART_ID alone.',
  ),
  maxInflatedMb: z.coerce.number().int().min(1).max(1024 * 1024).default(4096).describe(
    "Most MiB a `.stdf.gz` may inflate to (a larger one is refused).",
  ),
});

type Params = z.output<typeof paramsSchema>;

/** Record keys (`typ * 256 + sub`). */
const R = {
  FAR: 10,
  MIR: 256 + 10,
  MRR: 256 + 20,
  WIR: 2 * 256 + 10,
  WRR: 2 * 256 + 20,
  PIR: 5 * 256 + 10,
  PRR: 5 * 256 + 20,
  PTR: 15 * 256 + 10,
  MPR: 15 * 256 + 15,
  FTR: 15 * 256 + 20,
  DTR: 50 * 256 + 30,
} as const;

/** "No coordinate" in PRR X_COORD/Y_COORD. */
const NO_COORD = -32768;

/** The lot, from the MIR. */
interface Lot {
  setupT?: number;
  startT?: number;
  lotId: string;
  partType: string;
  nodeName: string;
  testerType: string;
  jobName: string;
  jobRev: string;
  sublot: string;
  operator: string;
  execType: string;
  execVer: string;
  testCode: string;
  temperature: string;
  facility: string;
  flow: string;
  designRev: string;
  testerSerial: string;
}

/** A part between its PIR and PRR. */
interface Part {
  head: number;
  site: number;
  /** Byte offset of its PIR. */
  offset: number;
  wafer?: string;
  waferStart?: number;
  results: Result[];
}

export const converter: Converter = {
  name: "stdf",
  params: paramsSchema,
  description: "STDF V4 semiconductor ATE results (binary, either byte order, .stdf or .stdf.gz)",
  pattern: "*.std*",
  detect({ head }) {
    if (stdfByteOrder(head) !== undefined) return 1;
    if (isGzip(head) && stdfByteOrder(gunzipHead(head)) !== undefined) return 0.95;
    return 0;
  },
  async convert(input: ConvertInput): Promise<WsjfReport[]> {
    const out: WsjfReport[] = [];
    for await (const r of convertStdf(input)) out.push(r);
    return out;
  },
  convertStream: (input: ConvertInput) => convertStdf(input),
};

/** The file's bytes as chunks: itself, or inflated 64 KiB at a time. */
function source(
  input: ConvertInput,
  params: Params,
): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
  return isGzip(input.bytes)
    ? gunzipChunks(input.bytes, params.maxInflatedMb * 1024 * 1024)
    : [input.bytes];
}

async function* convertStdf(input: ConvertInput): AsyncGenerator<WsjfReport> {
  const params = parseParams(input.params, paramsSchema, "stdf");
  const file = input.name;
  const gz = isGzip(input.bytes);
  const at = (offset: number) => `${file}: ${gz ? "inflated " : ""}byte ${offset}`;
  let lot: Lot | undefined;
  let wafer: { id: string; start?: number } | undefined;
  const open = new Map<number, Part>();
  const defaults = new Map<number, TestDefaults>();
  /** Warnings not tied to one part: they go with the next report (and to the log). */
  let pending: string[] = [];
  const unknownTypes = new Set<number>();
  let orphanTests = 0;
  let index = 0;
  let ended = false;
  let far = false;

  const warnFile = (text: string) => pending.push(text);
  try {
    for await (const rec of readRecords(source(input, params))) {
      const key = rec.typ * 256 + rec.sub;
      const f = new Fields(rec.body, rec.little);
      if (!far) {
        far = true;
        if (key !== R.FAR) {
          throw new StdfSyntaxError("the first record is not a FAR", rec.offset);
        }
        continue;
      }
      if (ended) {
        warnFile(`${at(rec.offset)}: ${recordName(rec.typ, rec.sub)} record after the MRR skipped`);
        continue;
      }
      switch (key) {
        case R.MIR:
          lot = readMir(f);
          break;
        case R.MRR:
          ended = true;
          break;
        case R.WIR: {
          f.u1(); // HEAD_NUM
          f.u1(); // SITE_GRP
          const start = f.u4();
          wafer = { id: (f.cn() ?? "").trim(), start: start || undefined };
          break;
        }
        case R.WRR:
          wafer = undefined;
          break;
        case R.PIR: {
          if (lot === undefined) {
            throw new StdfSyntaxError("a PIR (part) comes before the MIR", rec.offset);
          }
          const head = f.u1() ?? 1;
          const site = f.u1() ?? 1;
          const prev = open.get(head * 256 + site);
          if (prev !== undefined) {
            warnFile(
              `${at(prev.offset)}: the part at head ${head} site ${site} has no PRR (the next ` +
                "PIR for that site came first); left out",
            );
          }
          open.set(head * 256 + site, {
            head,
            site,
            offset: rec.offset,
            wafer: wafer?.id,
            waferStart: wafer?.start,
            results: [],
          });
          break;
        }
        case R.PTR:
        case R.MPR:
        case R.FTR: {
          const num = f.u4() ?? 0;
          const head = f.u1() ?? 1;
          const site = f.u1() ?? 1;
          const part = open.get(head * 256 + site);
          if (part === undefined) {
            // TSR-like summary records (head 255) or tests outside any part.
            if (head !== 255 && orphanTests++ === 0) {
              warnFile(
                `${at(rec.offset)}: ${
                  recordName(rec.typ, rec.sub)
                } ${num} for head ${head} site ${site} has no open part (no PIR); skipped` +
                  " (and any like it)",
              );
            }
            break;
          }
          if (key === R.PTR) part.results.push(readPtr(f, num, defaults));
          else if (key === R.MPR) part.results.push(readMpr(f, num, defaults));
          else part.results.push(readFtr(f, num));
          break;
        }
        case R.DTR: {
          // Datalog text belongs to a part only when exactly one is open.
          const text = (f.cn() ?? "").trim();
          if (text !== "" && open.size === 1) {
            open.values().next().value!.results.push({ kind: "text", text });
          }
          break;
        }
        case R.PRR: {
          const head = f.u1() ?? 1;
          const site = f.u1() ?? 1;
          const part = open.get(head * 256 + site) ?? {
            head,
            site,
            offset: rec.offset,
            wafer: wafer?.id,
            waferStart: wafer?.start,
            results: [],
          };
          if (!open.has(head * 256 + site)) {
            warnFile(`${at(rec.offset)}: PRR for head ${head} site ${site} without its PIR`);
          }
          open.delete(head * 256 + site);
          const report = buildPart(input, params, lot!, part, f, index++, pending, at(rec.offset));
          pending = [];
          yield report;
          break;
        }
        default:
          if (!RECORD_NAMES.has(key) && !unknownTypes.has(key)) {
            unknownTypes.add(key);
            warnFile(
              `${at(rec.offset)}: record type ${rec.typ}/${rec.sub} is not in STDF V4; skipped ` +
                "(and any more of it)",
            );
          }
      }
    }
  } catch (e) {
    if (e instanceof StdfSyntaxError) {
      throw new ConversionError(
        `${at(e.offset)}: ${e.message}`,
        gz || stdfByteOrder(input.bytes) !== undefined
          ? "The STDF file is damaged or incomplete: convert it again once the tester has " +
            "finished writing it."
          : "This is not an STDF V4 file; check the converter's format setting.",
      );
    }
    if (e instanceof GzipError) {
      throw new ConversionError(
        `${file}: ${e.message}`,
        e.overLimit
          ? 'Raise the converter parameter "maxInflatedMb" if files this large are expected.'
          : "The .gz file is damaged or still being written; check the file.",
      );
    }
    throw e;
  }
  if (!ended) {
    throw new ConversionError(
      `${file}: the file ends before its MRR (Master Results Record): it stops early` +
        (index > 0 ? ` after ${index} part(s)` : ""),
      "The tester has not finished the lot (or the copy is incomplete); convert the file " +
        "again once it is complete.",
    );
  }
  for (const part of open.values()) {
    pending.push(
      `${at(part.offset)}: the part at head ${part.head} site ${part.site} has no PRR; left out`,
    );
  }
  if (index === 0) {
    throw new ConversionError(
      `${file}: the file holds no part (no PIR/PRR records)` +
        (pending.length > 0 ? `; ${pending.join("; ")}` : ""),
      "Check that the tester wrote part results into this file.",
    );
  }
  // Warnings after the last part have no report left to go with: they go to the log.
  for (const w of pending) input.warn?.(w);
}

function readMir(f: Fields): Lot {
  const setupT = f.u4();
  const startT = f.u4();
  f.u1(); // STAT_NUM
  f.c1(); // MODE_COD
  f.c1(); // RTST_COD
  f.c1(); // PROT_COD
  f.u2(); // BURN_TIM
  f.c1(); // CMOD_COD
  const s = () => (f.cn() ?? "").trim();
  const lot: Lot = {
    setupT: setupT || undefined,
    startT: startT || undefined,
    lotId: s(),
    partType: s(),
    nodeName: s(),
    testerType: s(),
    jobName: s(),
    jobRev: s(),
    sublot: s(),
    operator: s(),
    execType: s(),
    execVer: s(),
    testCode: s(),
    temperature: s(),
    facility: "",
    flow: "",
    designRev: "",
    testerSerial: "",
  };
  s(); // USER_TXT
  s(); // AUX_FILE
  s(); // PKG_TYP
  s(); // FAMLY_ID
  s(); // DATE_COD
  lot.facility = s();
  s(); // FLOOR_ID
  s(); // PROC_ID
  s(); // OPER_FRQ
  s(); // SPEC_NAM
  s(); // SPEC_VER
  lot.flow = s();
  s(); // SETUP_ID
  lot.designRev = s();
  s(); // ENG_ID
  s(); // ROM_COD
  lot.testerSerial = s();
  return lot;
}

/** PART_FLG → result: bit 2 abnormal end T, bit 4 no pass/fail indication E, bit 3 F, else P. */
function partResult(flag: number | undefined): "P" | "F" | "E" | "T" {
  if (flag === undefined) return "E";
  if (flag & 0x04) return "T";
  if (flag & 0x10) return "E";
  return flag & 0x08 ? "F" : "P";
}

function buildPart(
  input: ConvertInput,
  params: Params,
  lot: Lot,
  part: Part,
  f: Fields,
  index: number,
  warnings: string[],
  where: string,
): WsjfReport {
  const flag = f.u1();
  f.u2(); // NUM_TEST
  const hardBin = f.u2();
  const softBin = f.u2();
  const x = f.i2();
  const y = f.i2();
  const testT = f.u4();
  const partId = (f.cn() ?? "").trim();
  const partText = (f.cn() ?? "").trim();
  const coords = x !== undefined && y !== undefined && x !== NO_COORD && y !== NO_COORD;
  // Lot, sublot and wafer; a wafer id that already names the lot stands for all three.
  const scope = part.wafer && lot.lotId && part.wafer.includes(lot.lotId)
    ? [part.wafer]
    : [lot.lotId, lot.sublot, part.wafer ? `W${part.wafer}` : ""].filter((s) => s);
  const sn = partId !== "" && params.serialFormat === "partId" ? partId : [
    ...scope,
    partId !== "" ? partId : coords ? `X${x}Y${y}` : `H${part.head}S${part.site}#${index + 1}`,
  ].join("-");
  const startT = part.waferStart ?? lot.startT ?? lot.setupT;
  if (startT === undefined) {
    throw new ConversionError(
      `${where}: no start time for the part (MIR START_T and SETUP_T are 0)`,
      "Check that the tester fills in the MIR.",
    );
  }
  const rb = new ReportBuilder(input, params, {
    sn,
    pn: lot.partType || undefined,
    rev: lot.designRev || undefined,
    start: new Date(startT * 1000),
    result: partResult(flag),
    operator: lot.operator || undefined,
    machineName: lot.nodeName || undefined,
    batchSN: lot.lotId || undefined,
    execTime: testT ? testT / 1000 : undefined,
    testSocketIndex: part.site,
    unitIndex: index,
    sequence: { name: lot.jobName || undefined, version: lot.jobRev || undefined },
  });
  if (flag === undefined) rb.warn(`${where}: the PRR has no PART_FLG; reported as Error`);
  const misc: Array<[string, string | number | undefined]> = [
    ["Part ID", partId || undefined],
    ["Head", part.head],
    ["Site", part.site],
    ["Hard bin", hardBin],
    ["Soft bin", softBin === 65535 ? undefined : softBin],
    ["X", coords ? x : undefined],
    ["Y", coords ? y : undefined],
    ["Wafer", part.wafer || undefined],
    ["Sublot", lot.sublot || undefined],
    ["Part text", partText || undefined],
    ["Retest", flag !== undefined && flag & 0x03 ? "yes" : undefined],
    ["Tester type", lot.testerType || undefined],
    ["Tester serial", lot.testerSerial || undefined],
    ["Test program", lot.execType ? `${lot.execType} ${lot.execVer}`.trim() : undefined],
    ["Test code", lot.testCode || undefined],
    ["Test temperature", lot.temperature || undefined],
    ["Facility", lot.facility || undefined],
    ["Flow", lot.flow || undefined],
  ];
  for (const [k, v] of misc) if (v !== undefined) rb.misc(k, v);
  for (const w of warnings) rb.warn(w);
  for (const r of part.results) {
    if (r.kind === "numeric") {
      if (r.meas.length === 1) rb.root.numeric(r.name, r.meas[0], { status: r.status });
      else rb.root.multiNumeric(r.name, r.meas, { status: r.status });
    } else if (r.kind === "passFail") {
      rb.root.passFail(r.name, { status: r.status === "S" ? "S" : r.status === "P" ? "P" : "F" }, {
        status: r.status,
        reportText: r.text,
      });
    } else {
      rb.root.action("Datalog text", { reportText: r.text });
    }
  }
  return rb.build();
}
