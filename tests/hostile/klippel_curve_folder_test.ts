/**
 * The Klippel QC curve folder against its writer, with the real agent process: the converter
 * reads a folder beside the header itself (in a worker), so it needs the same care as intake.
 * - a curve file swapped for a FIFO after the listing (timed by inotify: the moment the
 *   worker opens the first curve file) must not block the worker: the header goes to Error
 *   naming the file, and the agent goes on converting;
 * - the curve folder swapped for a symbolic link to a private folder after the listing is not
 *   followed: nothing of the private folder reaches the server, Error or the log;
 * - a hard link to a private file put in the curve folder is not read.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { ownFixture } from "../_fixtures.ts";
import { commandSucceeds, skipUnless } from "../_tools.ts";

const UNIT = "DUT WF8-0042 2023-11-24 23-59-58-0 UTC-0500";
const SECRET_VALUE = "424242.5";
const SECRET_CURVE = `frq\tsecret\n1\t${SECRET_VALUE}\n2\t${SECRET_VALUE}\n`;
const fixture = (...p: string[]) => ownFixture("convert", "klippel-qc", ...p);
const needs = skipUnless(
  Deno.build.os === "linux" && commandSucceeds("python3", ["-c", "import ctypes"]) &&
    commandSucceeds("mkfifo", ["--version"]),
  "needs Linux, python3 (inotify through ctypes) and mkfifo",
);

/**
 * Waits for the first open of `trigger` in `folder` (inotify IN_OPEN), then does `action`:
 * `rename SRC DST`, or `swap FOLDER LINK_TARGET` (folder moved aside, a link in its place).
 */
const RACER = `
import ctypes, os, struct, sys
folder, trigger, action = sys.argv[1], sys.argv[2], sys.argv[3:]
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = libc.inotify_init()
if fd < 0 or libc.inotify_add_watch(fd, folder.encode(), 0x20) < 0:
    sys.exit("inotify failed: %d" % ctypes.get_errno())
print("ready", flush=True)
while True:
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        _, mask, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\\0").decode()
        i += 16 + n
        if name != trigger:
            continue
        if action[0] == "rename":
            os.rename(action[1], action[2])
        else:
            os.rename(action[1], action[1] + ".old")
            os.symlink(action[2], action[1])
        print("done", flush=True)
        sys.exit(0)
`;

async function startRacer(h: AgentHarness, args: string[]) {
  const script = path.join(h.dir, "racer.py");
  await Deno.writeTextFile(script, RACER);
  const child = new Deno.Command("python3", { args: [script, ...args], stdout: "piped" }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`racer ended early: ${out}`);
    out += value;
  }
  return {
    /** Whether the racer acted (it exits once it did). */
    async acted(): Promise<boolean> {
      while (!out.includes("done")) {
        const { value, done } = await lines.read();
        if (done) break;
        out += value;
      }
      lines.releaseLock();
      return (await child.status).success && out.includes("done");
    },
    kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    },
  };
}

/** An agent with one klippel-qc converter; a curve folder with a big first file. */
async function setUp(): Promise<{ h: AgentHarness; drop: string; curves: string }> {
  const h = await AgentHarness.create({
    converters: [{
      name: "klippel",
      format: "klippel-qc",
      pattern: "*.txt",
      afterSuccess: "move",
      params: {
        partNumber: "PN-WF8",
        settleSeconds: 0,
        waitSeconds: 2,
        maxCurveFileMB: 128,
        maxCurveFolderMB: 256,
      },
    }],
    config: { pool: { min: 1, max: 1, timeoutSeconds: 20 } },
  });
  const drop = h.dropDir("klippel");
  const curves = path.join(drop, UNIT);
  await Deno.mkdir(curves);
  for (const e of Deno.readDirSync(fixture(UNIT))) {
    await Deno.copyFile(fixture(UNIT, e.name), path.join(curves, e.name));
  }
  // Read first (names sort before "Acoustic…"): its read gives the racer time to act.
  await Deno.writeTextFile(path.join(curves, "A-big.txt"), "frq\tbig\n" + "1\t1\n".repeat(8e6));
  await Deno.writeTextFile(path.join(curves, "Z-last.txt"), "frq\tlast\n1\t1\n2\t1\n");
  return { h, drop, curves };
}

/** Everything under `dir` as text (names and contents), for a leak search. */
async function allText(dir: string): Promise<string> {
  let out = "";
  for await (const e of Deno.readDir(dir)) {
    const p = path.join(dir, e.name);
    if (e.isDirectory) out += await allText(p);
    else if (e.isFile && !e.name.endsWith("A-big.txt")) {
      out += `${p}\n${await Deno.readTextFile(p)}\n`;
    }
  }
  return out;
}

async function inError(h: AgentHarness, drop: string): Promise<string> {
  const errorDir = path.join(drop, "Error");
  await h.waitFor(
    async () => (await h.files(errorDir)).includes(`${UNIT}.txt.error.txt`),
    "the header in Error with its note",
    30_000,
  );
  return await Deno.readTextFile(path.join(errorDir, `${UNIT}.txt.error.txt`));
}

Deno.test({
  name:
    "klippel curve folder: a curve file swapped for a FIFO after the listing does not block the worker",
  ignore: needs,
  async fn() {
    const { h, drop, curves } = await setUp();
    await using _h = h;
    const fifo = path.join(h.dir, "fifo");
    assert.ok(commandSucceeds("mkfifo", [fifo]));
    await h.start();
    const racer = await startRacer(h, [
      curves,
      "A-big.txt",
      "rename",
      fifo,
      path.join(curves, "Z-last.txt"),
    ]);
    try {
      await h.drop("klippel", `${UNIT}.txt`, Deno.readFileSync(fixture(`${UNIT}.txt`)));
      assert.ok(await racer.acted(), "the racer swapped Z-last.txt for a FIFO");
      const note = await inError(h, drop);
      assert.match(note, /Z-last\.txt/);
      assert.match(note, /not a plain file|FIFO/);
      assert.ok((await Deno.lstat(path.join(curves, "Z-last.txt"))).isFifo, "the FIFO is left");
    } finally {
      racer.kill();
    }
    // The agent still converts: the same unit without the FIFO.
    await Deno.remove(path.join(curves, "Z-last.txt"));
    await Deno.remove(path.join(curves, "A-big.txt"));
    await h.drop("klippel", `${UNIT}.txt`, Deno.readFileSync(fixture(`${UNIT}.txt`)));
    await h.waitFor(
      () => h.server.store.list().some((r) => r.report.sn === "WF8-0042"),
      "the unit converted afterwards",
      30_000,
    );
  },
});

Deno.test({
  name:
    "klippel curve folder: the folder swapped for a link to a private folder after the listing is not followed",
  ignore: needs,
  async fn() {
    const { h, drop, curves } = await setUp();
    await using _h = h;
    const victim = path.join(h.dir, "private");
    await Deno.mkdir(victim);
    for (const e of Deno.readDirSync(curves)) {
      if (e.name !== "A-big.txt") await Deno.writeTextFile(path.join(victim, e.name), SECRET_CURVE);
    }
    await h.start();
    const racer = await startRacer(h, [curves, "A-big.txt", "swap", curves, victim]);
    try {
      await h.drop("klippel", `${UNIT}.txt`, Deno.readFileSync(fixture(`${UNIT}.txt`)));
      assert.ok(await racer.acted(), "the racer swapped the folder for a link");
      const note = await inError(h, drop);
      assert.match(note, /replaced|changed/);
    } finally {
      racer.kill();
    }
    assert.equal(h.server.store.list().length, 0, "nothing uploaded");
    assert.ok(!(await allText(drop)).includes(SECRET_VALUE), "no private data in the drop tree");
    assert.ok(!h.output.includes(SECRET_VALUE), "no private data in the log");
    for (const e of Deno.readDirSync(victim)) {
      assert.equal(await Deno.readTextFile(path.join(victim, e.name)), SECRET_CURVE);
    }
  },
});

Deno.test({
  name: "klippel curve folder: a hard link to a private file in the curve folder is not read",
  ignore: needs,
  async fn() {
    const { h, drop, curves } = await setUp();
    await using _h = h;
    await Deno.remove(path.join(curves, "A-big.txt"));
    const secret = path.join(h.dir, "private-curve.txt");
    await Deno.writeTextFile(secret, SECRET_CURVE);
    await Deno.chmod(secret, 0o600);
    await Deno.link(secret, path.join(curves, "Private-secret.txt"));
    await h.start();
    await h.drop("klippel", `${UNIT}.txt`, Deno.readFileSync(fixture(`${UNIT}.txt`)));
    const note = await inError(h, drop);
    assert.match(note, /Private-secret\.txt/);
    assert.match(note, /hard link/);
    assert.equal(h.server.store.list().length, 0, "nothing uploaded");
    assert.ok(!note.includes(SECRET_VALUE));
    assert.equal((await Deno.lstat(secret)).nlink, 2, "the link is left as it was");
  },
});
