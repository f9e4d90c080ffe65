/**
 * A racing writer who may rename the watch folder (its parent is theirs) swaps it, thousands of
 * times, with a symbolic link to a private folder holding files of the same names, in one atomic
 * `renameat2(RENAME_EXCHANGE)` each way (tests/hostile/_flip_folder.ts), while the agent takes a
 * burst of files. Before the agent reached files through the watch folder it holds open, every
 * run deleted (or moved into Done) several private files and some runs uploaded private
 * reports: each check of the folder passed, and the act in between followed the link.
 *
 * The same with the watch folder's parent swapped for a link to a folder holding a private
 * folder of the watch folder's name: the rescan's check followed the link (an lstat follows all
 * but the last name) and adopted the private folder as the watch folder "re-created", so the
 * agent held it and took its files (97 of 100 private reports uploaded and deleted in 30 s).
 * And a subfolder of a recursive watch swapped for a link to a private folder: the delete after
 * the upload went through the link (10 of 150 private files deleted in 15 s).
 *
 * And the Done and Error folders where they are by default, inside the watch folder: with the
 * watch folder, or Done or Error themselves, flipped, a move or an Error note went through the
 * link (before Done and Error were held open: 3 notes and a moved file in a private folder in
 * 24 s).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/mod.ts";

const FILES = 150;
const FLIP_SECONDS = 15;

/**
 * What the writer swaps for a link: the watch folder, its parent, a subfolder in it, or the
 * Done or Error folder in it (where they are by default).
 */
type Flipped = "watch" | "parent" | "subfolder" | "Done" | "Error";

interface Case {
  afterSuccess: "delete" | "move";
  flipped: Flipped;
  /** Done and Error where they are by default, in the watch folder (else Done is ./done). */
  inside?: boolean;
  /** Every `bad`-th file is not a report (it goes to Error with its note); 0: none. */
  bad?: number;
}

async function flipDuringBurst(c: Case): Promise<void> {
  const { afterSuccess, flipped, inside = false, bad = 0 } = c;
  await using h = await AgentHarness.create({
    converters: [{
      name: "json",
      format: "wsjf",
      afterSuccess,
      recursive: flipped === "subfolder",
      ...(afterSuccess === "move" && !inside ? { doneFolder: "./done" } : {}),
    }],
    config: {
      intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
      // The flipper spins a core: a converter starved for 10 s must not send good files to Error.
      pool: { min: 1, max: 2, timeoutSeconds: 120 },
      log: { level: "info" },
    },
  });
  const drop = h.dropDir("json");
  // The folder swapped (`swapped`), and the private folder its link leads to (`target`), which
  // holds, where the agent's files are, private files of the same names (`secret`).
  const swapped = flipped === "watch"
    ? drop
    : flipped === "parent"
    ? path.dirname(drop)
    : flipped === "subfolder"
    ? path.join(drop, "sub")
    : path.join(drop, flipped);
  const target = path.join(h.dir, "private");
  const secret = flipped === "parent" ? path.join(target, "json") : target;
  const ourDir = flipped === "subfolder" ? swapped : drop;
  await Deno.mkdir(secret, { recursive: true, mode: 0o700 });
  await Deno.mkdir(ourDir, { recursive: true });
  if (flipped === "Done" || flipped === "Error") await Deno.mkdir(swapped);
  const privateFiles = new Map<string, { id: string; text: string }>();
  const ours = new Set<string>();
  const bads: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const name = `f${String(i).padStart(4, "0")}.json`;
    const p = makeSampleReport(10_000 + i, { seed: 10_000 + i });
    const text = JSON.stringify(p);
    await Deno.writeTextFile(path.join(secret, name), text, { mode: 0o600 });
    privateFiles.set(name, { id: p.id, text });
    if (bad && i % bad === 0) {
      bads.push(name);
      await Deno.writeTextFile(path.join(ourDir, name), "{ not a report");
      continue;
    }
    const r = makeSampleReport(20_000 + i);
    ours.add(r.id);
    await Deno.writeTextFile(path.join(ourDir, name), JSON.stringify(r));
  }
  const link = path.join(h.dir, "swap.link");
  await Deno.symlink(target, link);
  await h.start();
  const flipper = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      path.join(import.meta.dirname!, "_flip_folder.ts"),
      swapped,
      link,
      String(FLIP_SECONDS),
      // The parent: as long as a folder, so the rescans' checks meet the link often.
      ...(flipped === "parent" ? ["0.4", "0.4"] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await flipper.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok((await Deno.lstat(swapped)).isDirectory, "the swapped folder is back in place");
  // The flipping is over: the agent takes the rest of the burst.
  await h.waitFor(
    () => [...ours].every((id) => h.server.store.get(id) !== undefined),
    "the burst's reports on the server",
    60_000,
  );
  // And every bad file in the Error folder with its note (none lost, none elsewhere).
  const errorDir = path.join(drop, "Error");
  for (const name of bads) {
    await h.waitFor(() => h.inError(errorDir, name), `${name} in Error with its note`, 60_000);
  }

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
  // Nothing written there either (a claim file, an Error note): only the private files.
  const names = (await Array.fromAsync(Deno.readDir(secret))).map((e) => e.name);
  assert.deepEqual(
    names.filter((n) => !privateFiles.has(n)),
    [],
    "files made in the private folder",
  );
}

const ignore = Deno.build.os !== "linux"; // renameat2 and /proc/self/fd are Linux's

const cases: [string, Case][] = [
  [
    "watch folder flipped with a link during a burst: nothing private deleted or uploaded",
    { afterSuccess: "delete", flipped: "watch" },
  ],
  [
    "watch folder flipped with a link during a burst: nothing private moved into Done",
    { afterSuccess: "move", flipped: "watch" },
  ],
  [
    "watch folder's parent flipped with a link during a burst: no private folder adopted",
    { afterSuccess: "delete", flipped: "parent" },
  ],
  [
    "subfolder flipped with a link during a burst (recursive): nothing private deleted",
    { afterSuccess: "delete", flipped: "subfolder" },
  ],
  [
    "watch folder flipped during a burst, Done and Error in it: no move or note goes elsewhere",
    { afterSuccess: "move", flipped: "watch", inside: true, bad: 5 },
  ],
  [
    "Done (in the watch folder) flipped with a link during a burst: nothing moved elsewhere",
    { afterSuccess: "move", flipped: "Done", inside: true },
  ],
  [
    "Error (in the watch folder) flipped with a link during a burst: no note goes elsewhere",
    { afterSuccess: "delete", flipped: "Error", inside: true, bad: 3 },
  ],
];
for (const [name, c] of cases) {
  Deno.test({ name, ignore, fn: () => flipDuringBurst(c) });
}
