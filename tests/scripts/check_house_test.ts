/**
 * scripts/check_house.ts on small project trees written to a temp folder: a planted import circle
 * (through a type-only, multi-line import), a planted reference to notes outside the repository
 * and a long file without a reason are found; a clean tree passes; the CLI's exit code says so.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import { checkHouse, MAX_LINES } from "../../scripts/check_house.ts";
import { importsOf } from "../../scripts/house/imports.ts";
import { headingAnchors } from "../../scripts/house/pointers.ts";

const SCRIPT = path.resolve(import.meta.dirname!, "../../scripts/check_house.ts");

/** Written by pieces so this test file is not itself an outside reference. */
const NOTE = "station" + "-formats.md";
const SECTION = "\u00a7" + "2.1";
const BESIDE = ["..", "shared", "reference"].join("/");
/** A file of the temp trees, by pieces so the real tree's pointer check does not read it. */
const NOTES_MD = ["docs", "notes.md"].join("/");
const MORE_MD = ["docs", "more.md"].join("/");

/** Writes `files` (relative path → text) under a new temp folder and returns it. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "check_house_" });
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await Deno.writeTextFile(path.join(root, rel), text);
  }
  return root;
}

const CLEAN: Record<string, string> = {
  "src/a.ts": '/** A. */\nimport { b } from "./b.ts";\nexport const a = b + 1;\n',
  "src/b.ts": '/** B. */\nimport path from "#path";\nexport const b = path.sep.length;\n',
  [NOTES_MD]: "# Notes\n\n## The header\n\nSee [the header](#the-header).\n",
  "README.md": "# Project\n",
};

async function run(root: string, strict = false): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", SCRIPT, "--root", root, ...(strict ? ["--strict"] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text };
}

Deno.test("check_house: a clean tree has no errors and no warnings", async () => {
  const root = await tree(CLEAN);
  try {
    const r = await checkHouse(root, { strict: true, knownCycles: [] });
    assert.deepEqual(r, { errors: [], warnings: [] });
    const cli = await run(root, true);
    assert.equal(cli.code, 0, cli.out);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_house: a planted circle through a type-only import is an error naming each import", async () => {
  const root = await tree({
    ...CLEAN,
    // b → c (a multi-line type-only import), c → a: a → b → c → a.
    "src/b.ts": '/** B. */\nimport type {\n  C,\n} from "./sub/c.ts";\nexport const b = 1;\n' +
      "export type Bc = C;\n",
    "src/sub/c.ts": '/** C. */\nexport { a } from "../a.ts";\nexport type C = number;\n',
  });
  try {
    const r = await checkHouse(root, { knownCycles: [] });
    assert.equal(r.errors.length, 1, r.errors.join("\n"));
    const e = r.errors[0];
    assert.match(e, /^import circle: src\/a\.ts → src\/b\.ts → src\/sub\/c\.ts → src\/a\.ts\n/);
    assert.match(e, /src\/a\.ts:2 imports src\/b\.ts/);
    assert.match(e, /src\/b\.ts:2 imports \(types only\) src\/sub\/c\.ts/);
    assert.match(e, /src\/sub\/c\.ts:2 imports src\/a\.ts/);

    // Listed as known, the same circle is a warning; the CLI's list does not name it: exit 1.
    const known = await checkHouse(root, {
      knownCycles: [{ files: ["src/a.ts", "src/b.ts", "src/sub/c.ts"], why: "being moved" }],
    });
    assert.deepEqual(known.errors, []);
    assert.equal(known.warnings.length, 1);
    assert.match(known.warnings[0], /Known \(being moved/);
    const cli = await run(root);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /error: import circle: src\/a\.ts → src\/b\.ts → src\/sub\/c\.ts/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_house: planted references to notes outside the repository are errors with file and line", async () => {
  const root = await tree({
    ...CLEAN,
    "src/a.ts": `/**\n * A (${NOTE} ${SECTION}).\n */\nexport const a = 1;\n`,
    [NOTES_MD]: `# Notes\n\nThe limits are in ${BESIDE}/x.md.\n`,
    "tests/x_test.ts": `// per ${SECTION}\nDeno.test("x", () => {});\n`,
    // Fixture data may say anything; the fixture locator may name the samples' place.
    "tests/fixtures/raw.txt": `${NOTE}\n`,
    "tests/_fixtures.ts": `export const where = "${".." + "/shared/fixtures"}";\n`,
  });
  try {
    const r = await checkHouse(root, { knownCycles: [] });
    const where = r.errors.map((e) => e.split(" ")[0]).sort();
    assert.deepEqual(
      where,
      [`${NOTES_MD}:3`, "src/a.ts:2", "tests/x_test.ts:1"],
      r.errors.join("\n"),
    );
    assert.match(r.errors.find((e) => e.startsWith("src/a.ts"))!, /names a reference note/);
    assert.match(r.errors.find((e) => e.startsWith("tests/"))!, /bare section mark/);
    assert.match(r.errors.find((e) => e.startsWith("docs/"))!, /beside the repository/);
    const cli = await run(root);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /3 error\(s\)/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_house: a long file without a reason warns, fails under --strict, passes with one", async () => {
  const body = "export const x = 1;\n".repeat(MAX_LINES);
  const root = await tree({ ...CLEAN, "scripts/long.ts": `/** Long. */\n${body}` });
  try {
    const r = await checkHouse(root, { knownCycles: [] });
    assert.deepEqual(r.errors, []);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], new RegExp(`^scripts/long\\.ts: ${MAX_LINES + 1} lines`));
    const strict = await checkHouse(root, { strict: true, knownCycles: [] });
    assert.equal(strict.errors.length, 1);
    assert.equal((await run(root)).code, 0);
    assert.equal((await run(root, true)).code, 1);

    await Deno.writeTextFile(
      path.join(root, "scripts/long.ts"),
      `/**\n * Long.\n *\n * Long because: one table of ${MAX_LINES} rows.\n */\n${body}`,
    );
    assert.deepEqual(await checkHouse(root, { strict: true, knownCycles: [] }), {
      errors: [],
      warnings: [],
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_house: imports in comments and strings are not edges; every import form is", () => {
  const source = [
    "/** Example: import { x } from './commented.ts'; */",
    "// import './line-comment.ts';",
    "const s = `import { y } from './template.ts'`;",
    'import "./side-effect.ts";',
    "import d, { type T, e } from './mixed.ts';",
    "import { type A, type B } from './types.ts';",
    'export * from "./star.ts";',
    'export type { Q } from "./retyped.ts";',
    'import { z } from "zod";',
    'export const u = "./not-an-import.ts";',
  ].join("\n");
  assert.deepEqual(importsOf("src/m.ts", source), [
    { to: "src/side-effect.ts", line: 4, typeOnly: false },
    { to: "src/mixed.ts", line: 5, typeOnly: false },
    { to: "src/types.ts", line: 6, typeOnly: true },
    { to: "src/star.ts", line: 7, typeOnly: false },
    { to: "src/retyped.ts", line: 8, typeOnly: true },
  ]);
});

Deno.test("check_house: a pointer into docs/ to a missing file or heading is an error", async () => {
  const root = await tree({
    ...CLEAN,
    "src/a.ts": `/** See ${NOTES_MD}#the-header and ${NOTES_MD}#gone. */\nexport const a = 1;\n`,
    "src/b.ts": `/** See ${["docs", "missing.md"].join("/")}. */\nexport const b = 1;\n`,
    [MORE_MD]: "# More\n\n[ok](notes.md#the-header), [bad](notes.md#nope), [self](#more)\n" +
      "```md\n# Not a heading\n```\n[fenced](#not-a-heading)\n",
  });
  try {
    const r = await checkHouse(root, { knownCycles: [] });
    assert.deepEqual(
      r.errors.map((e) => e.split(" ")[0] + " " + e.split(" but ")[1]).sort(),
      [
        `${MORE_MD}:3 ${NOTES_MD} has no heading #nope`,
        `${MORE_MD}:7 ${MORE_MD} has no heading #not-a-heading`,
        `src/a.ts:1 ${NOTES_MD} has no heading #gone`,
        `src/b.ts:1 ${["docs", "missing.md"].join("/")} does not exist`,
      ].sort(),
      r.errors.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_house: heading anchors are GitHub's", () => {
  assert.deepEqual(
    [...headingAnchors("# A `b` — C/D (e)\n## Step status\n## Step status\n```\n# x\n```\n")],
    ["a-b--cd-e", "step-status", "step-status-1"],
  );
});

Deno.test("check_house: the README's map must name every folder of src/ and no other", async () => {
  const readme = (folders: string[]) =>
    "# Project\n\n### How it works\n\n```\nsrc/\n" +
    folders.map((f) => `  ${f}/   what is in it\n`).join("") +
    "tests/   the tests\n  nested/  not a folder of src/\n```\n";
  const root = await tree({
    ...CLEAN,
    "src/watch/w.ts": "/** W. */\nexport const w = 1;\n",
    "src/queue/q.ts": "/** Q. */\nexport const q = 1;\n",
    "README.md": readme(["watch", "queue"]),
  });
  try {
    assert.deepEqual(await checkHouse(root, { strict: true, knownCycles: [] }), {
      errors: [],
      warnings: [],
    });
    await Deno.writeTextFile(path.join(root, "README.md"), readme(["watch", "upload"]));
    const r = await checkHouse(root, { strict: true, knownCycles: [] });
    assert.equal(r.errors.length, 2, r.errors.join("\n"));
    assert.match(r.errors[0], /the map does not name src\/queue\//);
    assert.match(r.errors[1], /the map names src\/upload\/, which is not there/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
