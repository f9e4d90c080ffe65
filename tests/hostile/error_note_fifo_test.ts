/**
 * A writer who owns the Error folder (they renamed the agent's away and made their
 * own; the held-open walk adopts any plain folder) keeps `<name>.error.txt` flipping between a
 * small regular file and a FIFO. moveToError finds the name taken, and unfinishedNote lstat()s
 * it (a regular file) then read it by path (it followed links and blocked on a FIFO): the
 * open hung for ever and the bad file never reached Error. Now it opens without waiting and
 * without following a link (O_NONBLOCK|O_NOFOLLOW) and fstats what it opened.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

Deno.test({
  name: "hostile: an Error note name flipped with a FIFO must not hang the move to Error",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
      config: {
        intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
        log: { level: "info" },
      },
    });
    const drop = h.dropDir("json");
    const errorDir = path.join(drop, "Error");
    await Deno.mkdir(errorDir);
    const note = path.join(errorDir, "bad.json.error.txt");
    const fifo = path.join(errorDir, "zz.fifo");
    await Deno.writeTextFile(note, "not the agent's\n");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(mk.code, 0);
    await h.start();
    const flipper = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        path.join(import.meta.dirname!, "_flip_folder.ts"),
        note,
        fifo,
        "60",
        "0.05",
        "0.05",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let hung = 0;
    let moved = 0;
    try {
      for (let i = 0; i < 25 && hung === 0; i++) {
        await h.drop("json", "bad.json", `{ not a report ${i}`);
        const until = Date.now() + 8000;
        let gone = false;
        while (Date.now() < until) {
          if ((await Deno.lstat(path.join(drop, "bad.json")).catch(() => null)) === null) {
            gone = true;
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        if (gone) moved++;
        else hung++;
      }
    } finally {
      try {
        flipper.kill("SIGKILL");
      } catch { /* ended */ }
      await flipper.output();
    }
    let why = "";
    if (hung) {
      // The flipping is over: the file is still not moved, 15 s later.
      await new Promise((r) => setTimeout(r, 15_000));
      const still = await Deno.lstat(path.join(drop, "bad.json")).catch(() => null);
      why = `bad.json still in the drop folder 15 s after the flipping: ${still !== null}\n` +
        h.output.split("\n").filter((l) => /bad\.json/.test(l)).slice(-4).join("\n");
    }
    // Show where the agent is stuck: a thread blocked in open() on the FIFO.
    const pid = h.pid!;
    const stacks: string[] = [];
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const wchan = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/wchan`).trim();
      if (/fifo|pipe|partner/.test(wchan)) stacks.push(`${t.name}:${wchan}`);
    }
    assert.equal(
      hung,
      0,
      `a bad.json never reached Error (moveToError hung) after ${moved} moves; threads in FIFO ` +
        `waits: ${stacks.join(" ")}\n${why}`,
    );
  },
});
