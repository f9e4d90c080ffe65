/**
 * `heldElsewhere`, which the commands use to find an agent running on another data directory:
 * a lock nobody holds names nobody (a stale owner file after kill -9), and what a forged owner
 * file says is quoted with its control characters escaped, never printed raw.
 */
import assert from "#assert";
import path from "#path";
import {
  heldElsewhere,
  LOCK_FILE,
  OWNER_FILE,
  runsElsewhere,
} from "../../src/watch/folder_claim.ts";

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

Deno.test("held elsewhere: a held lock is named, with what its owner file says escaped", async () => {
  const forged = "/srv/x\x1b[2J\nagent: all good\u202e";
  const dir = await folderWith({ dataDir: forged, pid: 77, host: "h", since: "s" });
  // The holder is another process: a lock held in this one would be this one's own.
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const f = Deno.openSync(${
        JSON.stringify(path.join(dir, LOCK_FILE))
      }, { read: true, write: true }); f.lockSync(true); console.log("locked"); setTimeout(() => {}, 60000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = holder.stdout.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /locked/);
    reader.releaseLock();
    const held = await heldElsewhere([dir], "/srv/new");
    if (!held) throw new assert.AssertionError({ message: "the held folder is not named" });
    assert.equal(held.owner.pid, 77);
    const msg = runsElsewhere(held, "/srv/new");
    // deno-lint-ignore no-control-regex -- exactly what must not reach a terminal
    assert.doesNotMatch(msg, /[\x00-\x1f\u202e]/, msg);
    assert.match(msg, /\\x1b\[2J\\nagent: all good\\u202e/);
    assert.match(msg, /which says it runs on/);
    // The same data directory is this config's own: not "elsewhere".
    assert.equal(await heldElsewhere([dir], forged), null);
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
