/**
 * Sample service specs with awkward paths (spaces, non-ASCII, XML and shell specials) for the
 * generator tests.
 */
import {
  buildSpec,
  type Platform,
  type Scope,
  type ServiceSpec,
  type SpecInput,
} from "../../src/service/spec.ts";

/** A folder name with a space, non-ASCII letters and characters XML/shells treat specially. */
export const AWKWARD = "Stasjon Ø & <Linje 2> 'ÆØÅ' \"x\" 50%";

/** A spec for `platform` with the program and config under awkward folder names. */
export function sampleSpec(
  platform: Platform,
  o: {
    scope?: Scope;
    runAs?: string;
    program?: string;
    config?: string;
    name?: string;
    agent?: SpecInput["agent"];
  } = {},
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
    agent: o.agent,
  });
}

/** What a config with one converter (default Done, Error elsewhere) tells the installer. */
export function stationFolders(
  platform: Platform,
  o: { base?: string; nice?: number } = {},
): NonNullable<SpecInput["agent"]> {
  const win = platform === "windows";
  const base = o.base ?? (win ? "C:\\ProgramData\\WATS Agent" : `/srv/${AWKWARD}`);
  const join = (...parts: string[]) => parts.join(win ? "\\" : "/");
  const data = join(base, "agent-data");
  const drop = join(base, "drop line 1");
  return {
    dataDir: data,
    folders: [
      { path: data, key: "dataDir", role: "data", own: true },
      { path: drop, key: "converters[0] (line1).watch", role: "drop", own: false },
      {
        path: join(drop, "Done"),
        key: "converters[0] (line1).doneFolder",
        role: "done",
        own: true,
      },
      {
        path: join(base, "errors"),
        key: "converters[0] (line1).errorFolder",
        role: "error",
        own: true,
      },
    ],
    readPaths: [],
    nice: o.nice ?? 10,
  };
}
