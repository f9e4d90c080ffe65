/**
 * Keysight (Agilent/HP) 3070 / i3070 in-circuit test logs ("log record format",
 * docs/converters.md, `i3070`): `{@BATCH|…{@BTEST|…{@BLOCK|…{@A-RES|…{@LIM2|…}}}…}}`.
 *
 * **What it reads.** One file holds one board, or a panel as several complete logs in a row
 * (the next `{@BATCH` may start on the line that closes the board before it). Records are
 * read by braces, not lines, except the measurement records ({@link LINE_RECORDS}), which never
 * span lines: one still open at the end of its line (a log writer that cuts lines at 80
 * columns) is closed there, and a limit cut mid-number is dropped, with a warning. BATCH with 13
 * or 14 fields and BTEST with 12 or 13 are both fine; records it does not know (custom ones
 * such as `{@MySW_Version:OK|OK`) are skipped with everything nested inside them, with a warning.
 *
 * **One report per BTEST (board)**, ids from (file, board index), so a panel of four boards
 * gives the same four ids on every conversion.
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` | BTEST board id |
 * | `pn` | BATCH UUT type (param `partNumberFrom: "versionLabel"` → BATCH version label) |
 * | `rev` | BATCH UUT type rev, else testplan rev |
 * | `machineName` | BATCH controller |
 * | `uut.user` | BATCH operator id |
 * | `uut.fixtureId` | BATCH fixture id |
 * | `start` / `uut.execTime` | BTEST start (`yyMMddHHmmss`, station time zone) / duration (s) |
 * | `result` | BTEST status: 00 P; 80 E; 81/82 (aborted) T; 13 (X'd out) no report, or T with `xOutBoards: "terminated"`; other F. `uut.errorCode`/`errorMessage` = status and its meaning |
 * | `uut.testSocketIndex` / `uut.batchSN` | BTEST board number / parent panel id |
 * | root `seqCall` | testplan id and testplan rev |
 * | misc infos | testhead number and type, process step, batch id, parent panel type/rev, version label, status qualifier, end time |
 *
 * Steps: one SequenceCall per test type (the record type of a block's first test: A-RES,
 * A-CAP, D-T, TJET, TS, PF…), in order of first appearance; in it one step per BLOCK (or per
 * stand-alone test record), named by its designator without the board prefix (`3%u5%piny17g`
 * → `u5/piny17g`). A block of analog tests is a numeric step (several, e.g. named A-MEA
 * sub-measurements, → a multi-numeric step); a block that mixes analog and digital tests is a
 * sequence of steps. Limits: `{@LIM2|high|low}` and `{@LIM3|nominal|high|low}` → GELE(low,
 * high), the nominal in the step's report text; no limit → LOG. Units from the record type
 * (base SI units as the tester writes them: Ω, F, H, V; A-MEA none). D-T, TJET, TS, PF, BS-CON,
 * CCHK, PCHK, PRB, ARRAY and D-PLD records are pass/fail steps with their counts and detail
 * records (`TS-S`, `TS-D`, `TS-O`, `BS-O`, `PIN`, `INDICT`…) in the report text. `{@RPT|…}`
 * lines (the printed failure report) become the report text of a final "Failure report"
 * step. `{@NOTE|name|text}` → misc info. Verdicts are the tester's (import mode).
 * The records are read in i3070/records.ts, the tests made steps in i3070/steps.ts.
 *
 * Params (besides the shared ones in params.ts): `partNumberFrom` (`"uutType"` default, or
 * `"versionLabel"`), `xOutBoards` (`"skip"` default, or `"terminated"`; an X'd-out board
 * without a board id is left out either way).
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseInteger } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import { decodeText, headText } from "../text.ts";
import { parseDatePattern } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { type I3070Record, I3070SyntaxError, parseI3070Records } from "./i3070/records.ts";
import {
  addBlock,
  addTest,
  ANALOG_UNITS,
  cap,
  type Cx,
  designatorName,
  isTest,
} from "./i3070/steps.ts";

const paramsSchema = converterParams({
  partNumberFrom: z.enum(["uutType", "versionLabel"]).default("uutType").describe(
    '`"versionLabel"` takes the part number from BATCH field 14 (Virinco\'s choice); `"uutType"` ' +
      "from field 1.",
  ),
  xOutBoards: z.enum(["skip", "terminated"]).default("skip").describe(
    'Boards the tester X\'d out (status 13): leave them out, or `"terminated"` reports them as ' +
      "Terminated.",
  ),
});

type Params = z.output<typeof paramsSchema>;

/** BTEST status codes (Keysight log record format). */
const BOARD_STATUS: Readonly<Record<number, string>> = {
  0: "passed",
  1: "failed (uncategorised)",
  2: "failed pin test",
  3: "failed in learn mode",
  4: "failed shorts test",
  6: "failed analog test",
  7: "failed power supply test",
  8: "failed digital or boundary scan test",
  9: "failed functional test",
  10: "failed pre-shorts test",
  11: "failed in board handler",
  12: "failed barcode",
  13: "X'd out (bad board skipped)",
  14: "failed TestJet/VTEP",
  15: "failed polarity check",
  16: "failed ConnectCheck",
  17: "failed analog cluster test",
  80: "runtime error",
  81: "aborted (STOP)",
  82: "aborted (BREAK)",
};

/** Records that never span lines: one still open at the end of its line is closed there. */
const LINE_RECORDS: ReadonlySet<string> = new Set([
  ...Object.keys(ANALOG_UNITS),
  "LIM2",
  "LIM3",
  "RPT",
  "NOTE",
]);

/** Board-level records that carry no test result (the tester's own), skipped quietly. */
const NO_RESULT: ReadonlySet<string> = new Set(["ALM", "RETEST", "NODE", "PIN", "INDICT"]);

/** One board: its BATCH and BTEST and the test records that belong to it. */
interface Board {
  batch: I3070Record;
  btest: I3070Record;
  tests: I3070Record[];
}

export const converter: Converter = {
  name: "i3070",
  params: paramsSchema,
  description: "Keysight/Agilent 3070 (i3070) ICT log record format ({@BATCH|…{@BTEST|…), panels",
  pattern: "*",
  detect({ head }) {
    const t = headText(head).trimStart();
    if (t.startsWith("{@BATCH|")) return t.includes("{@BTEST|") ? 1 : 0.9;
    if (t.startsWith("{@BTEST|")) return 0.7;
    return 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "i3070");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    let records: I3070Record[];
    try {
      records = parseI3070Records(text, LINE_RECORDS);
    } catch (e) {
      if (e instanceof I3070SyntaxError) {
        throw new ConversionError(
          `${input.name}: line ${e.line}: ${e.message}`,
          text.trimStart().startsWith("{@")
            ? "The i3070 log is damaged or incomplete; check the file the tester wrote (or " +
              "whether it was copied before the tester finished writing it)."
            : `This is not a Keysight i3070 log (it does not start with "{@BATCH|"); check the ` +
              "converter's format setting.",
        );
      }
      throw e;
    }
    const boards = collectBoards(records, input.name);
    const reports: WsjfReport[] = [];
    boards.forEach((board, index) => {
      const report = buildBoard(board, index, input, params);
      if (report !== undefined) reports.push(report);
    });
    return reports;
  },
};

/** Groups the record tree into boards (BTEST records with their BATCH and tests). */
function collectBoards(records: I3070Record[], file: string): Board[] {
  const boards: Board[] = [];
  let batch: I3070Record | undefined;
  const visit = (list: I3070Record[]) => {
    for (const r of list) {
      if (r.name === "BATCH") {
        batch = r;
        visit(r.children);
      } else if (r.name === "BTEST") {
        if (batch === undefined) {
          throw new ConversionError(
            `${file}: line ${r.line}: {@BTEST comes before any {@BATCH record`,
            "An i3070 log starts with {@BATCH|…; check that the file is complete.",
          );
        }
        boards.push({ batch, btest: r, tests: [...r.children] });
      } else if (boards.length > 0) {
        // A test record after a BTEST that was closed early still belongs to that board.
        boards[boards.length - 1].tests.push(r);
      }
    }
  };
  visit(records);
  if (boards.length === 0) {
    throw new ConversionError(
      `${file}: no {@BTEST record: the log holds no board`,
      "Check that the tester finished the board before the log was written.",
    );
  }
  return boards;
}

function buildBoard(
  board: Board,
  index: number,
  input: ConvertInput,
  params: Params,
): WsjfReport | undefined {
  const b = board.batch.fields;
  const t = board.btest.fields;
  const at = (line: number, what: string) => `${input.name}: line ${line}: ${what}`;
  const sn = t[0] ?? "";
  const status = parseInteger(t[1] ?? "");
  if (status === undefined || Number.isNaN(status)) {
    throw new ConversionError(
      at(board.btest.line, `BTEST test status (field 2) "${t[1] ?? ""}" is not a number`),
      "Check that the file is an unmodified i3070 log.",
    );
  }
  // X'd-out boards often have no board id: without one they can't be reported either way.
  if (status === 13 && (params.xOutBoards === "skip" || sn === "")) return undefined;
  if (sn === "") {
    throw new ConversionError(
      at(board.btest.line, "BTEST board id (field 1) is empty"),
      "Configure the tester to log a board id (barcode) for every board.",
    );
  }
  const start = parseDatePattern(t[2] ?? "", "yyMMddHHmmss");
  if (start === null) {
    throw new ConversionError(
      at(board.btest.line, `BTEST start time (field 3) "${t[2] ?? ""}" is not yyMMddHHmmss`),
      "Check that the file is an unmodified i3070 log.",
    );
  }
  const duration = parseInteger(t[3] ?? "");
  const boardNo = parseInteger(t[11] ?? "");
  const result = status === 0
    ? "P"
    : status === 80
    ? "E"
    : status === 81 || status === 82 || status === 13
    ? "T"
    : "F";
  const field = (f: string[], i: number) => (f[i] ?? "").trim() || undefined;

  const rb = new ReportBuilder(input, params, {
    sn,
    pn: params.partNumberFrom === "versionLabel" ? field(b, 13) : field(b, 0),
    rev: field(b, 1) ?? field(b, 10),
    start,
    result,
    operator: field(b, 7),
    machineName: field(b, 8),
    fixtureId: field(b, 2),
    execTime: duration !== undefined && !Number.isNaN(duration) ? duration : undefined,
    testSocketIndex: boardNo !== undefined && !Number.isNaN(boardNo) ? boardNo : undefined,
    batchSN: field(t, 12),
    errorCode: status === 0 ? undefined : status,
    errorMessage: status === 0 ? undefined : BOARD_STATUS[status] ?? `test status ${status}`,
    unitIndex: index,
    sequence: { name: field(b, 9), version: field(b, 10) },
  });
  const misc: Array<[string, string | undefined]> = [
    ["Testhead number", field(b, 3)],
    ["Testhead type", field(b, 4)],
    ["Process step", field(b, 5)],
    ["Batch id", field(b, 6)],
    ["Parent panel type", field(b, 11)],
    ["Parent panel type rev", field(b, 12)],
    ["Version label", field(b, 13)],
    ["Status qualifier", field(t, 10)],
    ["End time", field(t, 9)],
  ];
  for (const [k, v] of misc) if (v !== undefined) rb.misc(k, v);
  const cx: Cx = { file: input.name, warn: (line, what) => rb.warn(`line ${line}: ${what}`) };
  if (status === 13) rb.misc("X-out", "the tester X'd out this board; it was not tested");

  const groups = new Map<string, SequenceBuilder>();
  const group = (type: string) => {
    let g = groups.get(type);
    if (g === undefined) {
      g = rb.root.sequence(type);
      groups.set(type, g);
    }
    return g;
  };
  const report: string[] = [];
  const unknown = new Map<string, { line: number; count: number }>();
  for (const r of board.tests) {
    if (r.name === "BLOCK") {
      const type = r.children.find((c) => isTest(c.name))?.name ?? "BLOCK";
      addBlock(group(type), r, report, cx);
    } else if (isTest(r.name)) {
      addTest(group(r.name), r, designatorName(r, r.name), report, cx);
    } else if (r.name === "RPT") {
      report.push(r.fields.join("|"));
    } else if (r.name === "NOTE") {
      rb.misc(r.fields[0] || "Note", r.fields.slice(1).join("|"));
    } else if (!NO_RESULT.has(r.name)) {
      // Custom user records ({@MySW_Version:OK|OK) and records of newer software.
      const u = unknown.get(r.name);
      if (u === undefined) unknown.set(r.name, { line: r.line, count: 1 });
      else u.count++;
    }
  }
  for (const [name, u] of unknown) {
    cx.warn(
      u.line,
      `unknown record {@${name} skipped, with what is nested in it` +
        (u.count > 1 ? ` (${u.count} such records in this board)` : ""),
    );
  }
  if (report.length > 0) {
    rb.root.action("Failure report", { reportText: cap(report.join("\n")) });
  }
  return rb.build();
}
