/**
 * Step start times of one TestStand report. The parsers of both formats (tsxml.ts,
 * atml_reader.ts) hand every step's time through a {@link StepClock}, which renders it with
 * the report's UTC offset without a time-zone lookup per step (large files have tens of
 * thousands of steps).
 *
 * @module
 */
import {
  formatInZone,
  isoToEpoch,
  isoToEpochMs,
  offsetMinutesAt,
  parseIsoDateTime,
} from "../../time.ts";
/** Epoch milliseconds of an ISO date-time with offset, fraction of a second included. */
export const instantMs: (iso: string) => number = isoToEpochMs;

const NAIVE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Renders step start times of one report. The UTC offset is looked up once for the start and
 * once for the end of the test; when they agree (no DST change during the test) every step
 * uses it directly, else each step is looked up.
 */
export class StepClock {
  readonly #timeZone: string;
  readonly #offset: string | undefined;
  readonly #offsetMinutes: number;

  /**
   * @param timeZone IANA zone of naive times
   * @param startMs the test's start instant
   * @param endMs the test's end instant (the start when unknown)
   */
  constructor(timeZone: string, startMs: number, endMs: number) {
    this.#timeZone = timeZone;
    const a = usable(startMs) ? offsetMinutesAt(startMs, timeZone) : NaN;
    const b = usable(endMs) ? offsetMinutesAt(endMs, timeZone) : a;
    this.#offsetMinutes = a;
    this.#offset = a === b && Number.isFinite(a) ? formatOffset(a) : undefined;
  }

  /** An instant → ISO with offset, or undefined when it is not a usable date. */
  instant(ms: number): string | undefined {
    const epochMs = Math.round(ms);
    if (!usable(epochMs)) return undefined;
    if (this.#offset === undefined) {
      const fraction = String(epochMs % 1000).padStart(3, "0");
      return formatInZone(epochMs, this.#timeZone, fraction);
    }
    const local = epochMs + this.#offsetMinutes * 60000;
    if (!usable(local)) return undefined;
    const wall = new Date(local).toISOString();
    return `${wall.slice(0, 23)}${this.#offset}`;
  }

  /** A naive local time (or one with its own offset) → ISO with offset, or undefined. */
  local(text: string | undefined): string | undefined {
    if (text === undefined) return undefined;
    const t = text.trim();
    if (this.#offset !== undefined && NAIVE_RE.test(t)) {
      const iso = `${t}${this.#offset}`;
      return Number.isNaN(isoToEpoch(iso)) ? undefined : iso;
    }
    return parseIsoDateTime(t, this.#timeZone) ?? undefined;
  }
}

/** 1970-01-01 … 9999-12-31 (what WSJF and toISOString handle). */
function usable(epochMs: number): boolean {
  return Number.isFinite(epochMs) && epochMs >= 0 && epochMs <= 253402300799000;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.trunc(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
}
