import assert from "#assert";
import path from "#path";
import {
  FileBusy,
  FolderRefused,
  moveNoOverwrite,
  moveToError,
  NotDurable,
  realPostEnv,
  removeSource,
} from "../../src/watch/post_action.ts";
import { noteText } from "../../src/watch/error_note.ts";
import type { PostEnv, PostFs } from "../../src/watch/fs_env.ts";
import { PinnedFolder, realFolderEnv } from "../../src/watch/pinned_folder.ts";
import { fitName, noteNames, numberedName, safeName, samePath } from "../../src/watch/safe_name.ts";
import { addSecrets } from "../../src/log/log.ts";

const note = (source: string) => ({
  reason: "line 3: no serial number",
  hint: "Add the serial number.",
  converter: "line2",
  format: "csv",
  correlationId: "abc123defg",
  source,
});

/** Folders reached by path, checked before and after each write (macOS, Windows). */
const byPath = { ...realFolderEnv, handles: undefined };

async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "post-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What `fn` threw (it must throw). */
async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected it to throw");
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("post action: move keeps the subfolder path and never overwrites", () =>
  inTemp(async (dir) => {
    const done = path.join(dir, "Done");
    await Deno.mkdir(path.join(done, "line1"), { recursive: true });
    await Deno.writeTextFile(path.join(done, "line1", "r.json"), "older");
    await Deno.writeTextFile(path.join(done, "line1", "r (1).json"), "older still");
    await Deno.mkdir(path.join(dir, "in", "line1"), { recursive: true });
    await Deno.writeTextFile(path.join(dir, "in", "line1", "r.json"), "newer");
    const pin = await PinnedFolder.pin(done);
    const to = await moveNoOverwrite(path.join(dir, "in", "line1", "r.json"), pin, "line1/r.json");
    assert.equal(to, path.join(done, "line1", "r (2).json"));
    assert.equal(await Deno.readTextFile(to), "newer");
    assert.equal(await Deno.readTextFile(path.join(done, "line1", "r.json")), "older");
    await assert.rejects(
      () => Deno.stat(path.join(dir, "in", "line1", "r.json")),
      Deno.errors.NotFound,
    );
    await Deno.writeTextFile(path.join(dir, "plain"), "no extension");
    const plain = await moveNoOverwrite(path.join(dir, "plain"), pin, "deep/er/plain");
    assert.equal(plain, path.join(done, "deep", "er", "plain"));
  }));

Deno.test("post action: a failed file goes to Error with <name>.error.txt saying why and what to do", () =>
  inTemp(async (dir) => {
    await Deno.mkdir(path.join(dir, "sub"));
    const src = path.join(dir, "sub", "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const pin = await PinnedFolder.pin(path.join(dir, "Error")); // not there yet
    const r = await moveToError(src, pin, "sub/bad.csv", note(src));
    assert.equal(r.moved, path.join(dir, "Error", "sub", "bad.csv"));
    assert.equal(r.note, r.moved + ".error.txt");
    const text = await Deno.readTextFile(r.moved + ".error.txt");
    assert.match(text, /What happened: line 3: no serial number/);
    assert.match(text, /What to do: Add the serial number\./);
    assert.match(text, /Correlation: abc123defg/);
    assert.match(text, /move it back into the drop folder/);
  }));

Deno.test("post action: an Error folder swapped for a symlink after pinning is refused, nothing written", () =>
  inTemp(async (dir) => {
    const elsewhere = path.join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    const drop = path.join(dir, "drop");
    await Deno.mkdir(path.join(drop, "Error"), { recursive: true });
    const pin = await PinnedFolder.pin(path.join(drop, "Error"));
    await Deno.remove(path.join(drop, "Error"));
    await Deno.symlink(elsewhere, path.join(drop, "Error"));
    const src = path.join(drop, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src)));
    assert.ok(e instanceof FolderRefused, String(e));
    assert.match(e.message, /symbolic link/);
    assert.equal((e as FolderRefused).folder, path.join(drop, "Error"));
    assert.deepEqual(await names(elsewhere), []);
    assert.equal(await Deno.readTextFile(src), "broken", "the source stays");
  }));

Deno.test("post action: a symlinked subfolder (recursive watch) is refused; a dangling one too", () =>
  inTemp(async (dir) => {
    const elsewhere = path.join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    const done = path.join(dir, "Done");
    await Deno.mkdir(done);
    await Deno.symlink(elsewhere, path.join(done, "line1"));
    await Deno.symlink(path.join(dir, "nowhere"), path.join(done, "line2"));
    const pin = await PinnedFolder.pin(done);
    for (const sub of ["line1", "line2"]) {
      const src = path.join(dir, `${sub}.txt`);
      await Deno.writeTextFile(src, "ok");
      const e = await thrown(() => moveNoOverwrite(src, pin, `${sub}/deeper/r.txt`));
      assert.ok(e instanceof FolderRefused, String(e));
      assert.ok(e.message.includes(path.join(done, sub)), e.message);
      assert.equal(await Deno.readTextFile(src), "ok");
    }
    assert.deepEqual(await names(elsewhere), []);
    await assert.rejects(() => Deno.lstat(path.join(dir, "nowhere")), Deno.errors.NotFound);
  }));

Deno.test("post action: a folder the operator configured as a symlink is pinned to its target", () =>
  inTemp(async (dir) => {
    const target = path.join(dir, "target");
    await Deno.mkdir(target);
    await Deno.symlink(target, path.join(dir, "Done"));
    const pin = await PinnedFolder.pin(path.join(dir, "Done"));
    assert.equal(pin.real, await Deno.realPath(target));
    assert.equal(pin.linkedTo, await Deno.realPath(target));
    await Deno.writeTextFile(path.join(dir, "r.txt"), "ok");
    const to = await moveNoOverwrite(path.join(dir, "r.txt"), pin, "r.txt");
    assert.equal(await Deno.readTextFile(path.join(target, "r.txt")), "ok");
    assert.equal(to, path.join(pin.real, "r.txt"));
    // Re-pointing the link later is a swap.
    const other = path.join(dir, "other");
    await Deno.mkdir(other);
    await Deno.remove(path.join(dir, "Done"));
    await Deno.symlink(other, path.join(dir, "Done"));
    await Deno.writeTextFile(path.join(dir, "s.txt"), "ok");
    await moveNoOverwrite(path.join(dir, "s.txt"), pin, "s.txt");
    assert.deepEqual(await names(other), [], "still the pinned place");
  }));

Deno.test("post action: a symlink planted at the note's (or the file's) name is never written through", () =>
  inTemp(async (dir) => {
    const victim = path.join(dir, "victim");
    await Deno.writeTextFile(victim, "precious");
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    await Deno.symlink(victim, path.join(errorDir, "bad.csv.error.txt"));
    await Deno.symlink(path.join(dir, "created"), path.join(errorDir, "bad (1).csv"));
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const r = await moveToError(src, await PinnedFolder.pin(errorDir), "bad.csv", note(src));
    assert.equal(r.moved, path.join(errorDir, "bad (2).csv"));
    assert.equal(r.note, path.join(errorDir, "bad (2).csv.error.txt"));
    assert.equal(await Deno.readTextFile(victim), "precious");
    await assert.rejects(() => Deno.lstat(path.join(dir, "created")), Deno.errors.NotFound);
  }));

Deno.test("post action: a name too long for its note gets a shortened note naming the file", () =>
  inTemp(async (dir) => {
    const name = "L".repeat(246) + ".csv";
    const src = path.join(dir, name);
    await Deno.writeTextFile(src, "broken");
    const r = await moveToError(
      src,
      await PinnedFolder.pin(path.join(dir, "Error")),
      name,
      note(src),
    );
    assert.equal(r.moved, path.join(dir, "Error", name));
    assert.ok(new TextEncoder().encode(path.basename(r.note)).length <= 255);
    assert.match(path.basename(r.note), /^L+~[0-9a-f]{8}\.error\.txt$/);
    assert.ok((await Deno.readTextFile(r.note)).includes(`Moved to:    ${r.moved}`));
    // Same name again: ` (1)` must fit too, and so must its note.
    await Deno.writeTextFile(src, "broken again");
    const r2 = await moveToError(
      src,
      await PinnedFolder.pin(path.join(dir, "Error")),
      name,
      note(src),
    );
    assert.notEqual(r2.moved, r.moved);
    assert.ok(r2.note && r2.note !== r.note);
  }));

/** Records each call to the real file system, in order (a held folder by its real name). */
function recording(): { env: PostEnv; calls: string[] } {
  const calls: string[] = [];
  const name = (p: string) =>
    path.basename(/^\/proc\/self\/fd\/\d+$/.test(p) ? Deno.realPathSync(p) : p);
  const fs = Object.fromEntries(
    Object.entries(realPostEnv.fs).map(([k, f]) => [k, (...a: string[]) => {
      calls.push(`${k} ${a.filter((p) => typeof p === "string").map(name).join(" ")}`);
      return (f as (...a: unknown[]) => unknown)(...a);
    }]),
  ) as unknown as PostFs;
  return { env: { ...realPostEnv, fs }, calls };
}

Deno.test("post action: each step is durable before the next (note and folders fsynced)", () =>
  inTemp(async (dir) => {
    await Deno.mkdir(path.join(dir, "in"));
    await Deno.mkdir(path.join(dir, "Error"));
    const src = path.join(dir, "in", "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const { env, calls } = recording();
    await moveToError(
      src,
      await PinnedFolder.pin(path.join(dir, "Error")),
      "bad.csv",
      note(src),
      env,
    );
    const acts = calls.filter((c) => /^(link|remove|syncDir|writeNew|copyNew)/.test(c));
    assert.deepEqual(acts, [
      "writeNew bad.csv.error.txt", // the note first (writeNew fsyncs the file itself) …
      "syncDir Error", // … durable before the file takes its name
      "link bad.csv bad.csv",
      "syncDir Error", // the new name is durable before the old one goes
      "remove bad.csv",
      "syncDir in",
    ]);
    await Deno.writeTextFile(src, "done");
    calls.length = 0;
    await removeSource(src, env);
    assert.deepEqual(calls, ["remove bad.csv", "syncDir in"]);
  }));

Deno.test("post action: note text escapes control characters and masks secrets", () => {
  addSecrets(["sekrit-token-123"]);
  const text = noteText(
    { ...note("/d/evil\x1b[2J\u202e.csv"), reason: "got sekrit-token-123\nback" },
    "/d/Error/evil\x1b[2J\u202e.csv",
  );
  assert.ok(text.includes("File:        /d/evil\\x1b[2J\\u202e.csv"), text);
  assert.ok(text.includes("What happened: got ***\\nback"), text);
  assert.ok(!text.includes("\x1b") && !text.includes("sekrit"));
});

Deno.test("safe names: Windows reserved names, trailing dots and spaces, invalid characters", () => {
  const cases: [string, string][] = [
    ["CON", "_CON"],
    ["con.txt", "_con.txt"],
    ["Nul.tar.gz", "_Nul.tar.gz"],
    ["COM1.csv", "_COM1.csv"],
    ["lpt9", "_lpt9"],
    ["CON .txt", "_CON .txt"],
    ["conin$", "_conin$"],
    ["report.", "report_"],
    ["report. .", "report___"],
    ["a b ", "a b_"],
    ["a:b?.csv", "a_b_.csv"],
    ["CONSOLE.txt", "CONSOLE.txt"],
    ["COM10.txt", "COM10.txt"],
    ["ok.csv", "ok.csv"],
  ];
  for (const [name, safe] of cases) assert.equal(safeName(name, "windows"), safe, name);
  assert.equal(safeName("CON", "linux"), "CON");
  assert.equal(safeName("report.", "darwin"), "report.");
});

Deno.test("safe names: fitted to 255 bytes at character boundaries, notes shortened stably", () => {
  assert.equal(fitName("abc", ".txt"), "abc.txt");
  const long = "é".repeat(200); // 400 bytes
  const fitted = fitName(long, " (1).csv");
  assert.ok(new TextEncoder().encode(fitted).length <= 255);
  assert.ok(fitted.endsWith("é (1).csv"));
  assert.equal(numberedName("r.json", 2), "r (2).json");
  assert.equal(numberedName(".hidden", 1), ".hidden (1)");
  const n250 = "x".repeat(246) + ".csv";
  const a = noteNames(n250);
  assert.deepEqual(a, noteNames(n250), "deterministic");
  assert.ok(a.every((n) => new TextEncoder().encode(n).length <= 255));
  assert.notEqual(noteNames("x".repeat(245) + "y.csv")[0], a[0], "distinct names stay distinct");
  assert.deepEqual(noteNames("ok.csv")[0], "ok.csv.error.txt");
  assert.ok(samePath("C:\\Drop\\Error", "c:\\drop\\ERROR", "windows"));
  assert.ok(!samePath("/drop/Error", "/drop/error", "linux"));
});

// ---- Windows behaviour, without Windows: an in-memory file system over path.win32 ----

type Entry = { name: string; dir: boolean; ino: number; data: Uint8Array };
type Hook = (op: string, a: string, b?: string) => void;

function errorWith(code: string, cls: new (m: string) => Error = Error): Error {
  return Object.assign(new cls(`${code} (injected)`), { code });
}

/** Case-insensitive like NTFS; `hook` may throw to inject an error before an operation. */
class WinFs implements PostFs {
  entries = new Map<string, Entry>();
  #ino = 1;
  syncs: string[] = [];
  hook: Hook = () => {};
  #key = (p: string) => path.win32.resolve(p).toLowerCase();
  add(p: string, dir: boolean, text = ""): void {
    this.entries.set(this.#key(p), {
      name: path.win32.resolve(p),
      dir,
      ino: this.#ino++,
      data: new TextEncoder().encode(text),
    });
  }
  #get(p: string): Entry {
    const e = this.entries.get(this.#key(p));
    if (!e) throw new Deno.errors.NotFound(p);
    return e;
  }
  #free(p: string): void {
    if (this.entries.has(this.#key(p))) throw new Deno.errors.AlreadyExists(p);
    this.#get(path.win32.dirname(p));
  }
  #info(e: Entry): Deno.FileInfo {
    return {
      isFile: !e.dir,
      isDirectory: e.dir,
      isSymlink: false,
      size: e.data.length,
      ino: e.ino,
      dev: 1,
      mtime: null,
    } as unknown as Deno.FileInfo;
  }
  text(p: string): string {
    return new TextDecoder().decode(this.#get(p).data);
  }
  has(p: string): boolean {
    return this.entries.has(this.#key(p));
  }
  lstat = (p: string) => Promise.resolve().then(() => this.#info(this.#get(p)));
  realPath = (p: string) => Promise.resolve().then(() => this.#get(p).name);
  mkdir = (p: string) =>
    Promise.resolve().then(() => {
      this.hook("mkdir", p);
      this.#free(p);
      this.add(p, true);
    });
  link = (_a: string, _b: string) => Promise.reject(new Error("not used on Windows"));
  readLink = (p: string) => Promise.reject(new Error(`${p}: no links here`));
  list = (d: string) =>
    Promise.resolve().then(() =>
      [...this.entries.values()]
        .filter((e) => path.win32.dirname(e.name).toLowerCase() === this.#key(d))
        .map((e) => ({
          name: path.win32.basename(e.name),
          isFile: !e.dir,
          isDirectory: e.dir,
          isSymlink: false,
        }))
    );
  rename = (a: string, b: string) =>
    Promise.resolve().then(() => {
      this.hook("rename", a, b);
      const e = this.#get(a);
      this.#get(path.win32.dirname(b));
      this.entries.delete(this.#key(a));
      this.entries.set(this.#key(b), { ...e, name: path.win32.resolve(b) });
    });
  copyNew = (a: string, b: string) =>
    Promise.resolve().then(() => {
      this.hook("copyNew", a, b);
      const data = this.#get(a).data;
      this.#free(b);
      this.add(b, false);
      this.#get(b).data = data;
      return this.#info(this.#get(b));
    });
  writeNew = (p: string, data: Uint8Array) =>
    Promise.resolve().then(() => {
      this.hook("writeNew", p);
      this.#free(p);
      this.add(p, false);
      this.#get(p).data = data;
      return this.#info(this.#get(p));
    });
  readSmall = (p: string, max: number) =>
    Promise.resolve().then(() => {
      const e = this.#get(p);
      return { info: this.#info(e), data: e.data.slice(0, max + 1) };
    });
  remove = (p: string) =>
    Promise.resolve().then(() => {
      this.hook("remove", p);
      this.#get(p);
      this.entries.delete(this.#key(p));
    });
  syncDir = (d: string) => Promise.resolve().then(() => void this.syncs.push(d));
}

function winEnv(fs: WinFs): PostEnv {
  return {
    fs,
    os: "windows",
    path: path.win32 as typeof path.posix,
    sleep: () => Promise.resolve(),
  };
}

async function winSetup() {
  const fs = new WinFs();
  for (const d of ["C:\\", "C:\\Drop", "C:\\Drop\\Error"]) fs.add(d, true);
  fs.add("C:\\Drop\\bad.csv", false, "broken");
  const pin = await PinnedFolder.pin("c:\\drop\\error", winEnv(fs)); // other case than on disk
  return { fs, pin, env: winEnv(fs) };
}

Deno.test("post action (Windows): paths compare without case; a file in use is retried, then left alone", async () => {
  const { fs, pin, env } = await winSetup();
  let busy = 3;
  fs.hook = (op) => {
    if (op === "rename" && busy-- > 0) throw errorWith("EBUSY", Deno.errors.Busy);
  };
  const r = await moveToError("C:\\Drop\\bad.csv", pin, "bad.csv", note("C:\\Drop\\bad.csv"), env);
  assert.equal(r.moved.toLowerCase(), "c:\\drop\\error\\bad.csv");
  assert.ok(fs.has("C:\\Drop\\Error\\bad.csv.error.txt"));
  assert.ok(!fs.has("C:\\Drop\\bad.csv"));

  // Held open for good (a tester that never closes it): FileBusy, nothing changed anywhere.
  const { fs: fs2, pin: pin2, env: env2 } = await winSetup();
  fs2.hook = (op) => {
    if (op === "rename") throw errorWith("EACCES", Deno.errors.PermissionDenied);
  };
  const e = await thrown(() =>
    moveToError("C:\\Drop\\bad.csv", pin2, "bad.csv", note("C:\\Drop\\bad.csv"), env2)
  );
  assert.ok(e instanceof FileBusy, String(e));
  assert.equal(fs2.text("C:\\Drop\\bad.csv"), "broken");
  assert.ok(!fs2.has("C:\\Drop\\Error\\bad.csv") && !fs2.has("C:\\Drop\\Error\\bad.csv.error.txt"));
});

Deno.test("post action (Windows): another volume copies; a busy source then undoes the copy", async () => {
  const { fs, pin, env } = await winSetup();
  fs.hook = (op, a) => {
    if (op === "rename") throw errorWith("EXDEV");
    if (op === "remove" && a.endsWith("bad.csv") && a.includes("Drop\\bad")) {
      throw errorWith("EBUSY", Deno.errors.Busy);
    }
  };
  const e = await thrown(() => moveNoOverwrite("C:\\Drop\\bad.csv", pin, "bad.csv", { env }));
  assert.ok(e instanceof FileBusy, String(e));
  assert.ok(fs.has("C:\\Drop\\bad.csv"), "the source stays");
  assert.ok(!fs.has("C:\\Drop\\Error\\bad.csv"), "the copy is gone: the file is in one place");

  fs.hook = (op) => { // ERROR_NOT_SAME_DEVICE as Deno may report it
    if (op === "rename") {
      throw new Error("The system cannot move the file to a different disk drive. (os error 17)");
    }
  };
  const to = await moveNoOverwrite("C:\\Drop\\bad.csv", pin, "bad.csv", { env });
  assert.equal(fs.text(to), "broken");
  assert.ok(!fs.has("C:\\Drop\\bad.csv"));
});

Deno.test("post action (Windows): reserved and trailing-dot names get a name Windows can create", async () => {
  const { fs, pin, env } = await winSetup();
  fs.add("C:\\Drop\\CON.csv", false, "a");
  fs.add("C:\\Drop\\sub.", true);
  fs.add("C:\\Drop\\sub.\\report.", false, "b");
  fs.hook = (op, a, b) => { // what Windows refuses to create
    if (op === "remove") return;
    const base = path.win32.basename(b ?? a);
    if (/^(con|nul)(\.|$)/i.test(base) || /[. ]$/.test(base)) {
      throw errorWith("EINVAL", Deno.errors.InvalidData);
    }
  };
  const a = await moveToError("C:\\Drop\\CON.csv", pin, "CON.csv", note("C:\\Drop\\CON.csv"), env);
  assert.equal(path.win32.basename(a.moved), "_CON.csv");
  assert.ok(a.note?.endsWith("_CON.csv.error.txt"));
  const b = await moveNoOverwrite("C:\\Drop\\sub.\\report.", pin, "sub./report.", { env });
  assert.equal(b, "C:\\Drop\\Error\\sub_\\report_");
  // A taken name in another case is taken: `(1)` is added.
  fs.add("C:\\Drop\\Again.csv", false, "c");
  fs.add("C:\\Drop\\Error\\AGAIN.CSV", false, "older");
  const c = await moveNoOverwrite("C:\\Drop\\Again.csv", pin, "Again.csv", { env });
  assert.equal(path.win32.basename(c), "Again (1).csv");
});

Deno.test("post action (Windows): deleting a file in use retries, then reports it busy", async () => {
  const { fs, env } = await winSetup();
  let tries = 0;
  fs.hook = (op) => {
    if (op === "remove") {
      tries++;
      throw errorWith("EBUSY", Deno.errors.Busy);
    }
  };
  const e = await thrown(() => removeSource("C:\\Drop\\bad.csv", env));
  assert.ok(e instanceof FileBusy);
  assert.equal(tries, 7, "the first try and six retries");
  assert.ok(fs.has("C:\\Drop\\bad.csv"));
});

Deno.test("post action (Linux): EPERM on link means no hard links here: the file is copied", () =>
  inTemp(async (dir) => {
    const src = path.join(dir, "r.txt");
    await Deno.writeTextFile(src, "content");
    const env: PostEnv = {
      ...realPostEnv,
      os: "linux",
      fs: { ...realPostEnv.fs, link: () => Promise.reject(errorWith("EPERM")) },
    };
    const to = await moveNoOverwrite(src, await PinnedFolder.pin(path.join(dir, "Done")), "r.txt", {
      env,
    });
    assert.equal(await Deno.readTextFile(to), "content");
    await assert.rejects(() => Deno.stat(src), Deno.errors.NotFound);
  }));

Deno.test("post action: a source folder that can't be synced after the move is said, not called a failed move", () =>
  inTemp(async (dir) => {
    await Deno.mkdir(path.join(dir, "in"));
    const src = path.join(dir, "in", "r.txt");
    await Deno.writeTextFile(src, "content");
    const env: PostEnv = {
      ...realPostEnv,
      fs: {
        ...realPostEnv.fs,
        syncDir: (d) =>
          path.basename(d) === "in" ? Promise.reject(errorWith("EIO")) : realPostEnv.fs.syncDir(d),
      },
    };
    const pin = await PinnedFolder.pin(path.join(dir, "Done"));
    const e = await thrown(() => moveNoOverwrite(src, pin, "r.txt", { env }));
    assert.ok(e instanceof NotDurable, String(e));
    const to = (e as NotDurable).to ?? "";
    assert.equal(to, path.join(dir, "Done", "r.txt"));
    assert.equal(await Deno.readTextFile(to), "content", "it did move");

    await Deno.writeTextFile(src, "broken");
    const r = await moveToError(
      src,
      await PinnedFolder.pin(path.join(dir, "Error")),
      "r.txt",
      note(src),
      env,
    );
    assert.match(
      await Deno.readTextFile(r.note),
      /line 3: no serial number/,
      "the note is still written",
    );
    assert.match(r.unsynced ?? "", /could not be synced/);

    await Deno.writeTextFile(src, "done");
    const d = await thrown(() => removeSource(src, env));
    assert.ok(d instanceof NotDurable && d.to === null);
  }));

Deno.test("post action: a followed link is moved as the link; its target stays", () =>
  inTemp(async (dir) => {
    const target = path.join(dir, "target.txt");
    await Deno.writeTextFile(target, "content");
    const link = path.join(dir, "link.txt");
    await Deno.symlink(target, link);
    const to = await moveNoOverwrite(
      link,
      await PinnedFolder.pin(path.join(dir, "Done")),
      "link.txt",
    );
    assert.equal(await Deno.readTextFile(to), "content");
    assert.equal(await Deno.readTextFile(target), "content", "the target is kept");
    await assert.rejects(() => Deno.lstat(link), Deno.errors.NotFound);
  }));

Deno.test("post action (by path): a folder swapped between the check and the write is caught after it, and undone", () =>
  inTemp(async (dir) => {
    const elsewhere = path.join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const pin = await PinnedFolder.pin(errorDir, byPath);
    const swapThenLink = async (from: string, to: string) => {
      await Deno.rename(errorDir, path.join(dir, "Error.was"));
      await Deno.symlink(elsewhere, errorDir); // the race an attacker would have to win
      await Deno.link(from, to);
    };
    const env: PostEnv = { ...realPostEnv, fs: { ...realPostEnv.fs, link: swapThenLink } };
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src), env));
    assert.ok(e instanceof FolderRefused, String(e));
    assert.match(e.message, /replaced|symbolic link/);
    assert.deepEqual(await names(elsewhere), [], "the name written through the swap is taken back");
    assert.equal(await Deno.readTextFile(src), "broken", "the source stays");
  }));

Deno.test("post action: a note that can't be written moves nothing, and says which note and why", () =>
  inTemp(async (dir) => {
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const env: PostEnv = {
      ...realPostEnv,
      fs: { ...realPostEnv.fs, writeNew: () => Promise.reject(errorWith("ENOSPC")) },
    };
    const pin = await PinnedFolder.pin(path.join(dir, "Error"));
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src), env));
    assert.match(e.message, /the note .*bad\.csv\.error\.txt can't be written \(ENOSPC/);
    assert.equal(await Deno.readTextFile(src), "broken", "the source stays");
    assert.deepEqual(await names(path.join(dir, "Error")), [], "no file in Error without a note");
  }));

Deno.test("post action: a name taken after its note was written: the note goes, the next name is used", () =>
  inTemp(async (dir) => {
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    let raced = false;
    const env: PostEnv = {
      ...realPostEnv,
      fs: {
        ...realPostEnv.fs,
        link: async (from, to) => {
          if (!raced) {
            raced = true; // another program creates the name between the look and the link
            await Deno.writeTextFile(to, "someone else's");
          }
          await Deno.link(from, to);
        },
      },
    };
    const r = await moveToError(src, await PinnedFolder.pin(errorDir), "bad.csv", note(src), env);
    assert.equal(r.moved, path.join(errorDir, "bad (1).csv"));
    assert.equal(r.note, path.join(errorDir, "bad (1).csv.error.txt"));
    assert.deepEqual(await names(errorDir), ["bad (1).csv", "bad (1).csv.error.txt", "bad.csv"]);
    assert.equal(await Deno.readTextFile(path.join(errorDir, "bad.csv")), "someone else's");
  }));

Deno.test("post action: a note left by a crash is replaced; a file at a note's name that isn't one is kept", () =>
  inTemp(async (dir) => {
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    // The agent wrote the note, then died before the file followed.
    const left = path.join(errorDir, "bad.csv.error.txt");
    await Deno.writeTextFile(
      left,
      noteText({ ...note(src), correlationId: "before-crash" }, path.join(errorDir, "bad.csv")),
    );
    // Not notes of this move: another source's, a person's file, a hard link to a secret.
    await Deno.writeTextFile(
      path.join(errorDir, "bad (1).csv.error.txt"),
      noteText(note(path.join(dir, "other", "bad.csv")), path.join(errorDir, "bad (1).csv")),
    );
    await Deno.writeTextFile(path.join(errorDir, "bad (2).csv.error.txt"), "my own notes");
    const secret = path.join(dir, "secret");
    await Deno.writeTextFile(secret, "File:        s3cret");
    await Deno.link(secret, path.join(errorDir, "bad (3).csv.error.txt"));
    const pin = await PinnedFolder.pin(errorDir);
    const r = await moveToError(src, pin, "bad.csv", note(src));
    assert.equal(r.moved, path.join(errorDir, "bad.csv"));
    assert.equal(r.note, left);
    assert.match(await Deno.readTextFile(left), /Correlation: abc123defg/, "a new note");

    await Deno.writeTextFile(src, "broken again");
    const r2 = await moveToError(src, pin, "bad.csv", note(src));
    assert.equal(r2.moved, path.join(errorDir, "bad (4).csv"));
    assert.equal(
      await Deno.readTextFile(path.join(errorDir, "bad (2).csv.error.txt")),
      "my own notes",
    );
    assert.equal(await Deno.readTextFile(secret), "File:        s3cret");
    assert.match(await Deno.readTextFile(path.join(errorDir, "bad (1).csv.error.txt")), /other/);
  }));

Deno.test("post action: a note replaced between its write and its check is refused, nothing moved", () =>
  inTemp(async (dir) => {
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const env: PostEnv = {
      ...realPostEnv,
      fs: {
        ...realPostEnv.fs,
        writeNew: async (p, data) => {
          const st = await realPostEnv.fs.writeNew(p, data);
          await Deno.remove(p);
          await Deno.symlink(path.join(dir, "elsewhere"), p); // swapped before the check
          return st;
        },
      },
    };
    const pin = await PinnedFolder.pin(errorDir);
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src), env));
    assert.ok(e instanceof FolderRefused, String(e));
    assert.match(e.message, /is not the note the agent wrote/);
    assert.equal(await Deno.readTextFile(src), "broken", "the source stays");
    assert.deepEqual(await names(errorDir), ["bad.csv.error.txt"], "only the planted link");
    assert.ok((await Deno.lstat(path.join(errorDir, "bad.csv.error.txt"))).isSymlink);
  }));

Deno.test("post action: a move a crash left half done (the file linked, its source still there) is finished, not doubled", () =>
  inTemp(async (dir) => {
    const done = path.join(dir, "Done");
    await Deno.mkdir(done);
    const src = path.join(dir, "r.txt");
    await Deno.writeTextFile(src, "content");
    await Deno.link(src, path.join(done, "r.txt")); // then the agent was killed
    await Deno.writeTextFile(path.join(done, "s.txt"), "content"); // same bytes, another file
    await Deno.writeTextFile(path.join(dir, "s.txt"), "content");
    const pin = await PinnedFolder.pin(done);
    assert.equal(await moveNoOverwrite(src, pin, "r.txt"), path.join(done, "r.txt"));
    assert.equal(
      await moveNoOverwrite(path.join(dir, "s.txt"), pin, "s.txt"),
      path.join(done, "s (1).txt"),
    );
    assert.deepEqual(await names(done), ["r.txt", "s (1).txt", "s.txt"]);
    await assert.rejects(() => Deno.lstat(src), Deno.errors.NotFound);
  }));

// ---- Swaps an attacker wins for an instant (renameat2 RENAME_EXCHANGE), made deterministic ----

/** Exchanges folder `dir` with a link to `elsewhere` around `op`, then back (the link kept beside). */
async function exchanged<T>(dir: string, elsewhere: string, op: () => Promise<T>): Promise<T> {
  const aside = dir + ".real";
  await Deno.rename(dir, aside);
  await Deno.symlink(elsewhere, dir);
  try {
    return await op();
  } finally {
    await Deno.rename(dir, dir + ".link"); // the attacker's link stays beside the folder
    await Deno.rename(aside, dir);
  }
}

Deno.test("post action (by path): a file linked through a folder swapped for an instant is found by its inode and taken back", () =>
  inTemp(async (dir) => {
    const elsewhere = path.join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const pin = await PinnedFolder.pin(errorDir, byPath);
    const env: PostEnv = {
      ...realPostEnv,
      fs: {
        ...realPostEnv.fs,
        link: (from, to) => exchanged(errorDir, elsewhere, () => Deno.link(from, to)),
      },
    };
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "echo pwned");
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src), env));
    assert.ok(e instanceof FolderRefused, String(e));
    assert.deepEqual(await names(elsewhere), [], "the stray hard link is taken back");
    assert.match(
      e.message,
      new RegExp(`created at ${path.join(elsewhere, "bad.csv")} through a swapped folder`),
    );
    assert.equal(await Deno.readTextFile(src), "echo pwned", "the source stays");
    assert.deepEqual(await names(errorDir), [], "its note is taken back too");
  }));

Deno.test("post action (by path): a note written through a folder swapped for an instant is found by its inode and taken back", () =>
  inTemp(async (dir) => {
    const elsewhere = path.join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    const errorDir = path.join(dir, "Error");
    await Deno.mkdir(errorDir);
    const pin = await PinnedFolder.pin(errorDir, byPath);
    const env: PostEnv = {
      ...realPostEnv,
      fs: {
        ...realPostEnv.fs,
        writeNew: (p, data) =>
          exchanged(errorDir, elsewhere, () => realPostEnv.fs.writeNew(p, data)),
      },
    };
    const src = path.join(dir, "bad.csv");
    await Deno.writeTextFile(src, "broken");
    const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src), env));
    assert.ok(e instanceof FolderRefused, String(e));
    assert.deepEqual(await names(elsewhere), [], "the stray note is taken back");
    assert.match(e.message, new RegExp(`${path.join(elsewhere, "bad.csv.error.txt")}`));
    assert.equal(await Deno.readTextFile(src), "broken", "the source stays");
  }));

Deno.test({
  name: "post action (held, Linux): a folder swapped for an instant during each write changes " +
    "nothing: the note and the file go into the folder held open, nothing elsewhere",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    inTemp(async (dir) => {
      const elsewhere = path.join(dir, "elsewhere");
      await Deno.mkdir(elsewhere);
      const errorDir = path.join(dir, "Error");
      await Deno.mkdir(errorDir);
      const pin = await PinnedFolder.pin(errorDir);
      const swapped = <T>(act: () => Promise<T>) => exchanged(errorDir, elsewhere, act);
      const env: PostEnv = {
        ...realPostEnv,
        fs: {
          ...realPostEnv.fs,
          link: (from, to) => swapped(() => Deno.link(from, to)),
          writeNew: (p, data) => swapped(() => realPostEnv.fs.writeNew(p, data)),
          lstat: (p) => swapped(() => Deno.lstat(p)),
        },
      };
      const src = path.join(dir, "bad.csv");
      await Deno.writeTextFile(src, "broken");
      const r = await moveToError(src, pin, "bad.csv", note(src), env);
      assert.equal(r.moved, path.join(errorDir, "bad.csv"), "messages say the real path");
      assert.equal(r.note, path.join(errorDir, "bad.csv.error.txt"));
      assert.deepEqual(await names(errorDir), ["bad.csv", "bad.csv.error.txt"]);
      assert.match(await Deno.readTextFile(r.note), new RegExp(`Moved to: +${r.moved}`));
      assert.deepEqual(await names(elsewhere), [], "nothing written through the swap");

      // Replaced by a link for good: the next move is refused, nothing goes through it.
      await Deno.rename(errorDir, path.join(dir, "Error.was"));
      await Deno.symlink(elsewhere, errorDir);
      await Deno.writeTextFile(src, "broken again");
      const e = await thrown(() => moveToError(src, pin, "bad.csv", note(src)));
      assert.ok(e instanceof FolderRefused, String(e));
      assert.match(e.message, /is not a plain folder now \(a symbolic link or a file\)/);
      assert.deepEqual(await names(elsewhere), []);
      assert.equal(await Deno.readTextFile(src), "broken again", "the source stays");
    }),
});

Deno.test("post action: a copy (another volume) reads only the file checked, never a link swapped in; a private file stays private", () =>
  inTemp(async (dir) => {
    const secret = path.join(dir, "secret");
    await Deno.writeTextFile(secret, "TOPSECRET root:$6$hash");
    await Deno.chmod(secret, 0o600);
    const src = path.join(dir, "c.json");
    const crossDevice = () => Promise.reject(errorWith("EXDEV"));
    const swaps: Array<[string, () => Promise<void>]> = [
      ["a link to a private file", () => Deno.symlink(secret, src)],
      ["another file", () => Deno.writeTextFile(src, "{}")],
    ];
    const done = await PinnedFolder.pin(path.join(dir, "Done"));
    for (const [what, swapIn] of swaps) {
      await Deno.writeTextFile(src, "report");
      const env: PostEnv = {
        ...realPostEnv,
        fs: {
          ...realPostEnv.fs,
          link: crossDevice,
          copyNew: async (from, to, expect) => {
            await Deno.remove(from); // swapped after the last look, before the open
            await swapIn();
            return await realPostEnv.fs.copyNew(from, to, expect);
          },
        },
      };
      const e = await thrown(() => moveNoOverwrite(src, done, "c.json", { env }));
      assert.match(e.message, /is not the file the agent checked/, what);
      assert.deepEqual(await names(path.join(dir, "Done")), [], `${what}: nothing copied`);
      await Deno.remove(src);
    }

    await Deno.writeTextFile(src, "private report");
    await Deno.chmod(src, 0o600);
    const env: PostEnv = { ...realPostEnv, fs: { ...realPostEnv.fs, link: crossDevice } };
    const to = await moveNoOverwrite(src, done, "c.json", { env });
    assert.equal(await Deno.readTextFile(to), "private report");
    assert.equal(
      (await Deno.stat(to)).mode! & 0o777,
      0o600,
      "the copy is no wider than its source",
    );
  }));
