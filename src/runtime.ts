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
 * The flags the agent runs with from source; the same ones are baked into builds.
 *
 * All permissions (`--allow-all`): the agent needs read, write, net, env, sys and run anyway, and
 * `--allow-run` alone already lets it do anything, so naming them one by one protects nothing;
 * meanwhile Deno refuses `/proc/self/fd/…` paths to anything but `--allow-all`, and those are how
 * the agent reaches drop-folder files through the watch folder it holds open (a swapped-in link
 * can't redirect them: src/watch/watch_root.ts). It also spares resolving every path for a
 * permission check (~23 `readlink` calls per report).
 *
 * V8 is tuned for a small footprint: `--optimize-for-size` keeps the heap from
 * growing while the agent drains a large queue (RSS flat at about 100 MiB instead of a 205 MiB
 * peak; drain and small-file throughput unchanged). The price is conversion CPU: the flag is
 * process-wide, so the converter workers get it too, and large files convert 1.1–2.7× slower
 * (scripts/bench/convert.ts with and without it). A station converts a few files a minute; its
 * memory is shared with the test software all the time.
 */
export const agentRunFlags: readonly string[] = [
  "--allow-all",
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
