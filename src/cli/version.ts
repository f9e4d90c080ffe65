/**
 * `agent version`: the version, the commit and the runtime.
 *
 * @module
 */
import { type Command, parseCommandArgs } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { COMMIT, VERSION } from "../version.ts";

/** `agent version [--json]` */
export const command: Command = {
  name: "version",
  summary: "Show the agent's version",
  help: `Usage: agent version [--json]

Prints the agent version, the git commit it was built from and the Deno runtime.

Options:
  --json   Print one JSON object instead of text`,
  run(argv) {
    const { values } = parseCommandArgs("version", argv, { json: { type: "boolean" } });
    const info = {
      version: VERSION,
      commit: COMMIT,
      deno: Deno.version.deno,
      target: Deno.build.target,
    };
    console.log(
      values.json
        ? JSON.stringify(info)
        : `agent ${info.version} (${info.commit}) deno ${info.deno} ${info.target}`,
    );
    return Promise.resolve(ExitCode.OK);
  },
};
