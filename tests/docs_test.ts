/**
 * The reference in docs/ is generated from the schemas (`deno task docs`): the committed files
 * must be what the generator writes now, so a key or parameter added, renamed or redescribed
 * without regenerating fails here.
 */
import assert from "#assert";
import path from "#path";
import { converterRegions, generateDocs, undescribed } from "../scripts/docs.ts";

const root = path.resolve(import.meta.dirname!, "..");

Deno.test("docs: docs/config.md and the parameter lists in docs/converters.md are generated", async () => {
  for (const file of await generateDocs(root)) {
    const committed = await Deno.readTextFile(path.join(root, file.path));
    assert.equal(committed, file.text, `${file.path} is out of date: run \`deno task docs\``);
  }
});

Deno.test("docs: every config key and every converter parameter has a description", async () => {
  assert.deepEqual(await undescribed(), [], "add .describe(…) to these keys and parameters");
});

Deno.test("docs: a converter with parameters of its own but no list in docs/converters.md is an error", async () => {
  const real = await Deno.readTextFile(path.join(root, "docs/converters.md"));
  const withoutTakaya = real.replace(/<!-- params: takaya -->[\s\S]*?<!-- \/params -->/, "");
  await assert.rejects(
    () => converterRegions(withoutTakaya),
    /docs\/converters\.md has no parameter list for takaya: add/,
  );
  await assert.rejects(
    () => converterRegions(real + "\n<!-- params: no-such -->\n<!-- /params -->\n"),
    /"<!-- params: no-such -->" names no converter/,
  );
});
