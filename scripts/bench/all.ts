/**
 * `deno task bench`: every benchmark, one after another, each in its own process so one's
 * memory and timers don't disturb the next. Sizes are modest; run a script alone for more.
 *
 * @module
 */
import path from "#path";

const here = import.meta.dirname!;
const runs: [string, string[]][] = [
  ["convert.ts", []],
  ["pool.ts", ["--n", "1000"]],
  ["queue.ts", ["--n", "1000"]],
  ["backlog.ts", ["--n", "100000", "--drain-seconds", "15"]],
  ["intake.ts", []],
  ["e2e.ts", ["--n", "1500"]],
  ["idle.ts", ["--seconds", "20"]],
];
let failed = 0;
for (const [script, args] of runs) {
  const file = path.join(here, script);
  try {
    await Deno.stat(file);
  } catch {
    console.log(`\n== ${script}: not present, skipped`);
    continue;
  }
  console.log(`\n== ${script} ${args.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", path.join(here, "..", "..", "deno.json"), file, ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`== ${script} exited with ${code}`);
  }
}
Deno.exit(failed ? 1 : 0);
