/**
 * `xjtag`: XJTAG boundary-scan logs (docs/converters.md, `xjtag`): the XJRunner `.xjlog` archive (a
 * ZIP with `Info.xml` and `Run 1.xml` … `Run n.xml`, one report per run) and a single run
 * exported as XML (`<testrun datetime="…Z">`).
 *
 * Mapping: `sn` = `testruninfo/serial`; `start` = `testrun@datetime` (UTC in the file, sent as
 * local time of the station zone with its offset); `uut.user` = `user`; `uut.comment` =
 * `project-description`; `uut.execTime` = run `time-taken` / 1000; `machineName` =
 * `xjlink-name` when it is set (the `stationName` parameter overrides); `result` = run `result`
 * (Passed → P, Failed → F, aborted/stopped → T, error → E). Root sequence: the project file
 * from `Info.xml` (`ProjectPath`). Each `testgroup` → a sequence call, each `testfunction` → a
 * pass/fail step with its verdict (Passed/Failed/Skipped), its text output as report text and
 * `time-taken` as step time. XJLink serial and XJTAG version → misc infos. The file has no part
 * number or process: `partNumber` is required, `processCode` defaults to 210 (Virinco's).
 *
 * Parameters: the shared ones (params.ts), plus
 * - `processCode` (default 210);
 * - `maxArchiveMB` (default 256), `maxEntryMB` (default 64), `maxArchiveEntries` (default
 *   10,000): caps on the uncompressed bytes read from one archive and from one entry, and on the
 *   entries of one archive (guards against zip bombs; see zip.ts);
 * - `maxReportText` (default 4000): longest step report text kept (longer output is cut, with a
 *   note).
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { converterParams, parseParams, processCodeParam } from "../params.ts";
import { headText } from "../text.ts";
import {
  attr,
  child,
  childrenNamed,
  parseXmlBytes,
  textOf,
  type XmlElement,
  xmlRoot,
} from "../xml.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { parseStepStatus } from "../../wsjf/status_codes.ts";
import { isZip, ZipError, ZipLimitError, type ZipLimits, ZipReader } from "../zip.ts";

const paramsSchema = converterParams({
  processCode: processCodeParam(210, "Process code (Virinco's default for JTAG)."),
  maxArchiveMB: z.number().positive().max(4096).default(256).describe(
    "Cap on the uncompressed bytes read from one archive.",
  ),
  maxEntryMB: z.number().positive().max(4096).default(64).describe(
    "Cap on the uncompressed bytes of one archive entry.",
  ),
  maxArchiveEntries: z.number().int().min(1).max(65535).default(10_000).describe(
    "Cap on the entries of one archive.",
  ),
  maxReportText: z.number().int().min(100).default(4000).describe(
    "Longest step report text kept (longer output is cut, with a note).",
  ),
});

type XjtagParams = z.output<typeof paramsSchema>;

const RUN_ENTRY = /^(?:.*\/)?Run (\d+)\.xml$/i;

/** The XJTAG converter. */
export const converter: Converter = {
  name: "xjtag",
  params: paramsSchema,
  description: "XJTAG XJRunner boundary-scan log (.xjlog ZIP, or one run exported as XML)",
  pattern: "*.xjlog",
  detect({ head, name }) {
    if (isZip(head)) {
      const xjlogName = /\.xjlog$/i.test(name);
      // The local header names of the first entries are visible in the head.
      const entries = new TextDecoder("latin1").decode(head);
      const hasRun = /Run \d+\.xml|Info\.xml/.test(entries);
      return xjlogName && hasRun ? 0.95 : xjlogName || hasRun ? 0.7 : 0;
    }
    const root = xmlRoot(headText(head));
    if (root?.local === "testrun" && root.attrs["datetime"] !== undefined) return 0.9;
    return 0;
  },
  async convert(input: ConvertInput): Promise<WsjfReport[]> {
    const params = parseParams(input.params, paramsSchema, "xjtag");
    if (isZip(input.bytes)) return await convertArchive(input, params);
    const run = parseXmlBytes(input.bytes, { name: input.name, encoding: params.encoding });
    if (run.local !== "testrun") {
      throw new ConversionError(
        `${input.name} is not an XJTAG run: the XML root is <${run.name}>, expected <testrun>`,
        "Check the converter's format setting for this folder.",
      );
    }
    return [buildRun(input, params, run, 0, undefined)];
  },
};

async function convertArchive(input: ConvertInput, params: XjtagParams): Promise<WsjfReport[]> {
  try {
    const zip = new ZipReader(input.bytes, {
      maxTotalBytes: Math.floor(params.maxArchiveMB * 1024 * 1024),
      maxEntryBytes: Math.floor(params.maxEntryMB * 1024 * 1024),
      maxEntries: params.maxArchiveEntries,
    }, LIMIT_PARAMS);
    const runs = zip.entries
      .map((e) => ({ entry: e, n: Number(RUN_ENTRY.exec(e.name)?.[1] ?? NaN) }))
      .filter((r) => Number.isInteger(r.n))
      .sort((a, b) => a.n - b.n);
    const infoEntry = zip.find("Info.xml");
    let projectPath: string | undefined;
    if (infoEntry !== undefined) {
      const info = parseXmlBytes(await zip.read(infoEntry), { name: `${input.name}/Info.xml` });
      projectPath = textOf(child(info, "ProjectPath")) || undefined;
      const countText = textOf(child(info, "TestRunCount"));
      const count = countText === "" ? undefined : Number(countText);
      if (count !== undefined && Number.isInteger(count)) {
        const missing = [];
        for (let n = 1; n <= count; n++) {
          if (!runs.some((r) => r.n === n)) missing.push(`Run ${n}.xml`);
        }
        if (missing.length > 0) {
          throw new ConversionError(
            `${input.name}: Info.xml says ${count} test runs, but the archive lacks ` +
              missing.slice(0, 5).join(", ") + (missing.length > 5 ? ", …" : ""),
            "The archive is incomplete (still being written, or cut short); convert it again " +
              "once XJRunner has finished it.",
          );
        }
      }
    }
    if (runs.length === 0) {
      throw new ConversionError(
        `${input.name} is a ZIP archive without any "Run N.xml" entry, so not an XJTAG log ` +
          `(entries: ${zip.entries.slice(0, 5).map((e) => e.name).join(", ") || "none"})`,
        "Check the converter's format setting for this folder.",
      );
    }
    const reports: WsjfReport[] = [];
    for (let i = 0; i < runs.length; i++) {
      const where = `${input.name}/${runs[i].entry.name}`;
      const run = parseXmlBytes(await zip.read(runs[i].entry), { name: where });
      if (run.local !== "testrun") {
        throw new ConversionError(
          `${where}: the XML root is <${run.name}>, expected <testrun>`,
          "The archive is not an XJRunner log, or it is damaged.",
        );
      }
      reports.push(buildRun(input, params, run, i, projectPath, where));
    }
    return reports;
  } catch (e) {
    if (e instanceof ZipLimitError) {
      throw new ConversionError(
        `${input.name}: ${e.message}`,
        `If this is a genuine XJRunner log, raise ${
          LIMIT_PARAMS[e.limit]
        } in this folder's converter params; otherwise the archive is hostile or damaged.`,
      );
    }
    if (e instanceof ZipError) {
      throw new ConversionError(
        `${input.name}: ${e.message}`,
        "The .xjlog archive is damaged, incomplete or hostile; check that XJRunner finished " +
          "writing it, and look at where it came from.",
      );
    }
    throw e;
  }
}

/** The parameter that raises each archive limit. */
const LIMIT_PARAMS: Record<keyof ZipLimits, string> = {
  maxTotalBytes: "maxArchiveMB",
  maxEntryBytes: "maxEntryMB",
  maxEntries: "maxArchiveEntries",
};

/** XJTAG run/function verdict → WSJF status letter. */
function verdict(text: string): string | undefined {
  const known = parseStepStatus(text);
  if (known !== undefined) return known;
  const t = text.trim().toLowerCase();
  if (/abort|stop|cancel|terminat|interrupt/.test(t)) return "T";
  if (/error|exception/.test(t)) return "E";
  return undefined;
}

function buildRun(
  input: ConvertInput,
  params: XjtagParams,
  run: XmlElement,
  index: number,
  projectPath: string | undefined,
  where = input.name,
): WsjfReport {
  const info = child(run, "testruninfo");
  if (info === undefined) {
    throw new ConversionError(
      `${where}: the run has no <testruninfo> (serial, user, result)`,
      "The run was not finished when the log was written; convert the file again once it is.",
    );
  }
  const datetime = attr(run, "datetime");
  if (datetime === undefined || datetime.trim() === "") {
    throw new ConversionError(`${where}: <testrun> on line ${run.line} has no datetime attribute`);
  }
  let sn = textOf(child(info, "serial"));
  if (sn === "") {
    // The serial can be assigned during the run; XJRunner then prints it in the header.
    const m = /Serial number set to (\S+)/i.exec(textOf(child(run, "header")));
    sn = m?.[1] ?? "";
  }
  if (sn === "") {
    throw new ConversionError(
      `${where}: the run has no serial number (<testruninfo><serial> is empty)`,
      "Make XJRunner ask for or assign a serial number before the test.",
    );
  }
  const resultText = textOf(child(info, "result"));
  const result = resultText === "" ? undefined : verdict(resultText);
  if (resultText !== "" && result === undefined) {
    throw new ConversionError(
      `${where}: unknown run result "${resultText}" in <testruninfo>`,
      "Expected Passed, Failed, Skipped, Aborted or Error; report this file to the agent's " +
        "maintainers.",
    );
  }
  const ms = Number(textOf(child(info, "time-taken")) || NaN);
  const linkName = textOf(child(info, "xjlink-name"));
  const project = projectPath?.split(/[\\/]/).pop()?.replace(/\.xjp$/i, "");
  const rb = new ReportBuilder(input, params, {
    sn,
    start: datetime.trim(),
    result: result ?? (resultText === "" ? undefined : resultText),
    operator: textOf(child(info, "user")) || undefined,
    comment: textOf(child(info, "project-description")) || undefined,
    execTime: Number.isFinite(ms) ? ms / 1000 : undefined,
    machineName: linkName || undefined,
    sequence: projectPath !== undefined ? { name: project, path: projectPath } : undefined,
    unitIndex: index,
  });
  const linkSerial = textOf(child(info, "xjlink-serial"));
  if (linkSerial !== "") rb.misc("XJLink serial", linkSerial);
  const version = textOf(child(info, "xjtag-version"));
  if (version !== "") rb.misc("XJTAG version", version);
  addChildren(rb.root, run, params, where);
  return rb.build();
}

/** Adds the test groups and functions under `el` (groups nest in case a version nests them). */
function addChildren(seq: SequenceBuilder, el: XmlElement, p: XjtagParams, where: string) {
  for (const c of el.children) {
    if (c.local === "testgroup") {
      addChildren(seq.sequence(attr(c, "name") || `Group (line ${c.line})`), c, p, where);
    } else if (c.local === "testfunction") {
      addFunction(seq, c, p, where);
    }
  }
}

function addFunction(seq: SequenceBuilder, fn: XmlElement, p: XjtagParams, where: string) {
  const name = attr(fn, "name") || `Function (line ${fn.line})`;
  const resultEl = child(fn, "result");
  const resultText = resultEl === undefined ? "" : (attr(resultEl, "value") ?? textOf(resultEl));
  const ms = Number(textOf(child(fn, "time-taken")) || NaN);
  const opts = {
    reportText: functionText(fn, p.maxReportText),
    totTime: Number.isFinite(ms) ? ms / 1000 : undefined,
  };
  if (resultText === "") {
    // No verdict: the run stopped inside this function.
    seq.action(name, { ...opts, status: "T" });
    return;
  }
  const status = verdict(resultText);
  if (status === undefined) {
    throw new ConversionError(
      `${where}: line ${fn.line}, test function "${name}": unknown result "${resultText}"`,
      "Expected Passed, Failed or Skipped; report this file to the agent's maintainers.",
    );
  }
  seq.passFail(name, { status }, opts);
}

/**
 * The function's text output: its `text-output` parts (the CDATA as XJRunner wrote it), else
 * `plain-text` (indented in exported runs, so each line is trimmed).
 */
function functionText(fn: XmlElement, max: number): string | undefined {
  const parts = childrenNamed(fn, "text-output").map((t) => t.text.replace(/\r\n?/g, "\n").trim());
  let text = parts.filter((t) => t !== "").join("\n");
  if (text === "") {
    text = textOf(child(fn, "plain-text")).split(/\r\n|\n|\r/).map((l) => l.trim()).join("\n");
  }
  if (text === "") return undefined;
  if (text.length > max) text = `${text.slice(0, max)}\n… (${text.length - max} more characters)`;
  return text;
}
