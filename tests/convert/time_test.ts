import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import {
  assertTimeZone,
  formatInZone,
  isoToEpoch,
  isoToEpochMs,
  offsetMinutesAt,
  parseDatePattern,
  parseIsoDateTime,
  parseLooseDateTime,
  zonedToIso,
} from "../../src/convert/time.ts";

const n = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0) => ({
  year,
  month,
  day,
  hour,
  minute,
  second,
});

Deno.test("zonedToIso: ordinary winter and summer times carry the right offset", () => {
  assert.equal(zonedToIso(n(2024, 1, 15, 12, 0, 0), "Europe/Oslo"), "2024-01-15T12:00:00+01:00");
  assert.equal(zonedToIso(n(2024, 7, 15, 12, 0, 0), "Europe/Oslo"), "2024-07-15T12:00:00+02:00");
  assert.equal(zonedToIso(n(2024, 7, 15, 12), "America/Chicago"), "2024-07-15T12:00:00-05:00");
  assert.equal(zonedToIso(n(2024, 7, 15, 12), "Asia/Kolkata"), "2024-07-15T12:00:00+05:30");
  assert.equal(zonedToIso(n(2024, 7, 15, 12), "UTC"), "2024-07-15T12:00:00+00:00");
  assert.equal(
    zonedToIso({ ...n(2024, 7, 15, 12), fraction: "4707353" }, "UTC"),
    "2024-07-15T12:00:00.4707353+00:00",
  );
});

Deno.test("zonedToIso: a DST gap moves forward by the gap, deterministically", () => {
  // Europe/Oslo 2024-03-31: 02:00 → 03:00; 02:30 does not exist.
  assert.equal(zonedToIso(n(2024, 3, 31, 2, 30), "Europe/Oslo"), "2024-03-31T03:30:00+02:00");
  assert.equal(zonedToIso(n(2024, 3, 31, 1, 59, 59), "Europe/Oslo"), "2024-03-31T01:59:59+01:00");
  assert.equal(zonedToIso(n(2024, 3, 31, 3, 0), "Europe/Oslo"), "2024-03-31T03:00:00+02:00");
  // America/New_York 2024-03-10: 02:00 → 03:00.
  assert.equal(zonedToIso(n(2024, 3, 10, 2, 15), "America/New_York"), "2024-03-10T03:15:00-04:00");
});

Deno.test("zonedToIso: a DST overlap takes the earlier instant", () => {
  // Europe/Oslo 2024-10-27: 03:00 → 02:00; 02:30 happens twice.
  const iso = zonedToIso(n(2024, 10, 27, 2, 30), "Europe/Oslo");
  assert.equal(iso, "2024-10-27T02:30:00+02:00");
  assert.equal(isoToEpoch(iso), Date.UTC(2024, 9, 27, 0, 30));
  assert.equal(zonedToIso(n(2024, 11, 3, 1, 30), "America/New_York"), "2024-11-03T01:30:00-04:00");
});

Deno.test("formatInZone renders instants (UTC sources) as station-local with offset", () => {
  assert.equal(
    formatInZone(Date.UTC(2019, 5, 20, 11, 55, 57), "Europe/Oslo"),
    "2019-06-20T13:55:57+02:00",
  );
  assert.equal(
    formatInZone(new Date(Date.UTC(2019, 0, 1, 0, 0, 0, 5)), "UTC"),
    "2019-01-01T00:00:00.005+00:00",
  );
});

Deno.test("parseIsoDateTime: offsets kept, Z re-zoned, naive = station zone, junk = null", () => {
  const tz = "Europe/Oslo";
  assert.equal(
    parseIsoDateTime("2026-01-30T22:01:41.4707353+01:00", tz),
    "2026-01-30T22:01:41.4707353+01:00",
  );
  assert.equal(parseIsoDateTime("2026-01-30T22:01:41-0500", tz), "2026-01-30T22:01:41-05:00");
  assert.equal(
    parseIsoDateTime("2019-06-20T11:55:57.4460362Z", tz),
    "2019-06-20T13:55:57.4460362+02:00",
  );
  assert.equal(parseIsoDateTime("2019-05-15T14:31:11.452", tz), "2019-05-15T14:31:11.452+02:00");
  assert.equal(parseIsoDateTime("2019-05-15 14:31", tz), "2019-05-15T14:31:00+02:00");
  assert.equal(parseIsoDateTime("2020-01-01T08:00:00.Z", tz), null);
  assert.equal(parseIsoDateTime("2024-02-30T00:00:00", tz), null);
  assert.equal(parseIsoDateTime("yesterday", tz), null);
});

Deno.test("parseLooseDateTime: date orders, two-digit years, month names, AM/PM", () => {
  assert.deepEqual(parseLooseDateTime("25/05/2025 12:26:55", "dmy"), {
    ...n(2025, 5, 25, 12, 26, 55),
    fraction: "",
  });
  assert.deepEqual(parseLooseDateTime("4/5/2023", "dmy"), { ...n(2023, 5, 4), fraction: "" });
  assert.deepEqual(parseLooseDateTime("4/5/2023", "mdy"), { ...n(2023, 4, 5), fraction: "" });
  assert.deepEqual(parseLooseDateTime("14/12/27 15:26:30", "ymd"), {
    ...n(2014, 12, 27, 15, 26, 30),
    fraction: "",
  });
  assert.deepEqual(parseLooseDateTime("31-JUL-12  14:17:35", "dmy"), {
    ...n(2012, 7, 31, 14, 17, 35),
    fraction: "",
  });
  assert.deepEqual(parseLooseDateTime("7/22/2020 10:22:14 PM", "mdy"), {
    ...n(2020, 7, 22, 22, 22, 14),
    fraction: "",
  });
  assert.deepEqual(parseLooseDateTime("12:00 AM", "mdy"), null);
  assert.deepEqual(parseLooseDateTime("2024.11.29. 15:29", "dmy"), {
    ...n(2024, 11, 29, 15, 29),
    fraction: "",
  });
  assert.deepEqual(parseLooseDateTime("02/09/2023 16:44:11.5", "mdy"), {
    ...n(2023, 2, 9, 16, 44, 11),
    fraction: "5",
  });
  assert.equal(parseLooseDateTime("31/02/2024", "dmy"), null);
  assert.equal(parseLooseDateTime("13/13/2024", "mdy"), null);
  assert.equal(parseLooseDateTime("garbage", "dmy"), null);
});

Deno.test("parseDatePattern: .NET-style patterns", () => {
  assert.deepEqual(parseDatePattern("250304114750", "yyMMddHHmmss"), n(2025, 3, 4, 11, 47, 50));
  assert.deepEqual(
    parseDatePattern("31-JUL-12  14:17:35", "dd-MMM-yy HH:mm:ss"),
    n(2012, 7, 31, 14, 17, 35),
  );
  assert.deepEqual(
    parseDatePattern("20250307 213252", "yyyyMMdd HHmmss"),
    n(2025, 3, 7, 21, 32, 52),
  );
  assert.deepEqual(
    parseDatePattern("3/7/2025 9:05:01 PM", "M/d/yyyy h:mm:ss tt"),
    n(2025, 3, 7, 21, 5, 1),
  );
  assert.deepEqual(parseDatePattern("16:44:27:988 2023-02-09", "HH:mm:ss:fff yyyy-MM-dd"), {
    ...n(2023, 2, 9, 16, 44, 27),
    fraction: "988",
  });
  assert.equal(parseDatePattern("250304", "yyMMddHHmmss"), null);
  assert.equal(parseDatePattern("251304114750", "yyMMddHHmmss"), null);
});

Deno.test("unknown time zones are ConversionErrors that name the setting", () => {
  assert.throws(
    () => assertTimeZone("Mars/Olympus", "station time zone"),
    (e: Error) => e instanceof ConversionError && /Mars\/Olympus/.test(e.message),
  );
  assert.throws(() => zonedToIso(n(2024, 1, 1), "Nowhere/Null"), ConversionError);
});

Deno.test("isoToEpoch needs an offset", () => {
  assert.equal(isoToEpoch("1970-01-01T01:00:00+01:00"), 0);
  assert.ok(Number.isNaN(isoToEpoch("1970-01-01T01:00:00")));
});

Deno.test("isoToEpochMs keeps the fraction of a second; isoToEpoch drops it", () => {
  assert.equal(isoToEpochMs("1970-01-01T01:00:00.25+01:00"), 250);
  assert.equal(isoToEpochMs("1970-01-01T00:00:01,4707353Z"), 1471);
  assert.equal(isoToEpochMs("1970-01-01 00:00:01.9996Z"), 2000);
  assert.equal(isoToEpochMs("2024-03-31T03:30:00-02:30"), Date.UTC(2024, 2, 31, 6, 0));
  assert.equal(isoToEpoch("1970-01-01T01:00:00.25+01:00"), 0);
  assert.ok(Number.isNaN(isoToEpochMs("1970-01-01T01:00:00.25")));
  assert.ok(Number.isNaN(isoToEpochMs("2024-02-30T00:00:00Z")));
});

// Two `\s*` that can share a run of spaces (`\s*([AaPp][Mm])?)?\s*$`) make a date followed by
// 50k spaces and a letter take 15 s. The parser must stay linear; with such a pattern this hangs.
Deno.test("parseLooseDateTime: long runs of spaces or digits fail in linear time", () => {
  const spaces = " ".repeat(200_000);
  assert.equal(parseLooseDateTime(`2024-01-02 10:00${spaces}x`, "dmy"), null);
  assert.equal(parseLooseDateTime(`1/2/2024 10:00:00${spaces}PMx`, "mdy"), null);
  assert.equal(parseLooseDateTime(`${spaces}1/2/2024${spaces}x`, "mdy"), null);
  assert.equal(parseLooseDateTime(`1/2/2024 10:00:00.${"1".repeat(200_000)}x`, "mdy"), null);
  assert.deepEqual(parseLooseDateTime(`1/2/2024 10:00:00${spaces}PM${spaces}`, "mdy"), {
    ...n(2024, 1, 2, 22, 0, 0),
    fraction: "",
  });
  assert.equal(parseIsoDateTime(`2024-01-02T10:00:00${spaces}x`, "UTC"), null);
  assert.equal(parseDatePattern(`31-JUL-12${spaces}x`, "dd-MMM-yy HH:mm:ss"), null);
});

/** The offset straight from Intl, uncached (what offsetMinutesAt computed before its cache). */
const intlFormats = new Map<string, Intl.DateTimeFormat>();
function intlOffset(epochMs: number, timeZone: string): number {
  const f = intlFormats.get(timeZone) ?? new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  intlFormats.set(timeZone, f);
  const parts = f.formatToParts(new Date(epochMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60000);
}

Deno.test("offsetMinutesAt: the per-hour cache is exact around offset changes", () => {
  const cases: Array<[string, string]> = [
    ["Europe/Oslo", "2024-03-31T01:00:00Z"], // +1 → +2 on the hour
    ["Europe/Oslo", "2024-10-27T01:00:00Z"],
    ["Australia/Lord_Howe", "2024-10-05T15:30:00Z"], // a 30-minute change at half past
    ["Asia/Kathmandu", "1985-12-31T18:30:00Z"], // +5:30 → +5:45 at half past
    ["Africa/Monrovia", "1972-01-07T00:44:30Z"], // -0:44:30 → 0 at 44 min 30 s
  ];
  for (const [zone, change] of cases) {
    const at = Date.parse(change);
    const seen = new Set<number>();
    // Twice over the same span: the second pass answers from the cache.
    for (let pass = 0; pass < 2; pass++) {
      for (let t = at - 3 * 3_600_000; t <= at + 3 * 3_600_000; t += 30_000) {
        const want = intlOffset(t, zone);
        seen.add(want);
        assert.equal(offsetMinutesAt(t, zone), want, `${zone} at ${new Date(t).toISOString()}`);
      }
    }
    assert.ok(seen.size >= 2, `${zone}: no offset change near ${change}`);
  }
});
