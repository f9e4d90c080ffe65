/**
 * One queue entry on disk: a single file holding an envelope line (who, where from, integrity)
 * followed by the report body exactly as it will be uploaded.
 *
 * ```
 * {"v":1,"id":"…","correlationId":"…",…,"bodyBytes":1234,"bodySha256":"…"}\n
 * {"type":"T","id":"…",…}
 * ```
 *
 * The body is sent from the file as is, so a large report is never held twice in memory.
 *
 * @module
 */
import { createHash } from "#crypto";

/** Everything the queue knows about a report besides its body. */
export interface Envelope {
  v: 1;
  /** The report id (WSJF `id`). */
  id: string;
  /** Given when the source file was first seen; in every log line about this report. */
  correlationId: string;
  /** The source file's path when it was taken. */
  source: string;
  /** The converter (config entry name) that made it. */
  converter: string;
  /** SHA-256 of the source file. */
  sourceSha256: string;
  /** Index of this report among those made from the source file, and their number. */
  unit: number;
  units: number;
  /** When the source file was first seen, and when this report was queued (ISO). */
  firstSeen: string;
  queuedAt: string;
  /** Serial number, part number and result, for status and logs. */
  sn: string;
  pn: string;
  result: string;
  bodyBytes: number;
  bodySha256: string;
}

/** What a producer supplies; the queue adds the integrity fields. */
export type NewEntry = Omit<Envelope, "v" | "bodyBytes" | "bodySha256" | "queuedAt"> & {
  body: Uint8Array;
};

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/** An entry's envelope: the producer's fields plus the queue time and the body's integrity. */
export function makeEnvelope(entry: NewEntry, queuedAt: Date): Envelope {
  const { body, ...rest } = entry;
  return {
    v: 1,
    ...rest,
    queuedAt: queuedAt.toISOString(),
    bodyBytes: body.length,
    bodySha256: sha256Hex(body),
  };
}

/** The bytes of an entry file: the envelope line, then the body. */
export function encodeEntry(envelope: Envelope, body: Uint8Array): Uint8Array[] {
  return [envelopeLine(envelope), body];
}

/** The envelope line of an entry file (with its newline); the body starts after it. */
export function envelopeLine(envelope: Envelope): Uint8Array {
  return encoder.encode(JSON.stringify(envelope) + "\n");
}

/** An entry file that can't be trusted; the queue quarantines it with this reason. */
export class CorruptEntryError extends Error {
  /** @param message what is wrong with it */
  constructor(message: string) {
    super(message);
    this.name = "CorruptEntryError";
  }
}

/** Splits and checks an entry file's bytes. Throws {@link CorruptEntryError}. */
export function decodeEntry(bytes: Uint8Array): { envelope: Envelope; body: Uint8Array } {
  const nl = bytes.indexOf(NEWLINE);
  if (nl < 0) {
    throw new CorruptEntryError("no envelope line (the file is truncated or not an entry)");
  }
  const envelope = parseEnvelope(bytes.subarray(0, nl));
  const body = bytes.subarray(nl + 1);
  if (body.length !== envelope.bodyBytes) {
    throw new CorruptEntryError(
      `body is ${body.length} bytes, the envelope says ${envelope.bodyBytes} (truncated or edited)`,
    );
  }
  if (sha256Hex(body) !== envelope.bodySha256) {
    throw new CorruptEntryError("body checksum does not match the envelope (the file was changed)");
  }
  return { envelope, body };
}

/** Parses and checks an envelope line. Throws {@link CorruptEntryError}. */
export function parseEnvelope(line: Uint8Array): Envelope {
  let env: Partial<Envelope>;
  try {
    env = JSON.parse(new TextDecoder().decode(line));
  } catch (e) {
    throw new CorruptEntryError(`envelope is not JSON: ${(e as Error).message}`);
  }
  if (
    env?.v !== 1 || typeof env.id !== "string" || typeof env.bodyBytes !== "number" ||
    typeof env.bodySha256 !== "string"
  ) {
    throw new CorruptEntryError("envelope lacks v/id/bodyBytes/bodySha256");
  }
  return env as Envelope;
}

/** Lower-case hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Reads just the envelope line of an entry file. */
export async function readEnvelope(
  file: string,
): Promise<{ envelope: Envelope; bodyOffset: number; whole: Uint8Array | null }> {
  const f = await Deno.open(file, { read: true });
  try {
    // Most entries are a few KiB: one 64 KiB read usually gets the whole file, so the body
    // needn't be read again. Larger ones are read until the envelope line ends.
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    let eof = false;
    while (true) {
      const n = await f.read(chunk);
      if (n === null) {
        eof = true;
      } else {
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
      }
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) {
        if (!eof && buf.length < chunk.length) eof = (await f.read(chunk)) === null;
        return {
          envelope: parseEnvelope(buf.subarray(0, nl)),
          bodyOffset: nl + 1,
          whole: eof ? buf : null,
        };
      }
      if (eof) throw new CorruptEntryError("no envelope line (the file is truncated)");
      if (buf.length > 1 << 20) throw new CorruptEntryError("envelope line longer than 1 MiB");
    }
  } finally {
    f.close();
  }
}
