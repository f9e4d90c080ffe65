/**
 * The converter pool: every case in _pool_cases.ts in its own `deno run` process with real
 * workers: sizing, isolation, time limits, memory limits, lost threads, custom module loading
 * and reloading.
 */
import assert from "#assert";
import path from "#path";
import { cases } from "./_pool_cases.ts";

const root = path.resolve(import.meta.dirname!, "../..");

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
