/**
 * `teradyne-gr228x`: Teradyne (GenRad) GR228x ICT datalogs (docs/converters.md, `teradyne-gr228x`). One file
 * holds every board tested since the log was opened and grows while the tester runs (append
 * mode): each board's report id comes from the board's own lines, so converting the grown file
 * again gives the earlier boards the same ids (the server overwrites instead of duplicating).
 *
 * Records (one per line; CRLF or LF):
 * - `<path>\<program>.obc[DD-MMM-YY  HH:MM:SS`: program start (sequence name and path);
 * - `@DD-MMM-YY  HH:MM:SS SN <serial>`: board start;
 * - end marker + time: `"` passed, `/` failed, `?` aborted, `!` cancelled (both Terminated),
 *   `*` error, `&` system error (both Error); `]` (return to diagnose) is ignored;
 * - `(S`/`(O`/`(B`/`(C`/`(F` + node list: shorts/opens/bus/scratch-probe/fixture-contact failure
 *   (a trailing ` +` continues the list on the next line) → a failed pass/fail step with the
 *   nodes as report text;
 * - `<ref><op><value><prefix>(<low><prefix>,<high><prefix>)<type>`: a measurement. `op` `=`
 *   passed, `#` informational (logged, status Done), anything else failed. Prefixes `P N U M K
 *   MEG` (**M is milli, MEG mega**) are applied so value and limits are in base units; the type
 *   code gives the unit where it implies one (R/RP/RS/XP/XS/ZM Ω, CP/CS F, LP/LS H,
 *   DC/AC/V/AV V, I/AI A, HZ Hz, S s). No value → a pass/fail step (`#` lines without a value
 *   carry nothing and are left out). Steps are grouped like Virinco's converter: a new sequence
 *   `R-Group1`, `C-Group1`, … whenever the first letter of the reference changes;
 * - `WATS_partNumber=`, `WATS_partRevision=`, `WATS_sequenceName=`, `WATS_sequenceVersion=`,
 *   `WATS_operator=`, `WATS_stationName=`: values printed by the test program;
 * - `TOP_OF_LOOP-A` … `-H`: panel position → `uut.testSocketIndex` 0 … 7.
 *
 * A board whose end marker is missing but that is followed by another board is reported as
 * Terminated (noted in misc info); the last board of the file without an end marker is still
 * being tested and is left for the next conversion. A board that only failed fixture contact
 * (aborted, no measurements) is reported (Terminated) instead of being dropped.
 *
 * Header: `sn` from `@`; `start` from `@` (station time zone); `uut.execTime` = end − start;
 * `pn` = `WATS_partNumber`, else the `partNumber` parameter, else the program file name up to
 * its first `_` (`43420_BIO2.obc` → `43420`); sequence = program name and path.
 *
 * Parameters: the shared ones (params.ts); `processCode` defaults to 30 (ICT);
 * `partNumberFromProgram` (default true) turns the program-name fallback off when false.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { sha256Hex } from "../ids.ts";
import { parseScaled } from "../number.ts";
import { converterParams, parseParams, processCodeParam } from "../params.ts";
import { clip, decodeText, headText, splitLines } from "../text.ts";
import { type NaiveDateTime, parseDatePattern, zonedToEpoch } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";

const paramsSchema = converterParams({
  processCode: processCodeParam(30),
  partNumberFromProgram: z.boolean().default(true).describe(
    "`false`: never take the part number from the program name.",
  ),
});

type Gr228xParams = z.output<typeof paramsSchema>;

const DATE = String.raw`(\d{1,2}-[A-Za-z]{3}-\d{2}\s+\d{1,2}:\d{2}:\d{2})`;
const PROGRAM_DATE_RE = new RegExp(`^${DATE}`);
const BOARD_RE = new RegExp(`^@${DATE}\\s+SN\\s*(.*)$`);
const END_RE = new RegExp(`^([?"/*&!\\]])${DATE}\\s*$`);
const FAILURE_RE = /^\(([SOBCF])\s*(.*)$/;
const WATS_RE =
  /^WATS_(partNumber|partRevision|sequenceName|sequenceVersion|operator|stationName)=(.*)$/i;
const PANEL_RE = /TOP_OF_LOOP-([A-H])\b/;
/** A continuation line of a failure node list: node names/numbers, commas, maybe ` +`. */
const NODES_RE = /^[\w\s,.+/-]+$/;
// Unambiguous (no nested optional digit runs), so matching a long line stays linear.
const NUM = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?`;
/** Lines longer than this are not records of this format (and never reach a regex). */
const MAX_LINE = 4096;
const PREFIX = "(MEG|[PNUMKG])?";
const MEAS_RE = new RegExp(
  String
    .raw`^([^\s=<>#%(]+)([=<>#%])(${NUM})?${PREFIX}(?:\((${NUM})?${PREFIX},(${NUM})?${PREFIX}\))?([A-Z]*)\s*(.*)$`,
  "i",
);

const FAILURES: Readonly<Record<string, string>> = {
  S: "SHORTS test",
  O: "OPENS test",
  B: "BUSTEST",
  C: "SCRATCHPROBING contact",
  F: "CONTACT fixture",
};

const END_RESULTS: Readonly<Record<string, string>> = {
  '"': "P",
  "/": "F",
  "?": "T",
  "!": "T",
  "*": "E",
  "&": "E",
};

const PREFIX_EXP: Readonly<Record<string, number>> = {
  P: -12,
  N: -9,
  U: -6,
  M: -3,
  "": 0,
  K: 3,
  MEG: 6,
  G: 9,
};

const TYPE_UNITS: Readonly<Record<string, string>> = {
  R: "Ω",
  RP: "Ω",
  RS: "Ω",
  XP: "Ω",
  XS: "Ω",
  ZM: "Ω",
  CP: "F",
  CS: "F",
  LP: "H",
  LS: "H",
  DC: "V",
  AC: "V",
  V: "V",
  AV: "V",
  I: "A",
  AI: "A",
  HZ: "Hz",
  S: "s",
};

/** `<path>\<name>.obc[DD-MMM-YY  HH:MM:SS` → path, name and time text, or null. */
function programLine(line: string): { path: string; name: string; time: string } | null {
  const at = line.toLowerCase().lastIndexOf(".obc[");
  if (at <= 0) return null;
  const date = PROGRAM_DATE_RE.exec(line.slice(at + 5));
  if (date === null) return null;
  const path = line.slice(0, at + 4);
  return { path, name: path.split(/[\\/]/).pop()!.slice(0, -4), time: date[1] };
}

/** One board as read from the log. */
interface Board {
  line: number;
  lines: string[];
  /** The line number of each of `lines`. */
  at: number[];
  sn: string;
  start: NaiveDateTime;
  end?: { result: string; time: NaiveDateTime; marker: string };
  program?: { name: string; path: string };
  /** Problems recovered from while reading this board's lines (see `ReportBuilder.warn`). */
  warnings: Array<{ line: number; text: string }>;
}

/** The GR228x converter. */
export const converter: Converter = {
  name: "teradyne-gr228x",
  params: paramsSchema,
  description: "Teradyne GR228x ICT datalog (append-mode .LOG, many boards per file)",
  pattern: "*.LOG",
  detect({ head }) {
    const lines = splitLines(headText(head)).filter((l) => l.trim() !== "").slice(0, 5);
    if (lines.some((l) => programLine(l) !== null)) return 0.9;
    if (lines.some((l) => BOARD_RE.test(l))) return 0.6;
    return 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "teradyne-gr228x");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const boards = readBoards(splitLines(text), input.name);
    const seen = new Map<string, number>();
    return boards.map((b, i) => {
      // Identical boards (same lines, same second) still get distinct ids, stable as the
      // file grows because only earlier boards are counted.
      const hash = sha256Hex([b.program?.path ?? "", ...b.lines].join("\n"));
      const n = seen.get(hash) ?? 0;
      seen.set(hash, n + 1);
      return buildBoard(input, params, b, i, `gr228x:${hash}:${n}`);
    });
  },
};

function parseTime(text: string, line: number, file: string): NaiveDateTime {
  const t = parseDatePattern(text, "dd-MMM-yy HH:mm:ss");
  if (t === null) {
    throw new ConversionError(
      `${file}: line ${line}: "${text}" is not a date (expected DD-MMM-YY HH:MM:SS)`,
      "Check that this is a GR228x datalog and that the line is complete.",
    );
  }
  return t;
}

/** Splits the log into boards; the last board without an end marker is left out. */
function readBoards(lines: string[], file: string): Board[] {
  const boards: Board[] = [];
  let program: Board["program"];
  let current: Board | undefined;
  let sawAnything = false;
  /** Warnings from lines outside any board: they go to the board that comes next. */
  let pending: Board["warnings"] = [];
  const warn = (line: number, text: string) => (current?.warnings ?? pending).push({ line, text });
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    const n = i + 1;
    if (line.trim() === "") return;
    if (line.length > MAX_LINE) {
      warn(n, `${line.length} characters, longer than any record; skipped`);
      return;
    }
    const prog = programLine(line);
    if (prog !== null) {
      sawAnything = true;
      program = { path: prog.path, name: prog.name };
      return;
    }
    const start = BOARD_RE.exec(line);
    if (start !== null) {
      sawAnything = true;
      if (current !== undefined) boards.push(current); // no end marker: reported Terminated
      current = {
        line: n,
        lines: [line],
        at: [n],
        sn: start[2].trim(),
        start: parseTime(start[1], n, file),
        program,
        warnings: pending,
      };
      pending = [];
      return;
    }
    const end = END_RE.exec(line);
    if (end !== null) {
      sawAnything = true;
      if (end[1] === "]") return; // return to diagnose: the board goes on
      if (current === undefined) {
        const last = boards[boards.length - 1];
        const text = "end marker without a board start; skipped";
        (last?.warnings ?? pending).push({ line: n, text });
        return;
      }
      current.lines.push(line);
      current.at.push(n);
      current.end = {
        marker: end[1],
        result: END_RESULTS[end[1]],
        time: parseTime(end[2], n, file),
      };
      boards.push(current);
      current = undefined;
      return;
    }
    if (current !== undefined) {
      current.lines.push(line);
      current.at.push(n);
    } else if (sawAnything) {
      warn(n, `line outside any board skipped: "${clip(line)}"`);
    }
  });
  if (!sawAnything) {
    const first = lines.find((l) => l.trim() !== "") ?? "";
    throw new ConversionError(
      `${file} is not a GR228x datalog: no program line (…\\name.obc[DD-MMM-YY HH:MM:SS) and ` +
        `no board line (@DD-MMM-YY HH:MM:SS SN …); first line is ${
          JSON.stringify(first.slice(0, 80))
        }`,
      "Check the converter's format setting for this folder.",
    );
  }
  return boards;
}

/** `<number><prefix>` → number in base units (exact decimal shift, no float drift). */
function scaled(num: string | undefined, prefix: string | undefined): number | undefined {
  if (num === undefined || num === "") return undefined;
  return parseScaled(num, PREFIX_EXP[(prefix ?? "").toUpperCase()] ?? 0);
}

function buildBoard(
  input: ConvertInput,
  params: Gr228xParams,
  b: Board,
  index: number,
  idSeed: string,
): WsjfReport {
  const wats: Record<string, string> = {};
  for (const l of b.lines) {
    const m = WATS_RE.exec(l);
    if (m !== null) wats[m[1].toLowerCase()] = m[2].trim();
  }
  const programPn = b.program?.name.split("_")[0];
  const usePrograms = params.partNumberFromProgram && params.partNumber === undefined;
  const startMs = zonedToEpoch(b.start, params.timeZone ?? input.station.timeZone);
  const endMs = b.end && zonedToEpoch(b.end.time, params.timeZone ?? input.station.timeZone);
  const rb = new ReportBuilder(input, params, {
    sn: b.sn,
    pn: wats.partnumber || (usePrograms ? programPn : undefined) || undefined,
    rev: wats.partrevision || undefined,
    start: b.start,
    result: b.end?.result ?? "T",
    operator: wats.operator || undefined,
    machineName: wats.stationname || undefined,
    execTime: endMs !== undefined && endMs >= startMs ? (endMs - startMs) / 1000 : undefined,
    sequence: {
      name: wats.sequencename || b.program?.name,
      version: wats.sequenceversion || undefined,
      path: b.program?.path,
    },
    unitIndex: index,
    idSeed,
  });
  if (b.end === undefined) rb.misc("End record", "missing: the next board started first");

  let seq: SequenceBuilder = rb.root;
  let letter = "";
  const groupCount = new Map<string, number>();
  const seqFor = (ref: string): SequenceBuilder => {
    const l = ref[0].toUpperCase();
    if (l !== letter) {
      const k = (groupCount.get(l) ?? 0) + 1;
      groupCount.set(l, k);
      seq = rb.root.sequence(`${l}-Group${k}`);
      letter = l;
    }
    return seq;
  };
  for (let i = 1; i < b.lines.length; i++) {
    const line = b.lines[i];
    if (END_RE.test(line) || WATS_RE.test(line)) continue;
    const panel = PANEL_RE.exec(line);
    if (panel !== null) {
      rb.header.testSocketIndex = panel[1].charCodeAt(0) - 65;
      rb.misc("Panel position", panel[1]);
      continue;
    }
    const fail = FAILURE_RE.exec(line);
    if (fail !== null) {
      let nodes = fail[2].trim();
      while (/\s\+$/.test(nodes) && i + 1 < b.lines.length && NODES_RE.test(b.lines[i + 1])) {
        nodes = `${nodes.replace(/\s*\+$/, "")},${b.lines[++i].trim()}`.replace(/,,+/g, ",");
      }
      nodes = nodes.replace(/\s*\+$/, "").replace(/,$/, "");
      rb.root.passFail(`${FAILURES[fail[1]]} failed`, { status: "F" }, {
        reportText: nodes === "" ? undefined : `Nodes: ${nodes}`,
      });
      letter = ""; // measurements after a failure summary start a new group
      continue;
    }
    const m = MEAS_RE.exec(line);
    if (m === null) {
      b.warnings.push({
        line: b.at[i],
        text: `not a record of this format, skipped: "${clip(line)}"`,
      });
      continue;
    }
    const [, ref, op, value, vPrefix, low, lPrefix, high, hPrefix, type, message] = m;
    const name = type === "" ? ref : `${ref}(${type})`;
    const status = op === "=" ? "P" : op === "#" ? "D" : "F";
    const opts = {
      status,
      reportText: message.trim() === "" ? undefined : message.trim().replace(/^=\s*/, ""),
    };
    if (value === undefined) {
      if (op === "#") continue; // an informational line without a value carries nothing
      seqFor(ref).passFail(name, { status: status === "P" ? "P" : "F" }, {
        ...opts,
        reportText: [
          low !== undefined || high !== undefined
            ? `Limits: ${low ?? ""}${lPrefix ?? ""} … ${high ?? ""}${hPrefix ?? ""}`
            : "",
          opts.reportText ?? "",
        ].filter((t) => t !== "").join("\n") || undefined,
      });
      continue;
    }
    seqFor(ref).numeric(name, {
      value: scaled(value, vPrefix),
      low: scaled(low, lPrefix),
      high: scaled(high, hPrefix),
      compOp: op === "#" ? "LOG" : undefined,
      unit: TYPE_UNITS[type.toUpperCase()],
      status: op === "#" ? undefined : status,
    }, opts);
  }
  b.warnings.sort((x, y) => x.line - y.line);
  for (const w of b.warnings) rb.warn(`line ${w.line}: ${w.text}`);
  return rb.build();
}
