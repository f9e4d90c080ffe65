/** The README's first command: `deno task demo` must bring files all the way to the server. */
import assert from "#assert";
import path from "#path";
import { hasScript, ptyCommand, skipUnless } from "../_tools.ts";

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

Deno.test({
  name: "demo: Ctrl+C in a real terminal stops the demo and the agent with exit 0",
  // Needs a pty (Ctrl+C must reach the whole process group): util-linux `script`, Linux only.
  ignore: skipUnless(
    hasScript(),
    "`script` (util-linux) is missing: the demo's Ctrl+C is untested",
  ),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agent-demo-pty-" });
    const root = path.resolve(import.meta.dirname!, "..", "..");
    // Exactly what a new user types, in a terminal of its own: `deno task demo`.
    const child = ptyCommand(
      [Deno.execPath(), "task", "--config", path.join(root, "deno.json"), "demo", "--dir", dir],
      { env: { NO_COLOR: "1" }, stdin: "piped", stdout: "piped", stderr: "piped" },
    ).spawn();
    const stdin = child.stdin.getWriter();
    let text = "";
    let sent = false;
    // A guard, not a timing assertion: a demo that never stops fails the test instead of hanging.
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const decoder = new TextDecoder();
    try {
      for await (const chunk of child.stdout) {
        text += decoder.decode(chunk, { stream: true });
        // Every sample stored: the agent is fully up. Now the user presses Ctrl+C (ETX).
        if (!sent && /\[demo server\] 9 report\(s\) stored/.test(text)) {
          sent = true;
          await stdin.write(new Uint8Array([0x03]));
        }
      }
      const status = await child.status;
      text += new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      assert.ok(sent, `the demo never stored its 9 samples:\n${text}`);
      // Each check names itself: a failure under load must say which part of the stop went wrong.
      const bad = text.match(/.*(?:exited with [1-9]|unexpectedly|exiting now).*/);
      assert.equal(bad, null, `a stop that was not clean: "${bad?.[0]}"\n--- output ---\n${text}`);
      assert.match(
        text,
        /\[demo\] agent exited with 0; server stopped/,
        `the demo never said the agent exited with 0\n--- output ---\n${text}`,
      );
      assert.equal(status.code, 0, `the demo exited with ${status.code}\n--- output ---\n${text}`);
    } finally {
      clearTimeout(guard);
      await stdin.close().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
