/**
 * The test server stays a second reading of the format: nothing in wats_test_server/ imports
 * the agent's code (src/) or anything else outside its folder, so the agent's understanding of
 * WSJF can't leak into the server that checks it.
 */
import assert from "#assert";
import path from "#path";

const dir = path.resolve(import.meta.dirname!, "../../wats_test_server");

Deno.test("wats_test_server imports nothing from outside its folder", () => {
  const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".ts"));
  assert.ok(files.some((e) => e.name === "mod.ts"), `${dir} holds the server (mod.ts)`);
  const outside: string[] = [];
  for (const e of files) {
    const text = Deno.readTextFileSync(path.join(dir, e.name));
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      const spec = m[1];
      if (spec.startsWith(".") ? spec.startsWith("../") : !/^(#|node:|npm:)/.test(spec)) {
        outside.push(`${e.name}: ${spec}`);
      }
    }
  }
  assert.deepEqual(outside, [], "imports from outside wats_test_server/");
});
