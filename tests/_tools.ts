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
 * The `ignore:` value for a test that needs something: false when `available`, else true,
 * after printing `skipped: <why>` so the run says what is not tested.
 */
export function skipUnless(available: boolean, why: string): boolean {
  if (!available) console.warn(`skipped: ${why}`);
  return !available;
}
