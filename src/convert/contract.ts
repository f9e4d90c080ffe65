/**
 * The converter contract: what a converter module receives and what it must return.
 *
 * A converter runs inside a pool worker (see `pool.ts`). It gets the file's bytes and the
 * station context, and returns zero or more WSJF reports, or throws a {@link ConversionError}
 * whose message says what is wrong with the file and whose hint says what a person can do.
 * Built-in and custom converters follow the same contract.
 *
 * @module
 */
import type { z } from "zod";
import type { WsjfReport } from "../wsjf/report.ts";

export type { WsjfReport };

/** What a converter knows about the station it runs on. */
export interface StationContext {
  /** Station (machine) name; becomes `machineName` when the file has none. */
  name: string;
  /** Station location, e.g. "Line 2". */
  location: string;
  /** Station purpose, e.g. "Production". */
  purpose: string;
  /** IANA time zone used to read naive timestamps in station files, e.g. "Europe/Oslo". */
  timeZone: string;
  /** Operator name used when the file names none. */
  operator: string;
}

/** One file to convert. */
export interface ConvertInput {
  /** The whole file. */
  bytes: Uint8Array;
  /** The file name without its folder, as the station wrote it. */
  name: string;
  /** The full path of the file. Converters read other files only when their format needs it. */
  path: string;
  /** Lower-case hex SHA-256 of `bytes`: the default seed for deterministic report ids. */
  sha256: string;
  /** The station this agent runs on. */
  station: StationContext;
  /** The converter's own parameters from the config (`converters[].params`). */
  params: Readonly<Record<string, unknown>>;
  /**
   * Records a problem the converter recovered from (a record it skipped, a line it closed):
   * the file still converts, and the agent logs the warnings with the file, counted.
   * Converters on the report builder call `ReportBuilder.warn`, which also keeps the warning in
   * the report's misc info. Optional, so that callers and custom converters that know nothing
   * of warnings keep working.
   */
  warn?(message: string): void;
}

/** What `detect` gets: the first bytes of the file and its name. */
export interface DetectInput {
  /** Up to the first 8 KiB of the file. */
  head: Uint8Array;
  /** The file name without its folder. */
  name: string;
}

/** A converter module's default export (or its `converter` export). */
export interface Converter {
  /** The format name used in the config's `format` key, e.g. "wsjf". */
  readonly name: string;
  /** One line for `agent help` and the README. */
  readonly description: string;
  /** The usual file pattern for this format, used when the config gives none. */
  readonly pattern?: string;
  /**
   * The schema of its `converters[].params` (`converterParams` in params.ts), with a
   * description on each parameter: `deno task docs` lists them in docs/converters.md.
   */
  readonly params?: z.ZodType;
  /** Confidence 0..1 that the file is in this format; used by `format: "auto"`. */
  detect?(input: DetectInput): number;
  /** Converts one file into reports. Throw {@link ConversionError} for a bad file. */
  convert(input: ConvertInput): WsjfReport[] | Promise<WsjfReport[]>;
  /**
   * The same conversion, report by report (an `async function*`), for files of thousands of
   * units: when a converter has it, the agent serialises each report as it comes instead of
   * holding all of them as objects. Optional; `convert` must still give the same reports.
   */
  convertStream?(input: ConvertInput): AsyncIterable<WsjfReport>;
}
