import assert from "#assert";
import { compileGlob, compileGlobs, DEFAULT_IGNORES } from "../../src/watch/glob.ts";

Deno.test("glob: name patterns match in any subfolder, path patterns are anchored", () => {
  assert.ok(compileGlob("*.json", false)("a.json"));
  assert.ok(compileGlob("*.json", false)("sub/dir/a.json"));
  assert.ok(!compileGlob("*.json", false)("a.json.tmp"));
  assert.ok(compileGlob("line*/**/*.ATD", false)("line2/x/y/b.ATD"));
  assert.ok(compileGlob("line*/**/*.ATD", false)("line2/b.ATD"));
  assert.ok(!compileGlob("line*/*.ATD", false)("other/b.ATD"));
  assert.ok(compileGlob("*.{xml,XML}", false)("r.XML"));
  assert.ok(compileGlob("report_??.csv", false)("report_01.csv"));
  assert.ok(!compileGlob("report_??.csv", false)("report_1.csv"));
  assert.ok(compileGlob("[!x]*.log", false)("a.log"));
  assert.ok(!compileGlob("[!x]*.log", false)("x.log"));
  assert.ok(compileGlob("*.json", true)("A.JSON"), "case-insensitive mode");
  assert.ok(compileGlob("a+b(1).json", false)("a+b(1).json"), "regex characters are literal");
});

Deno.test("glob: default ignores catch temp, partial, Office lock and dot files", () => {
  const ignored = compileGlobs(DEFAULT_IGNORES);
  for (const f of ["x.tmp", "x.part", "~$report.xlsx", ".hidden", "sub/.DS_Store"]) {
    assert.ok(ignored(f), f);
  }
  for (const f of ["report.json", "a.tmp.json", "sub/r.xml"]) assert.ok(!ignored(f), f);
});
