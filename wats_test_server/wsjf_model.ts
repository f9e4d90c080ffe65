/**
 * The test server's own description of the WSJF model: the enum codes and the field names the
 * WATS server knows per object, taken from the server's Swagger definitions
 * (`Virinco.WATS.Schemas.WSJF.*`), summarised in docs/wsjf.md. Written independently of the
 * agent's schema on purpose: a second reading of the format is what catches the agent's bugs.
 *
 * @module
 */

/** Report types: T = test (UUT), R = repair (UUR). */
export const reportTypes: readonly string[] = ["T", "R"];
/** Overall report results. `D` (Done) is a step status only. */
export const reportResults: readonly string[] = ["P", "F", "E", "T"];
/** Step statuses. */
export const stepStatuses: readonly string[] = ["P", "F", "D", "S", "E", "T", "U"];
/** Step groups: Setup, Main, Cleanup. */
export const stepGroups: readonly string[] = ["S", "M", "C"];
/** Measurement statuses. */
export const measurementStatuses: readonly string[] = ["P", "F", "S"];

/** Numeric comparison operators, by the limits they use (docs/wsjf.md#comparison-operators). */
export const numericCompOps: Readonly<Record<string, "none" | "low" | "both">> = {
  LOG: "none",
  EQ: "low",
  NE: "low",
  GT: "low",
  GE: "low",
  LT: "low",
  LE: "low",
  GTLT: "both",
  GELE: "both",
  GELT: "both",
  GTLE: "both",
  LTGT: "both",
  LEGE: "both",
  LEGT: "both",
  LTGE: "both",
};

/** String comparison operators. */
export const stringCompOps: readonly string[] = [
  "CASESENSIT",
  "IGNORECASE",
  "EQ",
  "NE",
  "GT",
  "LT",
  "GE",
  "LE",
  "LOG",
];

/** Root step types that are sequence calls (both seen in real exports). */
export const sequenceStepTypes: readonly string[] = ["SequenceCall", "WATS_SeqCall"];

/** Step types that hold exactly one measurement (the `M…` types hold several, named). */
export const singleMeasurementStepTypes: readonly string[] = [
  "ET_NLT",
  "NumericLimitTest",
  "ET_PFT",
  "PassFailTest",
  "ET_SVT",
  "StringValueTest",
];

/** String values a double field may carry instead of a JSON number (pyWATS sends these). */
export const specialDoubleStrings: readonly string[] = ["NaN", "Infinity", "-Infinity"];

/** Field names the server knows, per object kind; other fields are ignored (and dropped). */
export const knownFields: Readonly<Record<string, readonly string[]>> = {
  report: [
    "type",
    "id",
    "pn",
    "sn",
    "rev",
    "productName",
    "processCode",
    "processCodeFormat",
    "processName",
    "result",
    "machineName",
    "location",
    "purpose",
    "origin",
    "start",
    "startUTC",
    "root",
    "uut",
    "uur",
    "miscInfos",
    "subUnits",
    "assets",
    "assetStats",
    "binaryData",
    "additionalData",
  ],
  uut: [
    "execTime",
    "execTimeFormat",
    "testSocketIndex",
    "testSocketIndexFormat",
    "batchSN",
    "comment",
    "errorCode",
    "errorCodeFormat",
    "errorMessage",
    "fixtureId",
    "user",
    "batchFailCount",
    "batchFailCountFormat",
    "batchLoopIndex",
    "batchLoopIndexFormat",
    "stepIdCausedUUTFailure",
    "refUURs",
  ],
  uur: [
    "comment",
    "user",
    "processCode",
    "processCodeFormat",
    "processName",
    "refUUT",
    "confirmDate",
    "finalizeDate",
    "execTime",
    "parent",
    "children",
  ],
  miscInfo: ["description", "typedef", "text", "numeric", "numericFormat", "id"],
  subUnit: [
    "partType",
    "pn",
    "rev",
    "sn",
    "idx",
    "parentIdx",
    "position",
    "replacedIdx",
    "failures",
  ],
  asset: ["assetSN", "usageCount", "usageCountFormat"],
  step: [
    "id",
    "group",
    "stepType",
    "interactiveExeNum",
    "interactiveExeNumFormat",
    "loop",
    "name",
    "start",
    "status",
    "errorCode",
    "errorCodeFormat",
    "errorMessage",
    "tsGuid",
    "totTime",
    "totTimeFormat",
    "causedSeqFailure",
    "causedUUTFailure",
    "reportText",
    "steps",
    "numericMeas",
    "stringMeas",
    "booleanMeas",
    "additionalResults",
    "seqCall",
    "callExe",
    "messagePopup",
    "chart",
    "attachment",
  ],
  numericMeas: [
    "compOp",
    "name",
    "status",
    "unit",
    "value",
    "valueFormat",
    "highLimit",
    "highLimitFormat",
    "lowLimit",
    "lowLimitFormat",
  ],
  stringMeas: ["compOp", "name", "status", "value", "limit"],
  booleanMeas: ["name", "status"],
  seqCall: ["path", "name", "version"],
  loop: ["idx", "num", "endingIndex", "passed", "failed"],
  chart: ["chartType", "label", "xLabel", "xUnit", "yLabel", "yUnit", "series"],
  chartSeries: ["dataType", "name", "xdata", "ydata"],
  attachment: ["name", "contentType", "data"],
};
