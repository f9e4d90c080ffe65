/**
 * Attribute readers of the WATS XML converter (both dialects): XML attribute text → number,
 * integer, boolean or non-empty string, and objects without their undefined fields (the
 * WSJF-shaped objects are built before normalisation, so absent attributes are left out).
 *
 * @module
 */
import { parseNumber } from "../../number.ts";

/** A WSJF-shaped object before normalisation. */
export type Obj = Record<string, unknown>;

/** A number, or undefined. */
export function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return parseNumber(v);
}

/** An integer, or undefined (also for a fraction). */
export function int(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v.trim());
  return Number.isInteger(n) ? n : undefined;
}

/** true/1, false/0, else undefined. */
export function bool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  return undefined;
}

/** The text, undefined when empty. */
export function str(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

/** `o` without its undefined fields (in place). */
export function compact<T extends Obj>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
