/**
 * Tools a test needs from the machine (a pty from util-linux `script`, a browser, a network
 * namespace). A test that can't run without one is skipped with `ignore:`, so the count says
 * skipped, and the reason is printed once; it never passes by returning early.
 *
 * ```ts
 * Deno.test({ name: "…", ignore: skipUnless(hasScript(), "`script` (util-linux) is missing"), fn });
 * ```
 *
 * @module
 */

/** Whether `cmd args…` runs and exits 0. */
export function commandSucceeds(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether util-linux `script` (a pty for terminal tests) is installed; Linux only. */
export function hasScript(): boolean {
  return Deno.build.os === "linux" && commandSucceeds("script", ["--version"]);
}

/**
 * `argv` run in a pty of its own by util-linux `script` (needs {@link hasScript}); `script -e`
 * exits with argv's exit code. `script` hands the line to $SHELL, which `exec`s argv: a shell
 * that waited instead would share the terminal's process group, and dash dies of a Ctrl+C
 * (exit 130) even when argv exits 0.
 */
export function ptyCommand(
  argv: string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  const line = "exec " + argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  // -q quiet, -f flush each write, -e the child's exit code, -c the line; no typescript file.
  return new Deno.Command("script", { ...options, args: ["-qfec", line, "/dev/null"] });
}

/**
 * The `ignore:` value for a test that needs something: false when `available`, else true,
 * after printing `skipped: <why>` so the run says what is not tested.
 */
export function skipUnless(available: boolean, why: string): boolean {
  if (!available) console.warn(`skipped: ${why}`);
  return !available;
}
