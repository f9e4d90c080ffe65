/**
 * Shared test inputs for converter tests: a station context and a `ConvertInput` factory.
 *
 * @module
 */
import path from "#path";
import type { ConvertInput, StationContext } from "../../src/convert/contract.ts";
import { sha256Hex } from "../../src/convert/ids.ts";

/** A station in Oslo (CET/CEST) with every field set. */
export const station: StationContext = {
  name: "TEST-STATION",
  location: "Test lab",
  purpose: "Testing",
  timeZone: "Europe/Oslo",
  operator: "test-operator",
};

/** A ConvertInput for bytes (or text), as the pool would give it. */
export function convertInput(
  bytes: Uint8Array | string,
  name = "input.dat",
  params: Record<string, unknown> = {},
  stationOverride: Partial<StationContext> = {},
): ConvertInput {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return {
    bytes: b,
    name: path.basename(name),
    path: name,
    sha256: sha256Hex(b),
    station: { ...station, ...stationOverride },
    params,
  };
}

/** A ConvertInput for a file on disk. */
export function fileInput(
  file: string,
  params: Record<string, unknown> = {},
  stationOverride: Partial<StationContext> = {},
): ConvertInput {
  return convertInput(Deno.readFileSync(file), file, params, stationOverride);
}
