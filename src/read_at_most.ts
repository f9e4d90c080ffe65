/**
 * Reading a stream someone else controls (a server's answer, a request to the control endpoint)
 * without letting it grow the agent's memory: at most `max` bytes, the rest cancelled.
 *
 * @module
 */

/** The first `max` bytes of `body`; `over` when there was more (the stream is then cancelled). */
export async function readAtMost(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ bytes: Uint8Array; over: boolean }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = max - size;
      if (value.length > room) {
        chunks.push(value.subarray(0, room));
        size += room;
        over = true;
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    if (over) await reader.cancel();
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return { bytes, over };
}
