/**
 * Deterministic report ids. WATS upserts on the report `id`, so the same input must always
 * give the same id: a re-conversion after a crash, or the same file dropped twice, then
 * overwrites instead of duplicating (docs/converters.md#reading-station-files).
 *
 * - Default seed: the file's SHA-256 plus the unit's index within the file
 *   ({@link unitReportId}).
 * - Append-mode logs (a file that grows by whole units) seed from the unit's own bytes
 *   ({@link bytesReportId}), so units already sent keep their ids when the file grows.
 * - A source id that the file carries (WSJF/WSXF `id`) is kept ({@link normalizeGuid}).
 *
 * The UUID is RFC 9562 version 8 (custom): the first 128 bits of SHA-256(seed) with the
 * version and variant bits set, lower-case.
 *
 * @module
 */
import { createHash } from "#crypto";

const GUID_RE =
  /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

function uuidFromDigest(digest: Uint8Array): string {
  const b = digest.slice(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80; // version 8
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** A UUID derived from SHA-256 of a seed string (UTF-8). Same seed → same id. */
export function deriveReportId(seed: string): string {
  return uuidFromDigest(createHash("sha256").update(seed, "utf8").digest());
}

/** The default report id: from the file's SHA-256 (hex) and the unit's index in the file. */
export function unitReportId(fileSha256: string, unitIndex = 0): string {
  return deriveReportId(`${fileSha256.toLowerCase()}:${unitIndex}`);
}

/**
 * A report id from the unit's own bytes (for append-mode logs). `salt` separates otherwise
 * identical units when needed, e.g. the source file name.
 */
export function bytesReportId(unitBytes: Uint8Array | string, salt = ""): string {
  const h = createHash("sha256");
  h.update(`unit:${salt}:`, "utf8");
  h.update(unitBytes);
  return uuidFromDigest(h.digest());
}

/** Lower-case hex SHA-256 of bytes or a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * A GUID as the file wrote it (any case, with or without braces/dashes) → the canonical
 * lower-case dashed form, or null when it is not a GUID.
 */
export function normalizeGuid(text: string): string | null {
  const m = GUID_RE.exec(text.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase() : null;
}

/** Whether `text` is a canonical dashed GUID (any case). */
export function isGuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}
