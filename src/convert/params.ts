/**
 * The converter parameter vocabulary every converter shares (docs/converters.md, "Shared parameters"), as a
 * zod shape converters extend, and {@link parseParams}, which turns `converters[].params`
 * from the config into typed values or a {@link ConversionError} that names the parameter.
 *
 * A parameter fills a value **only when the file has none**, except `stationName`, which
 * overrides the file (testers write "Test Station", "<No Station>" or a PC name).
 *
 * Extending, in a converter module:
 * ```ts
 * const paramsSchema = converterParams({ dateOrder: z.enum(["dmy", "mdy", "ymd"]).default("dmy") });
 * const params = parseParams(input.params, paramsSchema, "takaya");
 * ```
 *
 * Virinco's names are accepted as aliases: `operationTypeCode` → `processCode`,
 * `testModeType` → `testMode`, `fileEncoding` → `encoding`, `partRev` → `partRevision`.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "./conversion_error.ts";
import { resolveEncoding } from "./text.ts";
import { isValidTimeZone } from "./time.ts";
import { parseStepStatus } from "../wsjf/status_codes.ts";

/** The shared parameters (all optional), each with its description for docs/converters.md. */
export const commonParamsShape = {
  partNumber: z.string().trim().min(1).optional().describe("Part number when the file has none."),
  partRevision: z.string().trim().min(1).optional().describe(
    'Part revision when the file has none (else `"1.0"`).',
  ),
  processCode: z.coerce.number().int().min(0).max(2147483647).optional().describe(
    "Process (operation type) code when the file has none (else 10). Alias `operationTypeCode`.",
  ),
  processCodes: z.record(z.string(), z.number().int().min(0)).optional().describe(
    'Process name → code, for files that name the process instead of giving its code (e.g. `{"SW ' +
      'Debug": 10}`).',
  ),
  sequenceName: z.string().min(1).optional().describe("Root sequence name when the file has none."),
  sequenceVersion: z.string().min(1).optional().describe(
    "Root sequence version when the file has none.",
  ),
  operator: z.string().min(1).optional().describe(
    "Operator when the file has none (else `station.operator`).",
  ),
  stationName: z.string().trim().min(1).optional().describe(
    'Overrides the file\'s station name (`machineName`): testers write "Test Station", "<No ' +
      'Station>" or a PC name.',
  ),
  location: z.string().optional().describe(
    "Location when the file has none (else `station.location`).",
  ),
  purpose: z.string().optional().describe(
    "Purpose when the file has none (else `station.purpose`).",
  ),
  encoding: z.string().default("auto").refine((s) => {
    if (s.trim().toLowerCase() === "auto") return true;
    try {
      resolveEncoding(s);
      return true;
    } catch {
      return false;
    }
  }, { message: 'a text encoding such as "auto", "utf-8", "windows-1252" or "1252"' }).describe(
    '`"auto"`: BOM, then the file\'s declaration, then UTF-8 if valid, else Windows-1252; or a ' +
      'label or code page such as `"utf-8"` or `1252`. Alias `fileEncoding`.',
  ),
  testMode: z.string().transform((s) => s.trim().toLowerCase()).pipe(z.enum(["import", "active"]))
    .default("import").describe(
      '`"import"`: keep the tester\'s verdicts and compute a status only where the file has ' +
        'none, noting disagreements in a `Status note` misc info; `"active"`: compute step ' +
        "statuses from values and limits and let failures ripple up.",
    ),
  timeZone: z.string().refine(isValidTimeZone, {
    message: 'an IANA time zone such as "Europe/Oslo" or "UTC"',
  }).optional().meta({
    description: "IANA time zone for naive timestamps in the file.",
    defaultText: "`station.timeZone`",
  }),
  decimalSeparator: z.enum([".", ","]).default(".").describe(
    "Decimal separator of numbers in the file.",
  ),
};

/** One step status as a parameter value: a letter or word (`"F"`, `"Failed"`) → P F D S E T U. */
export const stepStatusParam = z.string().transform((s, ctx) => {
  const st = parseStepStatus(s);
  if (st === undefined) {
    ctx.addIssue({ code: "custom", message: "a status: P, F, D, S, E, T or U" });
    return z.NEVER;
  }
  return st;
});

/** A `statusWords` parameter: extra verdict words a tester writes → P F D S E T U. */
export const statusWordsParam = z.record(z.string(), stepStatusParam).default({});

/**
 * The shared `processCode` with a converter's own default (30 for ICT, 210 for boundary scan):
 * for formats whose files never say the process.
 */
export function processCodeParam(code: number, description = "Process code.") {
  return z.coerce.number().int().min(0).max(2147483647).default(code).describe(description);
}

/** Parsed shared parameters. */
export type CommonParams = z.output<z.ZodObject<typeof commonParamsShape>>;

const ALIASES: Readonly<Record<string, string>> = {
  operationTypeCode: "processCode",
  operationCode: "processCode",
  testModeType: "testMode",
  fileEncoding: "encoding",
  partRev: "partRevision",
  revision: "partRevision",
};

/**
 * The parameter schema of a converter: the shared shape plus its own fields (which may
 * override shared ones, e.g. to change a default). Unknown parameter names are errors, so a
 * typo in the config is reported instead of silently ignored.
 */
export function converterParams<S extends z.ZodRawShape = Record<never, never>>(
  extra?: S,
): z.ZodObject<typeof commonParamsShape & S> {
  return z.strictObject({ ...commonParamsShape, ...(extra ?? {}) }) as unknown as z.ZodObject<
    typeof commonParamsShape & S
  >;
}

/** The schema of the shared parameters alone. */
export const commonParamsSchema = converterParams();

/**
 * Validates a converter's `params` from the config. Virinco aliases are renamed first.
 * Throws a {@link ConversionError} naming each bad parameter, what was expected and what was
 * found; the hint points at `converters[].params` in the config.
 */
export function parseParams<T extends z.ZodType>(
  raw: Readonly<Record<string, unknown>> | undefined,
  schema: T,
  format = "converter",
): z.output<T> {
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    const name = ALIASES[k] ?? k;
    // Code pages come as numbers from JSON configs.
    input[name] = name === "encoding" && typeof v === "number" ? String(v) : v;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  const problems = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => {
        const near = known.find((n) => n.toLowerCase() === k.toLowerCase());
        return `unknown parameter "${k}"${near ? ` (did you mean "${near}"?)` : ""}`;
      }).join("; ");
    }
    const name = issue.path.map(String).join(".");
    const found = issue.path.reduce<unknown>(
      (v, p) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined),
      input,
    );
    const expected = issue.code === "invalid_value"
      ? `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`
      : issue.code === "custom"
      ? issue.message
      : issue.message.replace(/^Invalid input: /, "");
    return `parameter "${name}": expected ${expected}, found ${JSON.stringify(found) ?? "nothing"}`;
  });
  throw new ConversionError(
    `${format} converter parameters are invalid: ${problems.join("; ")}`,
    `Fix converters[].params for the "${format}" converter in the config` +
      (known.length > 0 ? ` (known parameters: ${known.join(", ")}).` : "."),
  );
}
