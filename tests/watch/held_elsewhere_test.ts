/**
 * `heldElsewhere`, which the commands use to find an agent running on another data directory:
 * a lock nobody holds names nobody (a stale owner file after kill -9), and what a forged owner
 * file says is quoted with its control characters escaped, never printed raw.
 */
import assert from "#assert";
import path from "#path";
import { LOCK_FILE, OWNER_FILE } from "../../src/watch/folder_claim.ts";
import { heldElsewhere, runsElsewhere } from "../../src/watch/held_elsewhere.ts";

async function folderWith(owner: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "agent-claim-" });
  await Deno.writeTextFile(path.join(dir, LOCK_FILE), "");
  await Deno.writeTextFile(path.join(dir, OWNER_FILE), JSON.stringify(owner));
  return dir;
}

Deno.test("held elsewhere: a stale owner file with no lock held names nobody", async () => {
  const dir = await folderWith({ dataDir: "/srv/old", pid: 4242, host: "h", since: "s" });
  try {
    assert.equal(await heldElsewhere([dir], "/srv/new"), null);
    // Looking gave the lock back: another look, and a real claim, still get it.
    const f = await Deno.open(path.join(dir, LOCK_FILE), { read: true, write: true });
    assert.ok(await f.tryLock(true));
    f.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Another process that holds an exclusive lock on each of `files` until killed. */
async function holdLocks(files: string[]): Promise<Deno.ChildProcess> {
  const code = `for (const p of ${JSON.stringify(files)}) ` +
    `Deno.openSync(p, { read: true, write: true }).lockSync(true); ` +
    `console.log("locked"); setTimeout(() => {}, 60000);`;
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /locked/);
  reader.releaseLock();
  return holder;
}

async function end(holder: Deno.ChildProcess): Promise<void> {
  holder.kill("SIGKILL");
  await holder.status;
  await holder.stdout.cancel().catch(() => {});
}

Deno.test("held elsewhere: a running agent is named, what its owner file says escaped", async () => {
  const root = await Deno.makeTempDir({ prefix: "agent-claim-" });
  // Its data directory's name carries a terminal escape and a line break (a name may).
  const dataDir = path.join(root, "data\x1b[2J\nagent: all good\u202e");
  await Deno.mkdir(dataDir);
  await Deno.writeTextFile(path.join(dataDir, "agent.lock"), "");
  const dir = await folderWith({ dataDir, pid: 77, host: Deno.hostname(), since: "s" });
  // The holder is another process: a lock held in this one would be this one's own.
  const holder = await holdLocks([path.join(dir, LOCK_FILE), path.join(dataDir, "agent.lock")]);
  try {
    const held = await heldElsewhere([dir], "/srv/new");
    if (!held) throw new assert.AssertionError({ message: "the held folder is not named" });
    assert.equal(held.owner.pid, 77);
    const msg = runsElsewhere(held, "/srv/new");
    // deno-lint-ignore no-control-regex -- exactly what must not reach a terminal
    assert.doesNotMatch(msg, /[\x00-\x1f\u202e]/, msg);
    assert.match(msg, /\\x1b\[2J\\nagent: all good\\u202e/);
    assert.match(msg, /which says it runs on/);
    // The same data directory is this config's own: not "elsewhere".
    assert.equal(await heldElsewhere([dir], dataDir), null);
  } finally {
    await end(holder);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("held elsewhere: a forged owner file naming no running agent names nobody", async () => {
  const root = await Deno.makeTempDir({ prefix: "agent-claim-" });
  const idle = path.join(root, "idle"); // a data directory with a lock nobody holds
  await Deno.mkdir(idle);
  await Deno.writeTextFile(path.join(idle, "agent.lock"), "");
  const host = Deno.hostname();
  const cases = [
    { owner: { dataDir: path.join(root, "missing"), pid: 1, host, since: "s" }, alsoHeld: [] },
    { owner: { dataDir: idle, pid: 1, host, since: "s" }, alsoHeld: [] },
    // Another machine's agent on a shared folder, even with a data directory locked here.
    {
      owner: { dataDir: idle, pid: 1, host: `not-${host}`, since: "s" },
      alsoHeld: [path.join(idle, "agent.lock")],
    },
  ];
  for (const { owner, alsoHeld } of cases) {
    const dir = await folderWith(owner);
    const holder = await holdLocks([path.join(dir, LOCK_FILE), ...alsoHeld]);
    try {
      assert.equal(await heldElsewhere([dir], "/srv/new"), null, JSON.stringify(owner));
    } finally {
      await end(holder);
      await Deno.remove(dir, { recursive: true });
    }
  }
  await Deno.remove(root, { recursive: true });
});
