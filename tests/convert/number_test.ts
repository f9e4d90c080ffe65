import assert from "#assert";
import { isNumberText, parseInteger, parseNumber, parseScaled } from "../../src/convert/number.ts";

Deno.test("parseNumber: decimal styles, NaN/Inf literals, placeholders, garbage", () => {
  assert.equal(parseNumber("3.30"), 3.3);
  assert.equal(parseNumber(" +1.5E-3 "), 0.0015);
  assert.equal(parseNumber("3,30", ","), 3.3);
  assert.ok(Number.isNaN(parseNumber("3,30")!));
  assert.equal(parseNumber("0x1F"), 31);
  assert.equal(parseNumber("-0x10"), -16);
  assert.equal(parseNumber("Infinity"), Infinity);
  assert.equal(parseNumber("-INF"), -Infinity);
  assert.equal(parseNumber("1.#INF"), Infinity);
  for (const t of ["NaN", "-NAN", "nan(ind)", "1.#QNAN"]) {
    assert.ok(Number.isNaN(parseNumber(t)!), t);
  }
  for (const t of ["", "  ", "----------", "......", "***"]) {
    assert.equal(parseNumber(t), undefined, t);
  }
  assert.ok(Number.isNaN(parseNumber("12V")!));
  assert.equal(isNumberText("12V"), false);
  assert.equal(isNumberText("-NAN"), true);
  assert.equal(parseInteger("02"), 2);
  assert.equal(parseInteger(""), undefined);
  assert.ok(Number.isNaN(parseInteger("2.5")!));
});

Deno.test("parseScaled: SI exponents without binary rounding; blanks and garbage", () => {
  assert.equal(parseScaled("100.20007", 3), 100200.07);
  assert.equal(parseScaled("4.7", -9), 4.7e-9);
  assert.equal(parseScaled("1,5", 3, ","), 1500);
  assert.equal(parseScaled("2e3", -3), 2);
  assert.equal(parseScaled(" ---- ", 3), undefined);
  assert.ok(Number.isNaN(parseScaled("12V", 3)!));
  assert.equal(parseScaled("0x10", 0), 16); // exponent 0 falls back to parseNumber
});

// A number pattern like `\d+\.?\d*` splits a digit run in n ways, so a long run ending in a
// non-digit takes quadratic time (40k digits: 9 s; a 300 kB fuzz line: minutes, a hung worker).
// Each call below must return at once; with such a pattern this test does not finish.
Deno.test("number: long digit runs that end in garbage are rejected in linear time", () => {
  const run = "1".repeat(200_000);
  assert.ok(Number.isNaN(parseNumber(run + "x")!));
  assert.ok(Number.isNaN(parseNumber(run + ".5.x", ",")!));
  assert.ok(Number.isNaN(parseNumber(`${run}.${run}e`)!));
  assert.equal(isNumberText(run + "x"), false);
  assert.ok(Number.isNaN(parseScaled(run + "x", 3)!));
  assert.ok(Number.isNaN(parseInteger(run + "x")!));
  assert.equal(parseNumber(run), Number(run));
  assert.equal(parseNumber(`-.${run}`), -Number(`.${run}`));
  assert.equal(parseNumber(" ".repeat(200_000) + "-".repeat(200_000) + "x"), NaN);
});
