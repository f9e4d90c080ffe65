/**
 * The built-in converters, by format name. Each entry loads its module lazily (inside a pool
 * worker), and each import is a literal string so `deno compile` embeds the module.
 *
 * @module
 */
import type { Converter } from "../contract.ts";

/** Loads a converter module. */
export type ConverterLoader = () => Promise<Converter>;

/** Built-in converters by the name used in the config's `format` key. */
export const builtinConverters: Readonly<Record<string, ConverterLoader>> = {
  wsjf: async () => (await import("./wsjf.ts")).converter,
  wsxf: async () => (await import("./wsxf.ts")).converter,
  wstf: async () => (await import("./wstf.ts")).converter,
  csv: async () => (await import("./csv/converter.ts")).converter,
  xjtag: async () => (await import("./xjtag.ts")).converter,
  "teradyne-gr228x": async () => (await import("./teradyne-gr228x.ts")).converter,
  "spea-3030": async () => (await import("./spea-3030.ts")).converter,
  "teradyne-spectrum": async () => (await import("./teradyne-spectrum.ts")).converter,
  i3070: async () => (await import("./i3070.ts")).converter,
  takaya: async () => (await import("./takaya.ts")).converter,
  "teststand-xml": async () => (await import("./teststand-xml.ts")).converter,
  atml: async () => (await import("./atml.ts")).converter,
  "klippel-qc": async () => (await import("./klippel-qc.ts")).converter,
  soundcheck: async () => (await import("./soundcheck.ts")).converter,
  sigmaquest: async () => (await import("./sigmaquest.ts")).converter,
  stepwize: async () => (await import("./stepwize.ts")).converter,
  stdf: async () => (await import("./stdf.ts")).converter,
  "saki-aoi": async () => (await import("./saki-aoi.ts")).converter,
  "viscom-aoi": async () => (await import("./viscom-aoi.ts")).converter,
  "yestech-aoi": async () => (await import("./yestech-aoi.ts")).converter,
  "virinco-xml": async () => (await import("./virinco-xml.ts")).converter,
};

/** The names of the built-in formats, for help texts and config validation. */
export const builtinFormats: readonly string[] = Object.keys(builtinConverters);

/**
 * Formats whose files testers keep appending to (one log, many boards). Their converters leave
 * out an unfinished last unit, so such files must stay where they are: their `afterSuccess`
 * defaults to "keep", and "delete"/"move" draw a warning.
 */
export const appendModeFormats: ReadonlySet<string> = new Set([
  "teradyne-gr228x",
  "spea-3030",
  "soundcheck",
]);
