/**
 * A racing writer who may rename the watch folder (its parent is theirs) swaps it, thousands of
 * times, with a symbolic link to a private folder holding files of the same names, in one atomic
 * `renameat2(RENAME_EXCHANGE)` each way (tests/hostile/_flip_folder.ts), while the agent takes a
 * burst of files. Before the agent reached files through the watch folder it holds open, every
 * run deleted (or moved into Done) several private files and some runs uploaded private
 * reports: each check of the folder passed, and the act in between followed the link.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/mod.ts";

const FILES = 150;
const FLIP_SECONDS = 15;

async function flipDuringBurst(afterSuccess: "delete" | "move"): Promise<void> {
  await using h = await AgentHarness.create({
    converters: [{
      name: "json",
      format: "wsjf",
      afterSuccess,
      ...(afterSuccess === "move" ? { doneFolder: "./done" } : {}),
    }],
    config: {
      intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
      pool: { min: 1, max: 2, timeoutSeconds: 10 },
      log: { level: "info" },
    },
  });
  const drop = h.dropDir("json");
  const secret = path.join(h.dir, "private");
  await Deno.mkdir(secret);
  const privateFiles = new Map<string, { id: string; text: string }>();
  const ours = new Set<string>();
  for (let i = 0; i < FILES; i++) {
    const name = `f${String(i).padStart(4, "0")}.json`;
    const p = makeSampleReport(10_000 + i, { seed: 10_000 + i });
    const text = JSON.stringify(p);
    await Deno.writeTextFile(path.join(secret, name), text, { mode: 0o600 });
    privateFiles.set(name, { id: p.id, text });
    const r = makeSampleReport(20_000 + i);
    ours.add(r.id);
    await Deno.writeTextFile(path.join(drop, name), JSON.stringify(r));
  }
  const link = path.join(path.dirname(drop), "json.link");
  await Deno.symlink(secret, link);
  await h.start();
  const flipper = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      path.join(import.meta.dirname!, "_flip_folder.ts"),
      drop,
      link,
      String(FLIP_SECONDS),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await flipper.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok((await Deno.lstat(drop)).isDirectory, "the drop folder is back in place");
  // The flipping is over: the agent takes the rest of the burst.
  await h.waitFor(
    () => [...ours].every((id) => h.server.store.get(id) !== undefined),
    "the burst's reports on the server",
    60_000,
  );

  const uploaded = [...privateFiles].filter(([, p]) => h.server.store.get(p.id) !== undefined);
  assert.deepEqual(uploaded.map(([n]) => n), [], "private reports uploaded");
  const touched: string[] = [];
  for (const [name, p] of privateFiles) {
    const now = await Deno.readTextFile(path.join(secret, name)).catch(() => null);
    if (now !== p.text) touched.push(`${name} (${now === null ? "gone" : "changed"})`);
  }
  assert.deepEqual(
    touched,
    [],
    `private files deleted or changed (${new TextDecoder().decode(out.stdout).trim()})`,
  );
}

const ignore = Deno.build.os !== "linux"; // renameat2 and /proc/self/fd are Linux's

Deno.test({
  name: "watch folder flipped with a link during a burst: nothing private deleted or uploaded",
  ignore,
  fn: () => flipDuringBurst("delete"),
});

Deno.test({
  name: "watch folder flipped with a link during a burst: nothing private moved into Done",
  ignore,
  fn: () => flipDuringBurst("move"),
});
