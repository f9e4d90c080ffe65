/**
 * Runs a command to completion with no input and returns its exit code and text output: the
 * build asks git, `deno info` and `deno check`, and reads their answers.
 *
 * @module
 */

/** Runs `cmd args` in `cwd`; stdout is trimmed, stderr is as written. */
export async function output(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout).trim(), stderr: dec.decode(out.stderr) };
}
