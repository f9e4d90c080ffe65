/**
 * The body of an upload, taken from a claimed queue entry: the bytes when the entry is small or
 * still in the queue's memory; otherwise the file region, streamed, after its checksum was
 * checked by streaming too, so a large report is never copied into memory.
 *
 * @module
 */
import { createHash } from "#crypto";
import type { Claimed, Queue } from "../queue/queue.ts";
import { type Body, STREAM_THRESHOLD } from "./client.ts";

/** The body to send for `c`, or null when the entry was corrupt (the queue quarantined it). */
export async function uploadBody(queue: Queue, c: Claimed): Promise<Body | null> {
  if (c.body || c.envelope.bodyBytes < STREAM_THRESHOLD) return await queue.readBody(c);
  const f = await Deno.open(c.file, { read: true });
  const hash = createHash("sha256");
  try {
    await f.seek(c.bodyOffset, Deno.SeekMode.Start);
    for await (const chunk of f.readable) hash.update(chunk); // closes f at the end
  } catch (e) {
    try {
      f.close();
    } catch { /* the stream closed it already */ }
    throw e;
  }
  // A mismatch: readBody finds it too, and quarantines the entry.
  if (hash.digest("hex") !== c.envelope.bodySha256) return await queue.readBody(c);
  return { file: c.file, offset: c.bodyOffset, length: c.envelope.bodyBytes };
}
