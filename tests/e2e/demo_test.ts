/** The README's first command: `deno task demo` must bring files all the way to the server. */
import assert from "#assert";
import path from "#path";

Deno.test("demo: the embedded default uploads its sample files (WSJF, CSV, WSTF) and stops cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-demo-" });
  try {
    const root = path.resolve(import.meta.dirname!, "..", "..");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        path.join(root, "deno.json"),
        path.join(root, "scripts", "demo.ts"),
        "--once",
        "--dir",
        dir,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /\[demo server\] 9 report\(s\) stored/);
    assert.match(text, /deno task agent status --config/);
    for (const folder of ["wsjf", "csv", "wstf"]) {
      const done = [...Deno.readDirSync(path.join(dir, "drop", folder, "Done"))];
      assert.ok(done.length > 0, `${folder} files moved to Done`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
