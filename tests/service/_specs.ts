/**
 * Sample service specs with awkward paths (spaces, non-ASCII, XML and shell specials) for the
 * generator tests.
 */
import { buildSpec, type Platform, type Scope, type ServiceSpec } from "../../src/service/spec.ts";

/** A folder name with a space, non-ASCII letters and characters XML/shells treat specially. */
export const AWKWARD = "Stasjon Ø & <Linje 2> 'ÆØÅ' \"x\" 50%";

/** A spec for `platform` with the program and config under awkward folder names. */
export function sampleSpec(
  platform: Platform,
  o: { scope?: Scope; runAs?: string; program?: string; config?: string; name?: string } = {},
): ServiceSpec {
  const win = platform === "windows";
  return buildSpec({
    platform,
    name: o.name,
    scope: o.scope ?? "system",
    runAs: o.runAs,
    configFile: o.config ??
      (win ? "C:\\ProgramData\\WATS Ågent\\Linje 2\\agent.json" : `/srv/${AWKWARD}/agent.json`),
    launch: {
      cmd: o.program ??
        (win ? "C:\\Program Files\\WATS Ågent\\agent.exe" : "/opt/wats ågent/agent"),
      args: [],
    },
    fromSource: false,
    home: win ? undefined : "/home/øyvind",
  });
}
