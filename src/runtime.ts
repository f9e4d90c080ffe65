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

/**
 * The flags the agent runs with from source; the same ones are baked into builds. Besides the
 * permissions, V8 is tuned for a small footprint: `--optimize-for-size` keeps the heap from
 * growing while the agent drains a large queue (RSS flat at about 100 MiB instead of a 205 MiB
 * peak; drain and small-file throughput unchanged). The price is conversion CPU: the flag is
 * process-wide, so the converter workers get it too, and large files convert 1.1–2.7× slower
 * (scripts/bench/convert.ts with and without it). A station converts a few files a minute; its
 * memory is shared with the test software all the time.
 */
export const agentRunFlags: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
  "--no-prompt",
  "--v8-flags=--optimize-for-size",
];

/**
 * The command that starts this agent again with other arguments: the binary itself when
 * compiled, else `deno run <flags> main.ts`.
 */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  if (isCompiled()) return { cmd: Deno.execPath(), args };
  return {
    cmd: Deno.execPath(),
    args: ["run", ...agentRunFlags, path.join(sourceRoot, "main.ts"), ...args],
  };
}
