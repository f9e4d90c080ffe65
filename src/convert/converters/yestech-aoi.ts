/**
 * `yestech-aoi`: YESTech (Nordson) AOI test reports, the `.YES_TESTRPT_FMT3` text format
 * (docs/converters.md, `yestech-aoi`). One file per board:
 *
 * ```text
 * .YES_TESTRPT_FMT3
 * Version=   5
 * SerialNum= V1025…
 * Recipe=<TAB>  C:\AOI_DATA64\Recipe\Board bot.rcp64
 * Side=      Top
 * LoginUser= a
 * WorkOrder= E1234
 * DateTime=  03/26/25 15:14:58
 * PanelizedBoardID=   2
 * BoardsPerPanel= 2
 * MachineID= AOI-4330
 * TestStatus= PASS
 * [DefectList]
 * GRID_B6 Solder  DCode=17 False Call
 * [EndDefectList]
 * [FilmThicknessMeasurement]
 * [EndFilmThicknessMeasurement]
 * ```
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` | `SerialNum` |
 * | `pn` | the recipe name (file name of `Recipe` without folder and extension; param `partNumberFrom: "parameter"` → only the `partNumber` parameter) |
 * | `result` | `TestStatus` (PASS/FAIL; other words through `statusWords`, else an error) |
 * | `start` | `DateTime` (`MM/dd/yy HH:mm:ss`; `dateOrder: "dmy"` for day first; station time zone) |
 * | `uut.user` | `LoginUser` |
 * | `machineName` | `MachineID` |
 * | `uut.testSocketIndex` | `PanelizedBoardID`: the board's position in the panel |
 * | root `seqCall` | recipe name, path = the `Recipe` path |
 * | misc infos | Side, Work order, Boards per panel, YESTech report format and version |
 *
 * Keys: `Key=value` with any padding (spaces or tabs) after the `=`. `[DefectList]` …
 * `[EndDefectList]` rows `<component> <defect type> DCode=<code> <disposition>` are defect
 * calls (`aoi/calls.ts`): a step named by the component, value the defect type, the defect
 * code in the report text; disposition "False Call" → P, a real-defect word (Defect,
 * Confirmed, Repaired, FAIL…) or none (not reviewed) → F; other words through `statusWords`,
 * else an error. The list may be missing (no calls). Other `[Section]` … `[EndSection]`
 * blocks are skipped, with a warning when they have content.
 *
 * Refused: a first line that is not `.YES_TESTRPT_FMT<n>`, a header line without `=`, no
 * `SerialNum`, `DateTime` or `TestStatus`, an unreadable date, an unknown verdict, a defect
 * row without `DCode=`, a `[DefectList]` that is not closed (a file cut off). Unknown keys are
 * skipped with a warning.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseInteger } from "../number.ts";
import { converterParams, parseParams, statusWordsParam } from "../params.ts";
import { clip, decodeText, headText, splitLines } from "../text.ts";
import { parseLooseDateTime } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { addCalls, type DefectCall } from "./aoi/calls.ts";
import { AoiVerdicts } from "./aoi/verdict.ts";

const paramsSchema = converterParams({
  partNumberFrom: z.enum(["recipe", "parameter"]).default("recipe").describe(
    '`"parameter"`: the pn is the `partNumber` parameter instead of the recipe name.',
  ),
  dateOrder: z.enum(["mdy", "dmy"]).default("mdy").describe('`"dmy"` for day-first dates.'),
  statusWords: statusWordsParam.describe("Extra verdict/disposition words → `P F D S E T U`."),
});

type YestechParams = z.output<typeof paramsSchema>;

const MAGIC_RE = /^\.YES_TESTRPT_FMT(\d+)\s*$/i;

/** Header keys the converter knows (lower case). */
const KEYS: ReadonlySet<string> = new Set([
  "version",
  "serialnum",
  "recipe",
  "side",
  "loginuser",
  "workorder",
  "datetime",
  "panelizedboardid",
  "boardsperpanel",
  "machineid",
  "teststatus",
]);

const DCODE_RE = /\bDCode\s*=/i;

/** The YESTech AOI converter. */
export const converter: Converter = {
  name: "yestech-aoi",
  params: paramsSchema,
  description: "YESTech (Nordson) AOI test report (.YES_TESTRPT_FMT3 key=value text); one " +
    "report per board, defect and false calls as steps",
  pattern: "*.txt",
  detect({ head }) {
    const first = headText(head).replace(/^\uFEFF/, "").trimStart().split(/\r\n|\n|\r/, 1)[0];
    const m = MAGIC_RE.exec(first);
    if (m === null) return 0;
    return m[1] === "3" ? 0.95 : 0.8;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "yestech-aoi");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    return [convertReport(input, params, splitLines(text))];
  },
};

interface Section {
  name: string;
  line: number;
  rows: { n: number; text: string }[];
  closed: boolean;
}

function convertReport(input: ConvertInput, params: YestechParams, lines: string[]): WsjfReport {
  const file = input.name;
  let i = 0;
  while (i < lines.length && lines[i].trim() === "") i++;
  const magic = MAGIC_RE.exec((lines[i] ?? "").replace(/^\uFEFF/, "").trim());
  if (magic === null) {
    throw new ConversionError(
      `${file} is not a YESTech test report: line ${i + 1} is "${clip(lines[i] ?? "")}", ` +
        "expected .YES_TESTRPT_FMT3",
      "Check the converter's format setting for this folder.",
    );
  }
  const header = new Map<string, { value: string; n: number }>();
  const warnings: string[] = [];
  const sections: Section[] = [];
  let section: Section | undefined;
  for (i++; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i].trim();
    if (line === "") continue;
    const tag = /^\[([^\]]*)\]$/.exec(line);
    if (tag !== null) {
      const name = tag[1].trim();
      if (section !== undefined && name.toLowerCase() === `end${section.name.toLowerCase()}`) {
        section.closed = true;
        section = undefined;
      } else if (section !== undefined) {
        throw new ConversionError(
          `${file}: line ${n}: [${clip(name)}] inside [${section.name}] (line ${section.line}), ` +
            `which has no [End${section.name}]`,
          "The file is damaged or cut off; check that the AOI finished writing it.",
        );
      } else if (/^end/i.test(name)) {
        throw new ConversionError(
          `${file}: line ${n}: [${clip(name)}] closes a section that was not opened`,
          "The file is damaged; check that the AOI wrote it completely.",
        );
      } else {
        section = { name, line: n, rows: [], closed: false };
        sections.push(section);
      }
      continue;
    }
    if (section !== undefined) {
      section.rows.push({ n, text: line });
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new ConversionError(
        `${file}: line ${n}: "${clip(line)}" is not a Key=value header line`,
        "The file is damaged, or not a YESTech test report.",
      );
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const k = key.toLowerCase();
    if (!KEYS.has(k)) {
      warnings.push(`line ${n}: unknown key "${clip(key)}" skipped`);
      continue;
    }
    if (header.has(k)) warnings.push(`line ${n}: ${key} given again; the later value is used`);
    header.set(k, { value, n });
  }
  if (section !== undefined) {
    throw new ConversionError(
      `${file}: [${section.name}] opened on line ${section.line} is not closed by ` +
        `[End${section.name}]`,
      "The file is cut off (still being written, or damaged); convert it again once the AOI " +
        "has finished it.",
    );
  }
  const get = (k: string) => header.get(k)?.value ?? "";
  const required = (k: string, label: string) => {
    const v = get(k);
    if (v === "") {
      throw new ConversionError(
        `${file}: no ${label}= value in the header`,
        "The file is damaged or cut off, or not a YESTech test report.",
      );
    }
    return v;
  };

  const verdicts = new AoiVerdicts(params.statusWords);
  const sn = required("serialnum", "SerialNum");
  const dateText = required("datetime", "DateTime");
  const start = parseLooseDateTime(dateText, params.dateOrder);
  if (start === null) {
    throw new ConversionError(
      `${file}: line ${header.get("datetime")!.n}: DateTime "${clip(dateText)}" is not a date ` +
        "and time",
      'Expected e.g. "03/26/25 15:14:58" (month first; set the parameter dateOrder to "dmy" ' +
        "for day first).",
    );
  }
  const statusText = required("teststatus", "TestStatus");
  const result = verdicts.verdict(
    statusText,
    "TestStatus",
    `${file}: line ${header.get("teststatus")!.n}`,
  );
  const recipePath = get("recipe");
  const recipe = recipePath.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, "").trim();
  const boardText = get("panelizedboardid");
  const board = boardText === "" ? undefined : parseInteger(boardText);
  if (board !== undefined && !(Number.isInteger(board) && board >= 0)) {
    warnings.push(
      `line ${header.get("panelizedboardid")!.n}: PanelizedBoardID "${clip(boardText)}" is not ` +
        "a board number; left out",
    );
  }

  const rb = new ReportBuilder(input, params, {
    sn,
    pn: params.partNumberFrom === "recipe" && recipe !== "" ? recipe : undefined,
    start,
    result,
    operator: get("loginuser") || undefined,
    machineName: get("machineid") || undefined,
    testSocketIndex: board !== undefined && Number.isInteger(board) && board >= 0
      ? board
      : undefined,
    sequence: { name: recipe || undefined, path: recipePath || undefined },
  });
  for (
    const [k, label] of [["side", "Side"], ["workorder", "Work order"], [
      "boardsperpanel",
      "Boards per panel",
    ]]
  ) {
    if (get(k) !== "") rb.misc(label, get(k));
  }
  rb.misc(
    "YESTech report format",
    `FMT${magic[1]}${get("version") ? ` version ${get("version")}` : ""}`,
  );

  const calls: DefectCall[] = [];
  for (const s of sections) {
    if (s.name.toLowerCase() !== "defectlist") {
      if (s.rows.length > 0) {
        const count = s.rows.length === 1 ? "1 line" : `${s.rows.length} lines`;
        warnings.push(`line ${s.line}: section [${clip(s.name)}] (${count}) skipped`);
      }
      continue;
    }
    for (const row of s.rows) calls.push(defectCall(row, verdicts, file));
  }
  for (const w of warnings) rb.warn(w);
  addCalls(rb.root, calls);
  return rb.build();
}

function defectCall(
  row: { n: number; text: string },
  verdicts: AoiVerdicts,
  file: string,
): DefectCall {
  // Split by index, not one regex: lazy groups backtrack quadratically on long lines.
  const m = DCODE_RE.exec(row.text);
  if (m === null) {
    throw new ConversionError(
      `${file}: line ${row.n}: defect row "${clip(row.text)}" is not ` +
        "<component> <type> DCode=<code> <disposition>",
      "The file is damaged, or a YESTech format this converter does not know.",
    );
  }
  const [component, type] = splitWord(row.text.slice(0, m.index));
  const [code, disposition] = splitWord(row.text.slice(m.index + m[0].length));
  if (component === "") {
    throw new ConversionError(
      `${file}: line ${row.n}: defect row "${clip(row.text)}" names no component`,
      "The file is damaged, or a YESTech format this converter does not know.",
    );
  }
  const status = disposition === ""
    ? "F"
    : verdicts.disposition(disposition, "defect disposition", `${file}: line ${row.n}`);
  return {
    component,
    defectType: type || undefined,
    status,
    details: [["Defect code", code], ["Disposition", disposition || "not reviewed"]],
  };
}

/** The first whitespace-separated word of `text` and the rest, both trimmed. */
function splitWord(text: string): [string, string] {
  const t = text.trim();
  const at = t.search(/\s/);
  return at < 0 ? [t, ""] : [t.slice(0, at), t.slice(at).trim()];
}
