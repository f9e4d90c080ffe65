/**
 * What each shared station sample must convert to, written from its row in the fixtures'
 * README (unit count, serials, verdicts, part numbers and stations it names). Where a row does
 * not give a value (a verdict, a serial that is only "in the file"), it was read from the file by
 * hand, never from the converter's output. Keys are paths relative to the fixtures' stations/.
 *
 * @module
 */

/** WSJF verdict letters: Passed, Failed, Error, Terminated. */
type Verdict = "P" | "F" | "E" | "T";

/** A sample that converts. */
export interface Converts {
  /** Converter params, as the folder's config entry would give them. */
  params?: Record<string, unknown>;
  /** One serial per report, in file order. */
  sn: string[];
  /** One verdict per report, in file order; left out only when the README gives none. */
  result?: Verdict[];
  /** The part number of every report, when the README (or the file) names it. */
  pn?: string;
}

/** A sample that must be refused, with a reason specific to that file. */
export interface Fails {
  params?: Record<string, unknown>;
  /** Matches the failure message (which names the file and what is wrong in it). */
  fails: RegExp;
}

export type Expected = Converts | Fails;

/** The part number given to formats whose files hold none (as `--params` would). */
export const PN = { partNumber: "PN-SAMPLES" };

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

/** Every file under the shared stations/ tree and what it converts to. */
export const SAMPLES: Readonly<Record<string, Expected>> = {
  // IEEE 1636.1 ATML from TestStand: 2.02 / 5.00 / 6.01 are the same demo sequence, Failed.
  "atml-teststand/ATML 2.02 [123456789][2 30 27 PM][5 15 2019].XML": {
    sn: ["123456789"],
    result: ["F"],
    pn: "Ragnar123",
  },
  "atml-teststand/ATML 5.00 [2 31 11 PM][5 15 2019].xml": {
    sn: ["123456789"],
    result: ["F"],
    pn: "Ragnar123",
  },
  "atml-teststand/ATML 6.01 [2 31 52 PM][5 15 2019].xml": {
    sn: ["123456789"],
    result: ["F"],
    pn: "Ragnar123",
  },
  // 4 sockets, every serial NONE, no part number: 4 reports (distinct ids), all Passed.
  "atml-teststand/Parallel Testing Strategies_BatchReport.6 45 31 AM..9 13 2022.xml": {
    params: PN,
    sn: times(4, "NONE"),
    result: times(4, "P"),
    pn: PN.partNumber,
  },
  "atml-teststand/Report_LS2621-1002[Passed][9190300075][2019-03-11][15 06 37].xml": {
    sn: ["9190300075"],
    result: ["P"],
    pn: "LS2621-1002",
  },
  // The last row has 12 fields for an 11-column header: refused, naming the line.
  "devkit-example-csv/sample-enhanced.csv": {
    fails: /sample-enhanced\.csv: line 4: the row has 12 fields but the table header .* has 11/,
  },
  "fct-csv-semicolon/fct_all_ok.csv": {
    sn: ["V102431800038DB828853020"],
    result: ["P"],
    pn: "B828853_02_F-5296",
  },
  // BTEST 00 = pass, 06 = analog failure; the panel is two boards, both pass.
  "keysight-i3070-log/cmd_all_ok.ict": { sn: ["V102508400021DB828853020"], result: ["P"] },
  "keysight-i3070-log/cmd_analog_nok.ict": { sn: ["V102508400024DB828853020"], result: ["F"] },
  "keysight-i3070-log/panel_all_ok.ict": {
    sn: ["V112506200217B70016003", "V112506200218B70016003"],
    result: ["P", "P"],
  },
  // Ctrl_OverallVerdict=0: fail. The header file is the unit; its folder holds the data.
  "klippel-qc-log/DUT xyz115 2020-05-14 10-01-37-5 UTC+0200.txt": {
    params: PN,
    sn: ["xyz115"],
    result: ["F"],
  },
  ...Object.fromEntries(
    [
      "Impedance-imp.txt",
      "Impedance-values.txt",
      "Sound Pressure-rbz.txt",
      "Sound Pressure-resp.txt",
      "Sound Pressure-thd.txt",
      "Sound Pressure-values.txt",
    ].map((f) => [
      `klippel-qc-log/DUT xyz115 2020-05-14 10-01-37-5 UTC+0200/${f}`,
      // A data file of the unit above, not a unit: auto must not take it on its own.
      { fails: new RegExp(`the format of ${f} was not recognised`) },
    ]),
  ),
  // European locale (decimal comma): curve blocks for serial 2.58.21, lot BLR-SC-WATS.
  "listen-soundcheck-txt/EU/Data logging example 12-01-2021.txt": {
    params: { decimalSeparator: "," },
    sn: ["2.58.21"],
    result: ["P"],
    pn: "BLR-SC-WATS",
  },
  // US locale, many UUTs, one row per result: S/N 13 … S/N 20, all PASS.
  "listen-soundcheck-txt/US/Complete test 7-22-2020 (002).txt": {
    sn: [13, 14, 15, 16, 17, 18, 19, 20].map((n) => `S/N ${n}`),
    result: times(8, "P"),
    pn: "P/N #12345",
  },
  "saki-aoi-xml/SAKI-testdata.xml": { sn: ["SN123456789"], result: ["F"] },
  "sigmaquest-unitreport-xml/testdata_SN651658.xml": { sn: ["SN651658"], result: ["F"] },
  // 10 consecutive runs of one serial: BOARDRESULT FAIL nine times, then PASS.
  "spea-3030-csv/testdata_SN9871234012.csv": {
    params: PN,
    sn: times(10, "SN9871234012"),
    result: [...times(9, "F" as const), "P"],
  },
  // Lot GAL-LOT sublot 02, part GOLD8BAR, 1,569 parts (PIR/PRR pairs); no verdicts listed.
  "stdf-v4/lot2.stdf.gz": {
    sn: Array.from({ length: 1569 }, (_, i) => `GAL-LOT-02-${i + 1}`),
    pn: "GOLD8BAR",
  },
  // A FAR and a WIR only: refused cleanly (no empty report).
  "stdf-v4/semi-ate-minimal-test.stdf": {
    fails: /semi-ate-minimal-test\.stdf: the file ends before its MRR/,
  },
  "stepwize-xspc/20250316_133653_CONFIG_AND_RESULTS.XSPC": { sn: ["SN65632341"], result: ["P"] },
  // Two test blocks (Bottom then Top): two reports of one serial.
  "takaya-apt94xx-atd/10001-SN0003 (OP04).ATD": {
    sn: ["SN0003", "SN0003"],
    result: ["P", "P"],
  },
  "takaya-apt94xx-atd/11111-BV0001 (AT33).ATD": { sn: ["BV0001"], result: ["P"] },
  "takaya-apt94xx-atd/12345 - SN0001 (FP1 - OP01).ATD": { sn: ["SN0001"], result: ["P"] },
  "takaya-atd/ATVG02_43393848.1023824957283_20141227_152724.ATD": {
    sn: ["43393848.1023824957283"],
    result: ["F"],
  },
  // 4 groups (boards 0610982636…39), each PASS; the groups are written 38, 39, 37, 36.
  "takaya-atd/PB2939800_E_BOT-20230420130239.ATD": {
    sn: ["0610982638", "0610982639", "0610982637", "0610982636"],
    result: times(4, "P"),
    pn: "PB2939800_E_BOT",
  },
  "takaya-atd/V682589_K_TOP-20230504130808.ATD": {
    sn: ["0601996045"],
    result: ["P"],
    pn: "V682589_K_TOP",
  },
  // 10 attempts of one serial (Group 1/Group 2 pairs): only the last pair is PASS/PASS.
  "takaya-atdx/WO250319-0162__20250525_122655.atdx": {
    sn: times(10, "WO250319-0162"),
    result: [...times(9, "F" as const), "P"],
  },
  // 3 boards: aborted (`?`), fail (`/`), pass (`"`); the part number comes from the program.
  "teradyne-gr228x-log/43420_BIO2.LOG": {
    sn: ["65428553938829725787", "24422984989544535753", "42842937739687688567"],
    result: ["T", "F", "P"],
    pn: "43420",
  },
  "teradyne-spectrum-ict/sample_ict_data.txt": {
    sn: ["1111111111"],
    result: ["P"],
    pn: "PB3187900",
  },
  "teststand-xml/TSWithWats.xml": { sn: ["12345"], result: ["P"] },
  "teststand-xml/TSWithWats2.xml": { sn: ["5465466"], result: ["P"] },
  // Test2 of "Main" measures 300.88 below its low limit 310: Failed.
  "virinco-example-xml/XMLReport.xml": { sn: ["12345"], result: ["F"], pn: "Part1" },
  // 6 SinglePCB boards, each its own barcode, all PASS.
  "viscom-aoi-xml/rep_1.xml": {
    sn: [403, 404, 405, 406, 407, 408].map((n) => `V102506600${n}EB847026010`),
    result: times(6, "P"),
    pn: "B847026_TOP",
  },
  // Start="1900-01-01…": refused by the WSJF rules, naming the field.
  "wats-wrml/uut-wrml.xml": {
    fails: /uut-wrml\.xml is not a valid WATS report: start: must be 1970-01-01 or later/,
  },
  "wats-wsjf/WATS - WSJF UUT Example file Bare Minimum.json": {
    sn: ["FATTest-299"],
    result: ["F"],
    pn: "FATPartNo",
  },
  "wats-wstf/WatsStandardTextFormat.txt": { sn: ["423664753"], result: ["F"], pn: "100200" },
  "wats-wsxf/uut-wsxf.xml": { sn: ["FATTest-422"], result: ["F"], pn: "FATPartNo" },
  "xjtag-xjlog/1234_14_25_32_10.08.2018_Pass.xjlog": { params: PN, sn: ["1234"], result: ["P"] },
  "xjtag-xjlog/55804022_XJT_2019-06-20_12-55-57_lumi_Pass.xjlog": {
    params: PN,
    sn: ["55804022"],
    result: ["P"],
  },
  "xjtag-xjlog/567567_14_29_24_17_06_2020_Pass.xjlog": {
    params: PN,
    sn: ["567567"],
    result: ["P"],
  },
  "xjtag-xjlog/567567_14_29_24_17_06_2020_Pass.xml": {
    params: PN,
    sn: ["567567"],
    result: ["P"],
  },
  // 6 runs from two XJLinks; Run 1…6 results Failed, Passed, Failed, Failed, Failed, Passed.
  "xjtag-xjlog/Demonstration hardware--28_10_2019.xjlog": {
    params: PN,
    sn: ["10001", "1002", "10004", "10003", "10006", "10005"],
    result: ["F", "P", "F", "F", "F", "P"],
  },
  "yestech-aoi-txt/ex01.txt": { sn: ["V102508400582DB828853020"], result: ["P"] },
};
