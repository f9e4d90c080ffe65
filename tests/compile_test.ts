/**
 * `deno task compile` and scripts/release.ts: builds with DENORT_BIN set to this deno binary
 * (no download needed; the result runs the Deno CLI, so it is inspected, not run) and checks
 * that each binary embeds every worker module and asset the agent loads at run time. The list
 * of those files is derived from the source by `runtimeLoadedFiles`, so a new worker or asset
 * missing from deno.json `compile.include` fails here.
 */
import assert from "#assert";
import path from "#path";
import { createHash } from "#crypto";
import { Buffer } from "node:buffer";
import {
  binaryName,
  compileOne,
  copyTree,
  parseBuildArgs,
  runFlags,
  stampCommit,
  TARGETS,
} from "../scripts/compile.ts";
import { BuildError } from "../scripts/compile/build_error.ts";
import { runtimeLoadedFiles } from "../scripts/compile/runtime_files.ts";
import { pruneToRuntime } from "../scripts/compile/prune.ts";
import {
  embeddedPackages,
  missingFromBinary,
  readEmbedded,
} from "../scripts/compile/binary_layout.ts";
import { agentRunFlags } from "../src/runtime.ts";
import denoJson from "../deno.json" with { type: "json" };
import { ownFixture } from "./_fixtures.ts";

const projectRoot = path.resolve(import.meta.dirname!, "..");
const host = Deno.build.target;
const app = ownFixture("compile", "app");

async function run(args: string[], env: Record<string, string> = {}, cwd = projectRoot) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function git(dir: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command("git", { args: ["-C", dir, ...args] }).output();
  assert.equal(r.code, 0, `git ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("runtimeLoadedFiles finds workers, assets, registry modules and what they import", async () => {
  const { files, problems } = await runtimeLoadedFiles(app);
  assert.deepEqual(problems, []);
  assert.deepEqual(files.map((f) => f.file), [
    "main.ts",
    "src/converters/alpha.ts", // only through the registry's dynamic import
    "src/converters/mod.ts",
    "src/helper.ts", // only through the worker
    "src/page/index.html", // new URL("./page/") is a folder: every file in it
    "src/page/style.css",
    "src/pool.ts",
    "src/server.ts",
    "src/worker.ts",
  ]);
  // Not required: src/types.ts (type-only import) and ghost.ts (only in comments).
  const worker = files.find((f) => f.file === "src/worker.ts")!;
  assert.equal(worker.reason, 'src/pool.ts:6 new URL("./worker.ts")');
});

Deno.test("a path built from a template requires every file in its static folder", async () => {
  const { files, problems } = await runtimeLoadedFiles(ownFixture("compile", "templated"));
  assert.deepEqual(problems, []);
  assert.deepEqual(files.map((f) => f.file), [
    "main.ts",
    "src/page/a.html",
    "src/page/app.js",
    "src/plugins/alpha.ts",
    "src/plugins/beta.ts",
    "src/registry.ts",
    "src/server.ts",
    "src/shared.ts", // imported by a plugin
  ]);
  const page = files.find((f) => f.file === "src/page/a.html")!;
  assert.match(
    page.reason,
    /^src\/server\.ts:3 new URL\(`\.\/page\/\$\{name\}`.*\(any file in \.\/page\/\)$/,
  );
});

Deno.test("runtimeLoadedFiles of the agent includes its worker, converters and the entry", async () => {
  const { files } = await runtimeLoadedFiles(projectRoot);
  const names = files.map((f) => f.file);
  assert.ok(names.includes("main.ts"));
  assert.ok(names.includes("src/version.ts"));
  assert.ok(names.includes("src/cli/service.ts"), "lazily loaded commands are included");
  assert.ok(names.includes("src/convert/converters/mod.ts"), "the converter registry is included");
  assert.ok(names.includes("src/convert/worker.ts"), "the pool's worker module is included");
  assert.ok(names.includes("src/control/page/index.html"), "the status page is included");
  // Every converter the registry imports is included.
  const registry = await Deno.readTextFile(
    path.join(projectRoot, "src", "convert", "converters", "mod.ts"),
  );
  for (const m of registry.matchAll(/import\("\.\/([^"]+)"\)/g)) {
    assert.ok(names.includes(`src/convert/converters/${m[1]}`), `converter ${m[1]} is included`);
  }
});

/** Every npm package (`name@version`) of the project's lock file. */
async function lockedPackages(root: string): Promise<string[]> {
  const lock = JSON.parse(await Deno.readTextFile(path.join(root, "deno.lock")));
  return [...new Set(Object.keys(lock.npm ?? {}).map((id) => id.replace(/(.@[^_]+)_.*$/, "$1")))]
    .sort();
}

Deno.test("the binary's npm packages are the runtime imports and their deps; test-only ones are left out", async () => {
  const { npm } = await runtimeLoadedFiles(projectRoot);
  assert.ok(npm.includes("npm:zod@4.6.7"), `zod is a runtime import: ${npm.join(", ")}`);
  assert.ok(!npm.some((s) => s.includes("playwright-core")), "only a test imports playwright-core");
  const denoJsonText = await Deno.readTextFile(path.join(projectRoot, "deno.json"));
  const lock = JSON.parse(await Deno.readTextFile(path.join(projectRoot, "deno.lock")));
  const pruned = pruneToRuntime(JSON.parse(denoJsonText), lock, npm);
  assert.ok(!pruned.packages.some((p) => p.startsWith("playwright-core@")), pruned.packages.join());
  assert.ok(pruned.dropped.some((d) => d.startsWith("playwright-core -> npm:playwright-core@")));
  assert.ok(!("playwright-core" in (pruned.denoJson.imports as Record<string, string>)));
  // Dependencies of kept packages stay (saxes needs xmlchars), and the lock stays consistent.
  assert.ok(pruned.packages.includes("xmlchars@2.2.0"), pruned.packages.join());
  for (const spec of pruned.lock.workspace?.dependencies ?? []) {
    assert.ok(spec in (pruned.lock.specifiers ?? {}), `${spec} is in the pruned lock`);
  }
  // A subpath import keeps its package.
  const sub = pruneToRuntime(JSON.parse(denoJsonText), lock, ["npm:zod@4.6.7/v4"]);
  assert.ok(sub.packages.includes("zod@4.6.7"));
  assert.ok(!sub.packages.some((p) => p.startsWith("saxes@")));
  assert.ok("playwright-core@1.65.1" in lock.npm);
});

Deno.test("a build without the includes fails the check; with them it passes", async () => {
  const { files: required } = await runtimeLoadedFiles(app);
  const out = await Deno.makeTempDir();
  try {
    const build = async (include: string[]) => {
      const output = path.join(out, `fixture-${include.length}`);
      await compileOne({
        root: app,
        entry: "main.ts",
        target: host,
        output,
        flags: ["--allow-read", "--no-prompt"],
        include,
        noConfig: true,
        denortBin: Deno.execPath(),
      });
      return Deno.readFile(output);
    };
    const missing = await missingFromBinary(await build([]), app, required);
    assert.deepEqual(missing.map((m) => m.split(" ")[0]), [
      "src/converters/alpha.ts",
      "src/converters/mod.ts",
      "src/helper.ts",
      "src/page/index.html",
      "src/page/style.css",
      "src/worker.ts",
    ]);
    const full = await build(["src/worker.ts", "src/page/"]);
    assert.deepEqual(await missingFromBinary(full, app, required), []);
    const embedded = readEmbedded(full);
    assert.ok(!embedded.files.includes("src/types.ts"), "type-only modules are not embedded");
    assert.equal(embedded.metadata.entrypoint_key, "main.ts");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("without a base runtime and no internet, compile says so and points at DENORT_BIN", {
  ignore: Deno.env.has("DENORT_BIN"),
}, async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // An empty DENO_DIR has no cached denort zip; the proxy makes any download fail at once.
    const env = {
      DENO_DIR: path.join(tmp, "deno-dir"),
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "",
    };
    const err = await compileOne({
      root: app,
      entry: "main.ts",
      target: "x86_64-pc-windows-msvc",
      output: path.join(tmp, "agent.exe"),
      flags: [],
      noConfig: true,
      env,
    }).then(() => null, (e) => e);
    assert.ok(err instanceof BuildError, `expected a BuildError, got ${err}`);
    assert.match(err.message, /could not get its base runtime for x86_64-pc-windows-msvc/);
    assert.match(
      err.message,
      /https:\/\/dl\.deno\.land\/release\/v[\d.]+\/denort-x86_64-pc-windows-msvc\.zip/,
    );
    assert.match(err.message, /DENORT_BIN=/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("stampCommit sets the COMMIT line of src/version.ts, and only that", async () => {
  const source = await Deno.readTextFile(path.join(projectRoot, "src", "version.ts"));
  const stamped = stampCommit(source, "0123456789ab-dirty");
  assert.match(stamped, /^export const COMMIT: string = "0123456789ab-dirty";$/m);
  assert.equal(stamped.replace('"0123456789ab-dirty"', '"dev"'), source);
  assert.throws(
    () => stampCommit(source.replace("export const COMMIT", "export const SHA"), "x"),
    /exactly once \(found 0\)/,
  );
});

Deno.test("baked permissions are the agent task's, and must stay equal to agentRunFlags", () => {
  assert.deepEqual(runFlags(denoJson), [...agentRunFlags]);
  assert.ok(agentRunFlags.includes("--no-prompt"));
  assert.throws(
    () => runFlags({ tasks: { agent: "deno run --allow-read --allow-ffi main.ts" } }),
    /tasks\.agent runs with --allow-read --allow-ffi but src\/runtime\.ts/,
  );
});

Deno.test("targets: five release targets, .exe for Windows; DENORT_BIN builds the host only", () => {
  assert.deepEqual(Object.keys(TARGETS).map(binaryName), [
    "agent-x86_64-unknown-linux-gnu",
    "agent-aarch64-unknown-linux-gnu",
    "agent-x86_64-pc-windows-msvc.exe",
    "agent-x86_64-apple-darwin",
    "agent-aarch64-apple-darwin",
  ]);
  assert.throws(() => binaryName("riscv64-unknown-linux-gnu"), /unknown target/);
  assert.throws(() => parseBuildArgs(["--bogus"]), /unknown argument "--bogus"/);
  assert.equal(parseBuildArgs(["--no-check"]).noCheck, true);
  const before = Deno.env.get("DENORT_BIN");
  try {
    Deno.env.delete("DENORT_BIN");
    assert.equal(parseBuildArgs([]).targets.length, 5);
    Deno.env.set("DENORT_BIN", Deno.execPath());
    assert.deepEqual(parseBuildArgs([]).targets, [host]);
  } finally {
    if (before === undefined) Deno.env.delete("DENORT_BIN");
    else Deno.env.set("DENORT_BIN", before);
  }
});

Deno.test("deno task compile embeds every runtime-loaded file, the permissions and the commit", async () => {
  // A snapshot of the project (with its git history), so that edits made to the work tree
  // while the build runs can't make the binary and the scanned sources disagree.
  const snap = await Deno.makeTempDir({ prefix: "agent-snapshot-" });
  try {
    for (const top of ["main.ts", "deno.json", "deno.lock", "src", "scripts", ".git"]) {
      await copyTree(path.join(projectRoot, top), path.join(snap, top));
    }
    const out = path.join(snap, "out");
    // --no-check: `deno task check` type-checks in CI; here only the build is under test.
    const r = await run(["task", "compile", "--target", host, "--out", out, "--no-check"], {
      DENORT_BIN: Deno.execPath(),
    }, snap);
    assert.equal(r.code, 0, `deno task compile failed:\n${r.stderr}`);
    assert.match(r.stderr, /That is the full Deno CLI, not denort/);
    const binary = await Deno.readFile(path.join(out, binaryName(host)));

    // Independent of the script's own check: scan the sources, look into the binary.
    const { files: required, npm, problems } = await runtimeLoadedFiles(snap);
    assert.deepEqual(problems, []);
    const embedded = new Set(readEmbedded(binary).files);
    const notEmbedded = required.filter((f) => !embedded.has(f.file));
    assert.deepEqual(
      notEmbedded.map((f) => `${f.file} (${f.reason})`),
      [],
      'add these to deno.json "compile.include"',
    );
    // The build stamps src/version.ts and prunes deno.json's import map (checked below).
    const others = required.filter((f) => !["src/version.ts", "deno.json"].includes(f.file));
    assert.deepEqual(await missingFromBinary(binary, snap, others), []);

    // Lean: exactly the runtime packages; nothing only tests import (e.g. playwright-core).
    const packages = embeddedPackages(readEmbedded(binary).files);
    const snapJson = JSON.parse(await Deno.readTextFile(path.join(snap, "deno.json")));
    const lock = JSON.parse(await Deno.readTextFile(path.join(snap, "deno.lock")));
    const pruned = pruneToRuntime(snapJson, lock, npm);
    const runtime = pruned.packages;
    const prunedJson = new TextEncoder().encode(JSON.stringify(pruned.denoJson, null, 2) + "\n");
    assert.ok(
      Buffer.from(binary).indexOf(prunedJson) >= 0,
      "the binary holds the pruned deno.json",
    );
    const testOnly = (await lockedPackages(snap)).filter((p) => !runtime.includes(p));
    assert.ok(testOnly.some((p) => p.startsWith("playwright-core@")), testOnly.join());
    assert.deepEqual(packages.filter((p) => testOnly.includes(p)), [], "test-only packages");
    assert.deepEqual(packages, runtime);
    const size = new RegExp(
      `${binaryName(host)}: [\\d.]+ MB \\(${binary.length} bytes\\), \\d+ embedded files, ` +
        `${runtime.length} npm packages`,
    );
    assert.match(r.stderr, size, "the compile prints the binary's size");
    assert.match(r.stderr, /left out \(not imported at run time\): .*playwright-core/);

    const { metadata } = readEmbedded(binary);
    const perms = metadata.permissions as Record<string, unknown>;
    // --allow-all (src/runtime.ts says why) is baked in as every kind granted for everything:
    // Deno then takes it as "all access" (which /proc/self/fd paths need).
    for (const kind of ["read", "write", "net", "env", "sys", "run", "ffi", "import"]) {
      assert.deepEqual(perms[`allow_${kind}`], [], `--allow-${kind} is baked in`);
    }
    assert.equal(perms.prompt, false, "--no-prompt is baked in");
    assert.equal(metadata.app_version, denoJson.version);
    assert.equal(metadata.entrypoint_key, "main.ts");

    const head = await git(snap, "rev-parse", "--short=12", "HEAD");
    const text = new TextDecoder("latin1").decode(binary);
    const stamp = /export const COMMIT: string = "([^"]*)";/.exec(text);
    if (!stamp) throw new Error("the stamped src/version.ts is not embedded");
    assert.match(stamp[1], new RegExp(`^${head}(-dirty)?$`));
    assert.match(
      r.stderr,
      new RegExp(`agent ${denoJson.version.replace(/\./g, "\\.")} \\(${stamp[1]}\\)`),
    );
    // The sources' own src/version.ts was not touched.
    assert.match(
      await Deno.readTextFile(path.join(snap, "src", "version.ts")),
      /^export const COMMIT: string = "dev";$/m,
    );
  } finally {
    await Deno.remove(snap, { recursive: true });
  }
});

Deno.test("release.ts builds and writes SHA256SUMS that sha256sum -c accepts", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await run(
      [
        "run",
        "-A",
        "scripts/release.ts",
        ...["--target", host, "--out", out, "--allow-dirty", "--no-check"],
      ],
      { DENORT_BIN: Deno.execPath() },
    );
    assert.equal(r.code, 0, `release failed:\n${r.stderr}`);
    const sums = await Deno.readTextFile(path.join(out, "SHA256SUMS"));
    const name = binaryName(host);
    const bytes = await Deno.readFile(path.join(out, name));
    const hex = createHash("sha256").update(bytes).digest("hex");
    assert.equal(sums, `${hex}  ${name}\n`);
    const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: out })
      .output().catch(() => null);
    if (check) assert.equal(check.code, 0, new TextDecoder().decode(check.stdout));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
