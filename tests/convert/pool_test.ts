/**
 * The converter pool: sizing (pure), and every case in _pool_cases.ts in its own `deno run`
 * process with real workers: isolation, time limits, memory limits, lost threads, custom
 * module loading and reloading.
 */
import assert from "#assert";
import path from "#path";
import { workersToStart } from "../../src/convert/pool.ts";
import { cases } from "./_pool_cases.ts";

const root = path.resolve(import.meta.dirname!, "../..");

Deno.test("pool: workersToStart grows by backlog and never past max (min(), not max())", () => {
  assert.equal(workersToStart(10, 0, 2), 2, "ten waiting, none running, cap 2");
  assert.equal(workersToStart(1, 0, 4), 1, "one waiting needs one worker");
  assert.equal(workersToStart(5, 4, 4), 0, "at the cap");
  assert.equal(workersToStart(3, 5, 4), 0, "above the cap (max lowered): none, not negative");
  assert.equal(workersToStart(0, 1, 4), 0, "nothing waiting");
});

for (const name of Object.keys(cases)) {
  Deno.test(`pool: ${name}`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        path.join(root, "deno.json"),
        "-A",
        path.join(import.meta.dirname!, "_pool_cases.ts"),
        name,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, `case failed:\n${dec.decode(out.stdout)}\n${dec.decode(out.stderr)}`);
  });
}
