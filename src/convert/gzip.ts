/**
 * Bounded, streamed gzip inflation (`.stdf.gz` and any other gzip-compressed station file): the
 * compressed bytes are fed to a `node:zlib` gunzip stream in 64 KiB slices and inflated 64 KiB
 * at a time, so a large file is never whole in memory, and the inflater stops as soon as the
 * output passes its byte limit (a gzip bomb costs one step past the limit, not the bomb's
 * size). Concatenated members (`cat a.gz b.gz`, valid gzip) are inflated one after the other,
 * the limit counting all of them together; zero padding after the last member is ignored,
 * anything else there is damage. ZIP archives have their own reader (zip.ts), which knows each
 * entry's size up front.
 *
 * @module
 */
import zlib from "node:zlib";
import { once } from "node:events";

/** Input and output step of the inflater. */
const STEP = 64 * 1024;

/** Inflation past the limit, or gzip data that is damaged. */
export class GzipError extends Error {
  /** True when the limit was reached (the data may be fine, just larger). */
  readonly overLimit: boolean;

  /** @param message what happened; @param overLimit whether the byte limit was reached */
  constructor(message: string, overLimit: boolean) {
    super(message);
    this.name = "GzipError";
    this.overLimit = overLimit;
  }
}

/** True when `bytes` starts like gzip data (`1F 8B 08`). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8;
}

/**
 * Inflates gzip data (one or more members) chunk by chunk.
 * @throws GzipError when the output passes `limit` bytes or the data is damaged or cut off
 */
export async function* gunzipChunks(
  bytes: Uint8Array,
  limit: number,
): AsyncGenerator<Uint8Array> {
  const gz = zlib.createGunzip({ chunkSize: STEP });
  let stopped = false;
  const feed = async () => {
    for (let p = 0; p < bytes.length && !stopped; p += STEP) {
      if (!gz.write(bytes.subarray(p, p + STEP))) await once(gz, "drain");
    }
    gz.end();
  };
  // A write error also ends the readable side with that error, which the loop below throws.
  feed().catch(() => {});
  let total = 0;
  try {
    for await (const chunk of gz as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > limit) {
        throw new GzipError(`it inflates to more than ${limit} bytes (stopped there)`, true);
      }
      yield chunk;
    }
  } catch (e) {
    if (e instanceof GzipError) throw e;
    throw new GzipError(
      `the gzip data is damaged or cut off after ${total} inflated bytes: ${(e as Error).message}`,
      false,
    );
  } finally {
    stopped = true;
    gz.destroy();
  }
}

/** The first bytes gzip data inflates to (at most `max`), for format detection; never throws. */
export function gunzipHead(head: Uint8Array, max = 1024 * 1024): Uint8Array {
  try {
    return new Uint8Array(
      zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: max }),
    );
  } catch {
    return new Uint8Array(0);
  }
}
