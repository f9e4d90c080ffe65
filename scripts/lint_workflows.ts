/**
 * Checks the GitHub Actions workflows (part of `deno task check`): actionlint (the wasm build in
 * tools/, run with node) for syntax, expressions, `needs`, runner labels and the rest, then that
 * every `deno task NAME` they run is a task of deno.json and every `scripts/….ts` they run
 * exists, since actionlint can't know either.
 *
 * Usage: deno run --allow-read --allow-run scripts/lint_workflows.ts [DIR]
 *   DIR: the project to check (default: this one); its .github/workflows/*.yml are linted.
 *
 * Exit 0 when clean, 1 with the problems, 2 when the linter is not installed.
 *
 * @module
 */
import path from "#path";

const projectRoot = path.resolve(import.meta.dirname!, "..");
const LINTER = path.join(
  projectRoot,
  "tools",
  "node_modules",
  "@tktco",
  "node-actionlint",
  "bin",
  "node-actionlint.js",
);

/** The workflow files of a project, sorted (absolute paths). */
export async function workflowFiles(root: string): Promise<string[]> {
  const dir = path.join(root, ".github", "workflows");
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
  return entries.filter((e) => e.isFile && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(dir, e.name)).sort();
}

/** `deno task` names and scripts/ files the workflows run that this project does not have. */
export async function missingReferences(root: string): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(path.join(root, "deno.json"))).tasks ?? {};
  const problems: string[] = [];
  for (const file of await workflowFiles(root)) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    const where = (i: number) => `${path.relative(root, file).replaceAll("\\", "/")}:${i + 1}`;
    lines.forEach((line, i) => {
      if (/^\s*#/.test(line)) return;
      for (const m of line.matchAll(/\bdeno task ([\w:.-]+)/g)) {
        if (!(m[1] in tasks)) problems.push(`${where(i)} runs \`deno task ${m[1]}\`: no such task`);
      }
      for (const m of line.matchAll(/(?<![\w/.-])(scripts\/[\w/.-]+\.ts)\b/g)) {
        try {
          Deno.statSync(path.join(root, m[1]));
        } catch {
          problems.push(`${where(i)} runs ${m[1]}, which does not exist`);
        }
      }
    });
  }
  return problems;
}

if (import.meta.main) {
  const root = path.resolve(Deno.args[0] ?? projectRoot);
  const files = await workflowFiles(root);
  if (files.length === 0) {
    console.error(
      `lint_workflows: no workflow files in ${path.join(root, ".github", "workflows")}`,
    );
    Deno.exit(1);
  }
  try {
    Deno.statSync(LINTER);
  } catch {
    console.error(
      `lint_workflows: the workflow linter is not installed (${LINTER} is missing): run ` +
        "`npm ci --prefix tools` (needs node and npm)",
    );
    Deno.exit(2);
  }
  // node-actionlint takes a glob relative to its working directory.
  const lint = await new Deno.Command("node", {
    args: [LINTER, ".github/workflows/*.{yml,yaml}"],
    cwd: root,
    stdin: "null",
  }).output().catch((e) => {
    console.error(`lint_workflows: could not run node (${e.message}): install Node.js 20 or later`);
    Deno.exit(2);
  });
  await Deno.stdout.write(lint.stdout);
  await Deno.stderr.write(lint.stderr);
  const problems = await missingReferences(root);
  for (const p of problems) console.error(p);
  if (lint.code !== 0 || problems.length > 0) {
    console.error(`lint_workflows: ${path.join(root, ".github", "workflows")} has problems`);
    Deno.exit(1);
  }
}
