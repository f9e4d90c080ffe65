/**
 * Reading a WATS server's answer without letting it grow the agent's memory: the agent asks for
 * an uncompressed answer and reads at most {@link MAX_ANSWER_BYTES} of it (it needs the report ID
 * and a message, no more). A compressed body (sent although not asked for: Deno would inflate it
 * as it streams in, so a 1 MB gzip body could become gigabytes) and a redirect's body are not read
 * at all; a larger plain body is cancelled at the limit. tests/hostile/response_bomb_test.ts.
 *
 * @module
 */
import { redactAndCut } from "../log/redact.ts";
import { readAtMost } from "../read_at_most.ts";

/** The most of an answer the agent reads. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** What was read of an answer. */
export interface Answer {
  /** The body as text (at most MAX_ANSWER_BYTES of it; empty when not read). */
  text: string;
  /** Why the body was not read, or not all of it; null when it was. */
  unread: string | null;
  /** Where a redirect points, or null when the answer is not one. */
  redirect: Redirect | null;
}

/** A 3xx answer. */
export interface Redirect {
  status: number;
  /** Where it points, for a message: `https://host (Location: …)`, redacted. */
  target: string;
}

/**
 * Reads an answer without letting it grow the agent's memory: a redirect or a compressed body
 * (the agent asked for none) is not read, and a plain body only up to MAX_ANSWER_BYTES; the rest
 * is cancelled.
 */
export async function readAnswer(res: Response, base: string): Promise<Answer> {
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    return { text: "", unread: null, redirect: { status: res.status, target: target(res, base) } };
  }
  const encoding = res.headers.get("content-encoding")?.trim();
  if (encoding && encoding.toLowerCase() !== "identity") {
    await res.body?.cancel();
    return {
      text: "",
      unread: `the answer was compressed (${redactAndCut(encoding, 40)}) although the agent ` +
        "asks for none (Accept-Encoding: identity), so it was not read",
      redirect: null,
    };
  }
  if (!res.body) return { text: "", unread: null, redirect: null };
  const { bytes: all, over } = await readAtMost(res.body, MAX_ANSWER_BYTES);
  const text = new TextDecoder().decode(all);
  return {
    text: over ? "" : text,
    unread: over
      ? `the answer was larger than ${MAX_ANSWER_BYTES} bytes, so it was not read (it begins ` +
        `${JSON.stringify(redactAndCut(text.trim(), 200))})`
      : null,
    redirect: null,
  };
}

/** Where a redirect points: the origin of its Location (resolved) and the Location as sent. */
function target(res: Response, base: string): string {
  const location = res.headers.get("location");
  if (location === null) return "a location it did not name (no Location header)";
  let origin = location;
  try {
    const u = new URL(location, res.url || base);
    origin = `${u.protocol}//${u.host}`;
  } catch { /* not a URL: shown as given */ }
  return `${redactAndCut(origin, 200)} (Location: ${redactAndCut(location, 300)})`;
}
