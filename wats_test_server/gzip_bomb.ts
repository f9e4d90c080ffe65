/**
 * A gzip body of zeros for the `gzipBomb` fault: about 1 KB per MiB it inflates to. Made once per
 * size and kept, since making a 1 GiB one costs a few seconds of CPU.
 *
 * @module
 */

const made = new Map<number, Promise<Uint8Array>>();

/** A gzip stream that inflates to `inflatedBytes` zero bytes. */
export function gzipOfZeros(inflatedBytes: number): Promise<Uint8Array> {
  let bomb = made.get(inflatedBytes);
  if (bomb === undefined) {
    bomb = compress(inflatedBytes);
    made.set(inflatedBytes, bomb);
  }
  return bomb;
}

async function compress(inflatedBytes: number): Promise<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  const gzip = new CompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  const collected = new Response(gzip.readable).arrayBuffer();
  for (let left = inflatedBytes; left > 0; left -= chunk.length) {
    await writer.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
  await writer.close();
  return new Uint8Array(await collected);
}
