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
import { ConversionError } from "./contract.ts";
import { resolveEncoding } from "./text.ts";
import { isValidTimeZone } from "./time.ts";

/** The shared parameters (all optional; defaults noted). */
export const commonParamsShape = {
  /** Part number when the file has none. */
  partNumber: z.string().trim().min(1).optional(),
  /** Part revision when the file has none (the builder's last resort is "1.0"). */
  partRevision: z.string().trim().min(1).optional(),
  /** Process (operation type) code when the file has none (the builder's default is 10). */
  processCode: z.coerce.number().int().min(0).max(2147483647).optional(),
  /** Process name → code, for files that name the process instead of giving its code. */
  processCodes: z.record(z.string(), z.number().int().min(0)).optional(),
  /** Root sequence name when the file has none. */
  sequenceName: z.string().min(1).optional(),
  /** Root sequence version when the file has none. */
  sequenceVersion: z.string().min(1).optional(),
  /** Operator when the file has none (else the station's operator). */
  operator: z.string().min(1).optional(),
  /** Overrides the file's station name (machineName). */
  stationName: z.string().trim().min(1).optional(),
  /** Location when the file has none (else the station's). */
  location: z.string().optional(),
  /** Purpose when the file has none (else the station's). */
  purpose: z.string().optional(),
  /** Text encoding: "auto" (BOM, then UTF-8, else Windows-1252), a label, or a code page. */
  encoding: z.string().default("auto").refine((s) => {
    if (s.trim().toLowerCase() === "auto") return true;
    try {
      resolveEncoding(s);
      return true;
    } catch {
      return false;
    }
  }, { message: 'a text encoding such as "auto", "utf-8", "windows-1252" or "1252"' }),
  /**
   * "import" (default): keep the file's verdicts, compute only where the file has none.
   * "active": recompute measurement and step statuses from values and limits.
   */
  testMode: z.string().transform((s) => s.trim().toLowerCase()).pipe(z.enum(["import", "active"]))
    .default("import"),
  /** IANA time zone for naive timestamps, when it differs from the station's. */
  timeZone: z.string().refine(isValidTimeZone, {
    message: 'an IANA time zone such as "Europe/Oslo" or "UTC"',
  }).optional(),
  /** Decimal separator of numbers in the file. */
  decimalSeparator: z.enum([".", ","]).default("."),
};

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
