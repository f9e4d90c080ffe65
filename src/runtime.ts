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
 * The flags the agent runs with from source (its permissions, and V8 tuned for a small
 * footprint: `--optimize-for-size` keeps the heap from growing while the agent drains a large
 * queue, about 200 → 105 MiB RSS with 100,000 queued, at no measurable cost in throughput); the
 * same ones are baked into builds.
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
