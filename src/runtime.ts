/**
 * Facts about how the agent is running: compiled binary or source, and how to start itself.
 *
 * @module
 */
import path from "#path";

/** True inside a `deno compile` binary. */
export function isCompiled(): boolean {
  return Deno.build.standalone === true;
}

/** The project folder when running from source (where main.ts is). */
export const sourceRoot: string = path.resolve(import.meta.dirname ?? ".", "..");

/** The permission flags the agent runs with from source; the same ones are baked into builds. */
export const agentPermissionFlags: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
  "--no-prompt",
];

/**
 * The command that starts this agent again with other arguments: the binary itself when
 * compiled, else `deno run <flags> main.ts`.
 */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  if (isCompiled()) return { cmd: Deno.execPath(), args };
  return {
    cmd: Deno.execPath(),
    args: ["run", ...agentPermissionFlags, path.join(sourceRoot, "main.ts"), ...args],
  };
}
